package resiliencegrpc

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/llm-research-lab/resilience"
)

// ledgerService is a service compiled at test start into the global proto
// registry, as protoc-generated code would register it: Get declares
// NO_SIDE_EFFECTS, Set IDEMPOTENT, Add nothing.
const ledgerService = "resiliencegrpc.test.Ledger"

func init() {
	method := func(name string, level descriptorpb.MethodOptions_IdempotencyLevel) *descriptorpb.MethodDescriptorProto {
		m := &descriptorpb.MethodDescriptorProto{Name: proto.String(name),
			InputType: proto.String(".google.protobuf.Empty"), OutputType: proto.String(".google.protobuf.Empty")}
		if level != descriptorpb.MethodOptions_IDEMPOTENCY_UNKNOWN {
			m.Options = &descriptorpb.MethodOptions{IdempotencyLevel: level.Enum()}
		}
		return m
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name: proto.String("resiliencegrpc/test/ledger.proto"), Package: proto.String("resiliencegrpc.test"),
		Syntax: proto.String("proto3"), Dependency: []string{"google/protobuf/empty.proto"},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Ledger"), Method: []*descriptorpb.MethodDescriptorProto{
			method("Get", descriptorpb.MethodOptions_NO_SIDE_EFFECTS),
			method("Set", descriptorpb.MethodOptions_IDEMPOTENT),
			method("Add", descriptorpb.MethodOptions_IDEMPOTENCY_UNKNOWN),
		}}},
	}
	f, err := protodesc.NewFile(fd, protoregistry.GlobalFiles)
	if err != nil {
		panic(err)
	}
	if err := protoregistry.GlobalFiles.RegisterFile(f); err != nil {
		panic(err)
	}
}

func TestProtoIdempotentReadsTheMethodOption(t *testing.T) {
	for method, want := range map[string]bool{
		"/" + ledgerService + "/Get":          true,
		"/" + ledgerService + "/Set":          true,
		"/" + ledgerService + "/Add":          false,
		"/" + ledgerService + "/Missing":      false,
		"/grpc.testing.TestService/EmptyCall": false,
		"/no.such.Service/Get":                false,
		"/resiliencegrpc.test/Get":            false, // a package, not a service
		"":                                    false,
		"/":                                   false,
		"//":                                  false,
		"/" + ledgerService + "/Get/extra":    false,
		"/" + ledgerService + "/":             false,
		"/" + ledgerService:                   false,
		"/grpc.health.v1.Health/Check":        false,
		"/" + ledgerService + "/Get\x00":      false,
		"/google.protobuf.Empty/Get":          false, // a message, not a service
	} {
		assert.Equal(t, want, ProtoIdempotent(method), method)
		assert.Equal(t, want, ProtoIdempotent(method), "cached: %s", method)
	}
}

// ledger serves the Ledger service, hand-registered: every method fails
// with Unavailable twice, then succeeds.
type ledger struct{ calls map[string]*atomic.Int32 }

func (l ledger) handler(name string) grpc.MethodDesc {
	return grpc.MethodDesc{MethodName: name, Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		if err := dec(&emptypb.Empty{}); err != nil {
			return nil, err
		}
		if l.calls[name].Add(1) <= 2 {
			return nil, status.Error(codes.Unavailable, "busy")
		}
		return &emptypb.Empty{}, nil
	}}
}

func TestTheDefaultRetriesOnlyWhatTheProtoDeclaresIdempotent(t *testing.T) {
	l := ledger{calls: map[string]*atomic.Int32{"Get": {}, "Set": {}, "Add": {}}}
	srv := grpc.NewServer()
	srv.RegisterService(&grpc.ServiceDesc{ServiceName: ledgerService, HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{l.handler("Get"), l.handler("Set"), l.handler("Add")}}, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); require.NoError(t, <-served) })
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Retry: quickRetry(t, 3, nil)}})
	require.NoError(t, err)
	cc := dial(t, ln.Addr().String(), c)

	for name, retried := range map[string]bool{"Get": true, "Set": true, "Add": false} {
		err := cc.Invoke(testCtx(t), "/"+ledgerService+"/"+name, &emptypb.Empty{}, &emptypb.Empty{})
		if retried {
			assert.NoError(t, err, name)
			assert.EqualValues(t, 3, l.calls[name].Load(), "%s is declared idempotent: retried", name)
		} else {
			assert.Equal(t, codes.Unavailable, status.Code(err), name)
			assert.EqualValues(t, 1, l.calls[name].Load(), "%s declares nothing: not retried", name)
		}
	}
}

func FuzzProtoIdempotent(f *testing.F) {
	for _, s := range []string{"", "/", "//", "/" + ledgerService + "/Get", "/a.b/c", "/a..b/c", "/.a/b", "/a/b/c", "\xff/\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, method string) {
		got := lookupIdempotent(method)
		if got {
			require.Contains(t, []string{"/" + ledgerService + "/Get", "/" + ledgerService + "/Set"}, method)
		}
	})
}
