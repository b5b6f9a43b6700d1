package resiliencegrpc

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/llm-research-lab/resilience/retry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testService is grpc's own test service, served for real on loopback.
// Each method counts its calls and answers with fail's error for the
// n-th call of that method (from 1), or succeeds when fail returns nil.
type testService struct {
	testpb.UnimplementedTestServiceServer
	fail func(method string, n int32) error

	empty, unary, streams, uploads atomic.Int32
	// block, if set, holds UnaryCall until it is closed or the call's
	// context ends; started receives one value per call that blocks.
	block   chan struct{}
	started chan struct{}
	// deadline receives the deadline each UnaryCall saw, if set.
	deadline chan time.Duration
}

func (s *testService) answer(method string, n int32) error {
	if s.fail == nil {
		return nil
	}
	return s.fail(method, n)
}

func (s *testService) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, s.answer("EmptyCall", s.empty.Add(1))
}

func (s *testService) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	n := s.unary.Add(1)
	if s.deadline != nil {
		d, ok := ctx.Deadline()
		if !ok {
			d = time.Time{}
		}
		s.deadline <- time.Until(d)
	}
	if s.block != nil {
		s.started <- struct{}{}
		select {
		case <-s.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &testpb.SimpleResponse{}, s.answer("UnaryCall", n)
}

func (s *testService) StreamingOutputCall(_ *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	if s.deadline != nil {
		left := time.Duration(-1) // none
		if d, ok := stream.Context().Deadline(); ok {
			left = time.Until(d)
		}
		s.deadline <- left
	}
	if err := s.answer("StreamingOutputCall", s.streams.Add(1)); err != nil {
		return err
	}
	for range 2 {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

func (s *testService) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	n := s.uploads.Add(1)
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	if err := s.answer("StreamingInputCall", n); err != nil {
		return err
	}
	return stream.SendAndClose(&testpb.StreamingInputCallResponse{})
}

// serve serves svc (and a health service, returned) on a loopback port
// until the test ends, and returns the address.
func serve(t testing.TB, svc testpb.TestServiceServer, opts ...grpc.ServerOption) (string, *health.Server) {
	t.Helper()
	return serveHealth(t, svc, health.NewServer(), opts...)
}

// serveHealth is serve with the given health service.
func serveHealth(t testing.TB, svc testpb.TestServiceServer, hs *health.Server, opts ...grpc.ServerOption) (string, *health.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(opts...)
	testpb.RegisterTestServiceServer(srv, svc)
	healthpb.RegisterHealthServer(srv, hs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop()
		require.NoError(t, <-served, "Serve must end cleanly once stopped")
	})
	return ln.Addr().String(), hs
}

// dial connects to addr through the client's interceptors until the test
// ends.
func dial(t testing.TB, addr string, c *Client) *grpc.ClientConn {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if c != nil {
		opts = append(opts, grpc.WithUnaryInterceptor(c.Unary), grpc.WithStreamInterceptor(c.Stream))
	}
	cc, err := grpc.NewClient(addr, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cc.Close()) })
	return cc
}

// quickRetry is a retry policy of n attempts with no wait between them.
func quickRetry(t testing.TB, n int, events chan<- retry.Event) *retry.Policy {
	t.Helper()
	p, err := retry.New(retry.Config{MaxAttempts: n, Delay: func(int, error, time.Duration) time.Duration { return 0 }, Events: events})
	require.NoError(t, err)
	return p
}

func always(string) bool { return true }

// testCtx is a context for one call that cannot hang the test.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
