package resiliencegrpc

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/lifecycle"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
)

func newServer(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	require.NoError(t, err)
	return s
}

func interceptors(s *Server) []grpc.ServerOption {
	return []grpc.ServerOption{grpc.UnaryInterceptor(s.Unary), grpc.StreamInterceptor(s.Stream)}
}

func newBulkhead(t testing.TB, n int) *bulkhead.Bulkhead {
	t.Helper()
	bh, err := bulkhead.New(bulkhead.Config{MaxConcurrent: n})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, bh.Stop(context.Background())) })
	return bh
}

func checkHealth(t *testing.T, cc *grpc.ClientConn) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	r, err := healthpb.NewHealthClient(cc).Check(testCtx(t), &healthpb.HealthCheckRequest{})
	require.NoError(t, err, "health checks must be answered")
	return r.GetStatus()
}

func TestAFullServerShedsWithResourceExhausted(t *testing.T) {
	svc := &testService{block: make(chan struct{}), started: make(chan struct{}, 1)}
	bh := newBulkhead(t, 1)
	addr, _ := serve(t, svc, interceptors(newServer(t, ServerConfig{Gate: bh}))...)
	cc := dial(t, addr, nil)
	client := testpb.NewTestServiceClient(cc)

	first := make(chan error, 1)
	go func() {
		_, err := client.UnaryCall(testCtx(t), &testpb.SimpleRequest{})
		first <- err
	}()
	<-svc.started
	_, err := client.EmptyCall(testCtx(t), &testpb.Empty{})
	assert.Equal(t, codes.ResourceExhausted, status.Code(err), "the second call finds the only slot taken")
	assert.Zero(t, svc.empty.Load(), "a shed call never reaches its handler")
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, checkHealth(t, cc), "health checks pass the gate")

	close(svc.block)
	require.NoError(t, <-first)
	_, err = client.EmptyCall(testCtx(t), &testpb.Empty{})
	assert.NoError(t, err, "the slot is free again")
	assert.Zero(t, bh.Metrics().InFlight)
}

func TestShedCodeMayBeUnavailable(t *testing.T) {
	svc := &testService{}
	bh := newBulkhead(t, 1)
	done, err := bh.Allow(context.Background())
	require.NoError(t, err)
	defer done(nil)
	addr, _ := serve(t, svc, interceptors(newServer(t, ServerConfig{Gate: bh, ShedCode: codes.Unavailable}))...)

	_, err = testpb.NewTestServiceClient(dial(t, addr, nil)).EmptyCall(testCtx(t), &testpb.Empty{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
}

func TestARateLimitedServerSendsItsDelayAndTheClientWaitsIt(t *testing.T) {
	rate, err := limit.New(limit.Config{PerSecond: 2, Burst: 1})
	require.NoError(t, err)
	svc := &testService{}
	addr, _ := serve(t, svc, interceptors(newServer(t, ServerConfig{Gate: rate}))...)
	events := make(chan retry.Event, 4)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Retry: quickRetry(t, 3, events)}, Idempotent: always})
	require.NoError(t, err)
	client := testpb.NewTestServiceClient(dial(t, addr, c))

	_, err = client.EmptyCall(testCtx(t), &testpb.Empty{}) // takes the burst
	require.NoError(t, err)
	_, err = client.EmptyCall(testCtx(t), &testpb.Empty{}) // refused once, then admitted
	require.NoError(t, err)
	require.NotEmpty(t, events, "the second call must have been refused once")
	ev := <-events
	assert.Equal(t, codes.ResourceExhausted, status.Code(ev.Err))
	var ri *errdetails.RetryInfo
	for _, d := range status.Convert(ev.Err).Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			ri = r
		}
	}
	require.NotNil(t, ri, "the refusal must carry the limiter's delay")
	assert.Positive(t, ev.Delay, "the client must wait the server's delay rather than its own zero backoff")
	assert.LessOrEqual(t, ev.Delay, 500*time.Millisecond, "no longer than one permit's interval at 2/s")
	assert.Equal(t, ri.GetRetryDelay().AsDuration(), ev.Delay)
}

