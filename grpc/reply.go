package resiliencegrpc

import (
	"context"
	"reflect"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/llm-research-lab/resilience"
)

// unaryCall is one unary call, shared by its attempts. A retry policy runs
// them one at a time, each decoding into the caller's reply; a hedging
// policy (hedge.Policy) runs them side by side, and then an attempt that
// starts while another runs decodes into a reply of its own, copied into
// the caller's once every attempt has returned if it is the one that won.
type unaryCall struct {
	caller     context.Context
	method     string
	req, reply any
	cc         *grpc.ClientConn
	invoker    grpc.UnaryInvoker
	opts       []grpc.CallOption
	idempotent bool
	keyed      resilience.Pipeline // the pipeline with the key's breaker, if any

	running atomic.Int32 // attempts in flight
	won     atomic.Bool  // an attempt has succeeded
	answer  any          // the winner's reply, when it is not reply
}

// attempt makes one attempt; it is the function the pipeline runs.
func (u *unaryCall) attempt(ctx context.Context) error {
	into, own := u.reply, false
	if u.running.Add(1) > 1 {
		into, own = fresh(u.reply)
	}
	err := u.invoker(ctx, u.method, u.req, into, u.cc, u.opts...)
	if err == nil && u.won.CompareAndSwap(false, true) && own {
		u.answer = into
	}
	u.running.Add(-1)
	return classifyAttempt(u.caller, u.idempotent, err)
}

// fresh returns an empty reply of reply's type, and whether it could make
// one (a proto message, or a pointer to anything a codec decodes into).
func fresh(reply any) (any, bool) {
	if m, ok := reply.(proto.Message); ok {
		return m.ProtoReflect().New().Interface(), true
	}
	v := reflect.ValueOf(reply)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return reply, false
	}
	return reflect.New(v.Type().Elem()).Interface(), true
}

// copyReply copies src, made by fresh, into dst.
func copyReply(dst, src any) {
	if m, ok := dst.(proto.Message); ok {
		proto.Reset(m)
		proto.Merge(m, src.(proto.Message))
		return
	}
	reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(src).Elem())
}
