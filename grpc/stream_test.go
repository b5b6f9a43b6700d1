package resiliencegrpc

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/retry"
)

// readAll reads a server stream to its end and returns the status it
// ended with (nil for io.EOF) and the messages received.
func readAll(t *testing.T, client testpb.TestServiceClient, ctx context.Context) (int, error) {
	t.Helper()
	s, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, err := s.Recv()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func TestTheBreakerLearnsHowStreamsEnd(t *testing.T) {
	svc := &testService{fail: failFirst(2, codes.Unavailable)}
	addr, _ := serve(t, svc)
	fam := newFamily(t, 3)
	c, err := NewClient(ClientConfig{Breakers: fam})
	require.NoError(t, err)
	client := testpb.NewTestServiceClient(dial(t, addr, c))

	for range 2 {
		_, err = readAll(t, client, testCtx(t))
		require.Equal(t, codes.Unavailable, status.Code(err))
	}
	n, err := readAll(t, client, testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	b, err := fam.For(addr + "/grpc.testing.TestService/StreamingOutputCall")
	require.NoError(t, err)
	m := b.Metrics()
	assert.EqualValues(t, 2, m.Failures, "a stream that ends with Unavailable is a failure")
	assert.EqualValues(t, 1, m.Successes, "a stream read to io.EOF is a success")
}

func TestAnOpenBreakerRefusesToOpenAStream(t *testing.T) {
	svc := &testService{fail: failFirst(1000, codes.Unavailable)}
	addr, _ := serve(t, svc)
	c, err := NewClient(ClientConfig{Breakers: newFamily(t, 1)})
	require.NoError(t, err)
	client := testpb.NewTestServiceClient(dial(t, addr, c))

	_, err = readAll(t, client, testCtx(t))
	require.Equal(t, codes.Unavailable, status.Code(err))
	_, err = client.StreamingOutputCall(testCtx(t), &testpb.StreamingOutputCallRequest{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorIs(t, err, resilience.ErrOpen, "the stream is refused as it opens")
	assert.EqualValues(t, 1, svc.streams.Load())
}

func TestOpeningAStreamIsRetriedAfterARefusal(t *testing.T) {
	svc := &testService{}
	addr, _ := serve(t, svc)
	b, err := breaker.New(breaker.Config{FailureThreshold: 1, OpenTimeout: 20 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Stop(context.Background())) })
	require.Error(t, b.Run(context.Background(), func(context.Context) error { return status.Error(codes.Unavailable, "down") }))
	require.Equal(t, breaker.Open, b.Metrics().State)
	// The breaker's actor moves it to half-open at the end of OpenTimeout:
	// a retry that finds it late still open waits 5ms and tries again.
	rp, err := retry.New(retry.Config{MaxAttempts: 100, Delay: func(int, error, time.Duration) time.Duration { return 5 * time.Millisecond }})
	require.NoError(t, err)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Breaker: b, Retry: rp}})
	require.NoError(t, err)

	n, err := readAll(t, testpb.NewTestServiceClient(dial(t, addr, c)), testCtx(t))
	require.NoError(t, err, "the retry must wait out the refusal's RetryAfter and open the stream on a probe")
	assert.Equal(t, 2, n)
	assert.GreaterOrEqual(t, b.Metrics().RejectedOpen, uint64(1))
}

func TestAClientStreamEndsWithItsResponse(t *testing.T) {
	svc := &testService{}
	addr, _ := serve(t, svc)
	fam := newFamily(t, 1)
	c, err := NewClient(ClientConfig{Breakers: fam})
	require.NoError(t, err)
	s, err := testpb.NewTestServiceClient(dial(t, addr, c)).StreamingInputCall(testCtx(t))
	require.NoError(t, err)
	require.NoError(t, s.Send(&testpb.StreamingInputCallRequest{}))
	_, err = s.CloseAndRecv()
	require.NoError(t, err)
	b, err := fam.For(addr + "/grpc.testing.TestService/StreamingInputCall")
	require.NoError(t, err)
	assert.EqualValues(t, 1, b.Metrics().Successes, "the one response ends a client stream")
}

func TestAnAbandonedStreamGivesItsAdmissionBack(t *testing.T) {
	svc := &testService{}
	addr, _ := serve(t, svc)
	fam := newFamily(t, 1)
	c, err := NewClient(ClientConfig{Breakers: fam})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	_, err = testpb.NewTestServiceClient(dial(t, addr, c)).StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{})
	require.NoError(t, err)
	cancel() // never read: the stream ends with its context

	b, err := fam.For(addr + "/grpc.testing.TestService/StreamingOutputCall")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.Metrics().Ignored == 1 }, 10*time.Second, time.Millisecond,
		"a cancelled stream is reported to the breaker, and not counted")
	assert.Zero(t, b.Metrics().Failures)
}

func TestTimeoutsDoNotBoundAStream(t *testing.T) {
	svc := &testService{deadline: make(chan time.Duration, 1)}
	addr, _ := serve(t, svc)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Timeout: time.Minute, AttemptTimeout: time.Second}})
	require.NoError(t, err)

	n, err := readAll(t, testpb.NewTestServiceClient(dial(t, addr, c)), context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, time.Duration(-1), <-svc.deadline, "a stream gets the caller's deadline (none here), not the pipeline's")
}
