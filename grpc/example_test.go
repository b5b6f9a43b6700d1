package resiliencegrpc_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	resiliencegrpc "github.com/llm-research-lab/resilience/grpc"
	"github.com/llm-research-lab/resilience/retry"
)

// flaky answers its first two calls of each method with Unavailable.
type flaky struct {
	testpb.UnimplementedTestServiceServer
	empty, unary atomic.Int32
}

func (f *flaky) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	if f.empty.Add(1) <= 2 {
		return nil, status.Error(codes.Unavailable, "warming up")
	}
	return &testpb.Empty{}, nil
}

func (f *flaky) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if f.unary.Add(1) <= 2 {
		return nil, status.Error(codes.Unavailable, "warming up")
	}
	return &testpb.SimpleResponse{}, nil
}

// A server that sheds load beyond 100 concurrent calls, and a client that
// retries the method declared idempotent, with a breaker per target and
// method.
func Example() {
	ctx := context.Background()

	// Server side: shed what the bulkhead cannot admit.
	shed, _ := bulkhead.New(bulkhead.Config{MaxConcurrent: 100})
	defer shed.Stop(ctx)
	guard, _ := resiliencegrpc.NewServer(resiliencegrpc.ServerConfig{Gate: shed})
	srv := grpc.NewServer(grpc.UnaryInterceptor(guard.Unary), grpc.StreamInterceptor(guard.Stream))
	svc := &flaky{}
	testpb.RegisterTestServiceServer(srv, svc)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() { srv.Stop(); <-served }()

	// Client side: one pipeline, one breaker per target and method.
	breakers, _ := breaker.NewFamily[string](breaker.FamilyConfig{})
	defer breakers.Stop(ctx)
	retries, _ := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Millisecond})
	client, _ := resiliencegrpc.NewClient(resiliencegrpc.ClientConfig{
		Pipeline: resilience.Pipeline{Timeout: 5 * time.Second, Retry: retries, AttemptTimeout: time.Second},
		Breakers: breakers,
		// Usually the proto says so (option idempotency_level), and the
		// default, resiliencegrpc.ProtoIdempotent, reads it.
		Idempotent: func(method string) bool { return method == "/grpc.testing.TestService/EmptyCall" },
	})
	cc, _ := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(client.Unary), grpc.WithStreamInterceptor(client.Stream))
	defer cc.Close()
	test := testpb.NewTestServiceClient(cc)

	_, err := test.EmptyCall(ctx, &testpb.Empty{})
	fmt.Println("EmptyCall:", status.Code(err), "after", svc.empty.Load(), "attempts")
	_, err = test.UnaryCall(ctx, &testpb.SimpleRequest{})
	fmt.Println("UnaryCall:", status.Code(err), "after", svc.unary.Load(), "attempt (not idempotent)")
	// Output:
	// EmptyCall: OK after 3 attempts
	// UnaryCall: Unavailable after 1 attempt (not idempotent)
}