func TestShutdownDrainsCallsRefusesNewOnesAndFailsHealth(t *testing.T) {
	coord, err := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{GracePeriod: 30 * time.Second})
	require.NoError(t, err)
	svc := &testService{block: make(chan struct{}), started: make(chan struct{}, 1)}
	ln := serveWithHealth(t, svc, coord)
	cc := dial(t, ln, nil)
	client := testpb.NewTestServiceClient(cc)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, checkHealth(t, cc))

	inFlight := make(chan error, 1)
	go func() {
		_, err := client.UnaryCall(testCtx(t), &testpb.SimpleRequest{})
		inFlight <- err
	}()
	<-svc.started
	stopped := make(chan error, 1)
	go func() { stopped <- coord.Stop(context.Background()) }()
	require.Eventually(t, coord.ShuttingDown, 10*time.Second, time.Millisecond)

	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, checkHealth(t, cc), "once shutdown begins, health says so")
	_, err = client.EmptyCall(testCtx(t), &testpb.Empty{})
	assert.Equal(t, codes.Unavailable, status.Code(err), "new calls are refused while draining")
	select {
	case err := <-stopped:
		t.Fatalf("shutdown must wait for the call in flight, returned %v", err)
	default:
	}
	close(svc.block)
	assert.NoError(t, <-inFlight, "the call in flight completes")
	assert.NoError(t, <-stopped, "shutdown ends once the call is drained")
}

// serveWithHealth serves svc with a Server tied to coord and its health
// service, and returns the address.
func serveWithHealth(t *testing.T, svc *testService, coord *lifecycle.Coordinator) string {
	t.Helper()
	hs := health.NewServer()
	s := newServer(t, ServerConfig{Coordinator: coord, Health: hs})
	addr, registered := serveHealth(t, svc, hs, interceptors(s)...)
	require.Same(t, hs, registered)
	return addr
}

func TestAHandlerPanicGivesItsSlotBack(t *testing.T) {
	bh := newBulkhead(t, 1)
	s := newServer(t, ServerConfig{Gate: bh})
	info := &grpc.UnaryServerInfo{FullMethod: "/grpc.testing.TestService/EmptyCall"}
	require.Panics(t, func() {
		_, _ = s.Unary(context.Background(), nil, info, func(context.Context, any) (any, error) { panic("boom") })
	})
	assert.Zero(t, bh.Metrics().InFlight, "the slot must be released when the handler panics")
}

func TestNewServerRejectsBadConfigs(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg   ServerConfig
		field string
	}{
		"shed code": {ServerConfig{ShedCode: codes.Internal}, "resiliencegrpc.ServerConfig.ShedCode"},
		"health":    {ServerConfig{Health: health.NewServer()}, "resiliencegrpc.ServerConfig.Health"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewServer(tc.cfg)
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
		})
	}
}

func TestAFullServerShedsStreams(t *testing.T) {
	svc := &testService{}
	bh := newBulkhead(t, 1)
	done, err := bh.Allow(context.Background()) // take the only slot
	require.NoError(t, err)
	addr, _ := serve(t, svc, interceptors(newServer(t, ServerConfig{Gate: bh}))...)
	client := testpb.NewTestServiceClient(dial(t, addr, nil))

	s, err := client.StreamingOutputCall(testCtx(t), &testpb.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, err = s.Recv()
	assert.Equal(t, codes.ResourceExhausted, status.Code(err))
	assert.Zero(t, svc.streams.Load(), "a shed stream never reaches its handler")

	done(nil)
	s, err = client.StreamingOutputCall(testCtx(t), &testpb.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, err = s.Recv()
	require.NoError(t, err, "with the slot free the stream is served")
}
