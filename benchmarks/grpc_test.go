package benchmarks

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/failsafegrpc"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	resiliencegrpc "github.com/llm-research-lab/resilience/grpc"
	"github.com/llm-research-lab/resilience/retry"
)

// The gRPC client benchmarks make one unary call per operation through
// each library's client interceptor, configured alike: a breaker (5
// consecutive failures; one per target and method for this module, one
// for all calls in failsafegrpc, which has no keyed breakers), and up to 3
// attempts with no wait, retrying Unavailable. Run them with:
//
//	go test -run XXX -bench 'BenchmarkGRPCClient' -count 6 .
//
// Cases:
//   - success, unavailable2: a real gRPC server over an in-process
//     bufconn listener; unavailable2 answers Unavailable twice and then
//     OK, so each operation is three round trips. The transport's cost is
//     in every figure.
//   - success-direct, unavailable2-direct: the interceptor alone, called
//     with an invoker that answers at once as the server would, so the
//     figure is the library's own cost per call.
func BenchmarkGRPCClient(b *testing.B) {
	for _, bc := range []struct {
		name  string
		fails int32 // Unavailable answers before each success
	}{{"success", 0}, {"unavailable2", 2}} {
		for _, lib := range grpcLibs(b) {
			b.Run(bc.name+"/lib="+lib.name, func(b *testing.B) {
				svc := &cycling{fails: bc.fails}
				cc := bufconnClient(b, svc, lib.interceptor)
				client := testpb.NewTestServiceClient(cc)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		for _, lib := range grpcLibs(b) {
			b.Run(bc.name+"-direct/lib="+lib.name, func(b *testing.B) {
				svc := &cycling{fails: bc.fails}
				invoke := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
					return svc.answer()
				}
				ctx := context.Background()
				req, reply := &testpb.Empty{}, &testpb.Empty{}
				b.ReportAllocs()
				for b.Loop() {
					if err := lib.interceptor(ctx, "/grpc.testing.TestService/EmptyCall", req, reply, nil, invoke); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

type grpcLib struct {
	name        string
	interceptor grpc.UnaryClientInterceptor
}

// grpcLibs builds each library's interceptor afresh, for one benchmark.
func grpcLibs(b *testing.B) []grpcLib {
	fam, err := breaker.NewFamily[string](breaker.FamilyConfig{Breaker: breaker.Config{FailureThreshold: 5}})
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, fam.Stop(context.Background())) })
	rp, err := retry.New(retry.Config{MaxAttempts: 3, Delay: func(int, error, time.Duration) time.Duration { return 0 }})
	require.NoError(b, err)
	ours, err := resiliencegrpc.NewClient(resiliencegrpc.ClientConfig{
		Pipeline:   resilience.Pipeline{Retry: rp},
		Breakers:   fam,
		Idempotent: func(string) bool { return true },
	})
	require.NoError(b, err)

	unavailable := func(_ any, err error) bool { return status.Code(err) == codes.Unavailable }
	cb := circuitbreaker.NewBuilder[any]().HandleIf(unavailable).WithFailureThreshold(5).Build()
	retries := failsafegrpc.NewRetryPolicyBuilder[any]().WithMaxAttempts(3).ReturnLastFailure().Build()
	theirs := failsafegrpc.NewUnaryClientInterceptorWithExecutor(failsafe.With[any](retries, cb))

	return []grpcLib{{"resilience", ours.Unary}, {"failsafegrpc", theirs}}
}

// cycling answers Unavailable fails times, then OK, and again.
type cycling struct {
	testpb.UnimplementedTestServiceServer
	fails int32
	n     atomic.Int32
}

func (c *cycling) answer() error {
	if c.n.Add(1)%(c.fails+1) != 0 {
		return errUnavailable
	}
	return nil
}

var errUnavailable = status.Error(codes.Unavailable, "try again")

func (c *cycling) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	if err := c.answer(); err != nil {
		return nil, err
	}
	return &testpb.Empty{}, nil
}

// bufconnClient serves svc on an in-process bufconn listener and returns
// a connection to it through interceptor; both end with the benchmark.
func bufconnClient(b *testing.B, svc testpb.TestServiceServer, interceptor grpc.UnaryClientInterceptor) *grpc.ClientConn {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	testpb.RegisterTestServiceServer(srv, svc)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	cc, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(interceptor))
	require.NoError(b, err)
	b.Cleanup(func() {
		require.NoError(b, cc.Close())
		srv.Stop()
		require.NoError(b, <-served)
	})
	return cc
}
