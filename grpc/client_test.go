package resiliencegrpc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/retry"
)

// failFirst fails the first n calls of every method with code.
func failFirst(n int32, code codes.Code) func(string, int32) error {
	return func(_ string, k int32) error {
		if k <= n {
			return status.Error(code, "try again")
		}
		return nil
	}
}

func newFamily(t testing.TB, threshold int) *breaker.Family[string] {
	t.Helper()
	f, err := breaker.NewFamily[string](breaker.FamilyConfig{Breaker: breaker.Config{FailureThreshold: threshold, OpenTimeout: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, f.Stop(context.Background())) })
	return f
}

func TestUnaryRetriesAnIdempotentMethodUntilItSucceeds(t *testing.T) {
	svc := &testService{fail: failFirst(2, codes.Unavailable)}
	addr, _ := serve(t, svc)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Retry: quickRetry(t, 3, nil)}, Idempotent: always})
	require.NoError(t, err)

	_, err = testpb.NewTestServiceClient(dial(t, addr, c)).EmptyCall(testCtx(t), &testpb.Empty{})
	require.NoError(t, err, "two Unavailable answers then OK, with three attempts, must succeed")
	assert.EqualValues(t, 3, svc.empty.Load(), "the server must see every attempt")
}

func TestUnaryDoesNotRetryAMethodNotDeclaredIdempotent(t *testing.T) {
	svc := &testService{fail: failFirst(5, codes.Unavailable)}
	addr, _ := serve(t, svc)
	fam := newFamily(t, 100)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Retry: quickRetry(t, 3, nil)}, Breakers: fam})
	require.NoError(t, err)

	_, err = testpb.NewTestServiceClient(dial(t, addr, c)).EmptyCall(testCtx(t), &testpb.Empty{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, "try again", status.Convert(err).Message(), "the server's status must reach the caller unchanged")
	assert.EqualValues(t, 1, svc.empty.Load(), "grpc.testing.TestService declares no idempotency: no retry")
	b, err := fam.For(addr + "/grpc.testing.TestService/EmptyCall")
	require.NoError(t, err)
	assert.EqualValues(t, 1, b.Metrics().Failures, "the breaker still counts the failure")
}

func TestRetriedCallReturnsTheLastStatusAndTheRetryError(t *testing.T) {
	svc := &testService{fail: failFirst(5, codes.Internal)}
	addr, _ := serve(t, svc)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Retry: quickRetry(t, 3, nil)}, Idempotent: always})
	require.NoError(t, err)

	_, err = testpb.NewTestServiceClient(dial(t, addr, c)).EmptyCall(testCtx(t), &testpb.Empty{})
	st, ok := status.FromError(err)
	require.True(t, ok, "a retried call's error must still be a gRPC status")
	assert.Equal(t, codes.Internal, st.Code())
	assert.Equal(t, "try again", st.Message())
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 3, re.Attempts)
	assert.ErrorIs(t, err, resilience.ErrExhausted)
	assert.Equal(t, resilience.Failure, Classify(err))
}

func TestAnswersOfAHealthyServerAreSuccessesAndNotRetried(t *testing.T) {
	svc := &testService{fail: failFirst(100, codes.InvalidArgument)}
	addr, _ := serve(t, svc)
	fam := newFamily(t, 1)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Retry: quickRetry(t, 3, nil)}, Breakers: fam, Idempotent: always})
	require.NoError(t, err)
	client := testpb.NewTestServiceClient(dial(t, addr, c))

	for range 3 {
		_, err = client.EmptyCall(testCtx(t), &testpb.Empty{})
		assert.Equal(t, codes.InvalidArgument, status.Code(err))
	}
	assert.EqualValues(t, 3, svc.empty.Load(), "one attempt per call: InvalidArgument is not retried")
	b, err := fam.For(addr + "/grpc.testing.TestService/EmptyCall")
	require.NoError(t, err)
	m := b.Metrics()
	assert.Equal(t, breaker.Closed, m.State, "a breaker with FailureThreshold 1 must stay closed")
	assert.EqualValues(t, 3, m.Successes)
}

func TestBreakersAreKeyedByTargetAndMethod(t *testing.T) {
	bad := &testService{fail: failFirst(1000, codes.Unavailable)}
	good := &testService{}
	badAddr, _ := serve(t, bad)
	goodAddr, _ := serve(t, good)
	c, err := NewClient(ClientConfig{Breakers: newFamily(t, 2)})
	require.NoError(t, err)
	badClient := testpb.NewTestServiceClient(dial(t, badAddr, c))
	goodClient := testpb.NewTestServiceClient(dial(t, goodAddr, c))

	for range 2 {
		_, err = badClient.EmptyCall(testCtx(t), &testpb.Empty{})
		require.Equal(t, codes.Unavailable, status.Code(err))
	}
	_, err = badClient.EmptyCall(testCtx(t), &testpb.Empty{})
	assert.Equal(t, codes.Unavailable, status.Code(err), "an open breaker answers Unavailable")
	assert.ErrorIs(t, err, resilience.ErrOpen)
	assert.EqualValues(t, 2, bad.empty.Load(), "the refused call must not reach the server")

	_, err = goodClient.EmptyCall(testCtx(t), &testpb.Empty{})
	assert.NoError(t, err, "another target has a breaker of its own")
	_, err = badClient.UnaryCall(testCtx(t), &testpb.SimpleRequest{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.NotErrorIs(t, err, resilience.ErrOpen, "another method of the same target has a breaker of its own")
	assert.EqualValues(t, 1, bad.unary.Load())
}

func TestResourceExhaustedIsThrottledAndWaitsForRetryInfo(t *testing.T) {
	st, err := status.New(codes.ResourceExhausted, "slow down").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(30 * time.Millisecond)})
	require.NoError(t, err)
	svc := &testService{fail: func(_ string, n int32) error {
		if n == 1 {
			return st.Err()
		}
		return nil
	}}
	addr, _ := serve(t, svc)
	events := make(chan retry.Event, 4)
	fam := newFamily(t, 1)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Retry: quickRetry(t, 3, events)}, Breakers: fam, Idempotent: always})
	require.NoError(t, err)

	_, err = testpb.NewTestServiceClient(dial(t, addr, c)).EmptyCall(testCtx(t), &testpb.Empty{})
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, 30*time.Millisecond, (<-events).Delay, "the retry must wait the server's RetryInfo delay, not its own (zero) backoff")
	b, err := fam.For(addr + "/grpc.testing.TestService/EmptyCall")
	require.NoError(t, err)
	m := b.Metrics()
	assert.Equal(t, breaker.Closed, m.State, "a throttled answer must not open a breaker with FailureThreshold 1")
	assert.EqualValues(t, 1, m.Ignored)
	assert.EqualValues(t, 0, m.Failures)
}

func TestTimeoutsBecomeTheCallDeadline(t *testing.T) {
	svc := &testService{deadline: make(chan time.Duration, 1)}
	addr, _ := serve(t, svc)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Timeout: time.Minute, AttemptTimeout: 20 * time.Second}})
	require.NoError(t, err)

	_, err = testpb.NewTestServiceClient(dial(t, addr, c)).UnaryCall(context.Background(), &testpb.SimpleRequest{})
	require.NoError(t, err)
	left := <-svc.deadline
	assert.Positive(t, left, "the server must receive a deadline")
	assert.LessOrEqual(t, left, 20*time.Second, "the attempt's timeout, not the call's, bounds what the server gets")
}

func TestAnAttemptThatTimesOutIsRetried(t *testing.T) {
	svc := &testService{block: make(chan struct{}), started: make(chan struct{}, 2)}
	addr, _ := serve(t, svc)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Retry: quickRetry(t, 2, nil), AttemptTimeout: 50 * time.Millisecond}, Idempotent: always})
	require.NoError(t, err)

	_, err = testpb.NewTestServiceClient(dial(t, addr, c)).UnaryCall(testCtx(t), &testpb.SimpleRequest{})
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "every attempt ran into its timeout")
	assert.EqualValues(t, 2, svc.unary.Load(), "the timed-out attempt must be retried")
}

func TestALocalRefusalHasAStatus(t *testing.T) {
	bh, err := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, bh.Stop(context.Background())) })
	done, err := bh.Allow(context.Background()) // take the only slot
	require.NoError(t, err)
	defer done(nil)
	svc := &testService{}
	addr, _ := serve(t, svc)
	c, err := NewClient(ClientConfig{Pipeline: resilience.Pipeline{Bulkhead: bh}})
	require.NoError(t, err)

	_, err = testpb.NewTestServiceClient(dial(t, addr, c)).EmptyCall(testCtx(t), &testpb.Empty{})
	assert.Equal(t, codes.ResourceExhausted, status.Code(err))
	assert.ErrorIs(t, err, resilience.ErrFull)
	assert.Zero(t, svc.empty.Load())
}

func TestACancelledCallIsNotCounted(t *testing.T) {
	svc := &testService{block: make(chan struct{}), started: make(chan struct{}, 1)}
	addr, _ := serve(t, svc)
	fam := newFamily(t, 1)
	c, err := NewClient(ClientConfig{Breakers: fam, Pipeline: resilience.Pipeline{Retry: quickRetry(t, 3, nil)}, Idempotent: always})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-svc.started; cancel() }()

	_, err = testpb.NewTestServiceClient(dial(t, addr, c)).UnaryCall(ctx, &testpb.SimpleRequest{})
	assert.Equal(t, codes.Canceled, status.Code(err))
	b, err := fam.For(addr + "/grpc.testing.TestService/UnaryCall")
	require.NoError(t, err)
	m := b.Metrics()
	assert.EqualValues(t, 1, m.Ignored, "the caller gave up: that says nothing about the server")
	assert.Equal(t, breaker.Closed, m.State)
	assert.EqualValues(t, 1, svc.unary.Load(), "a cancelled call is not retried")
}

func TestNewClientRejectsTwoBreakerSources(t *testing.T) {
	b, err := breaker.New(breaker.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Stop(context.Background())) })
	_, err = NewClient(ClientConfig{Pipeline: resilience.Pipeline{Breaker: b}, Breakers: newFamily(t, 1)})
	var ce *resilience.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "resiliencegrpc.ClientConfig.Pipeline.Breaker", ce.Field)
}

func TestCustomKeyGroupsBreakers(t *testing.T) {
	svc := &testService{fail: failFirst(1000, codes.Unavailable)}
	addr, _ := serve(t, svc)
	fam := newFamily(t, 1)
	c, err := NewClient(ClientConfig{Breakers: fam, Key: func(target, _ string) string { return "host:" + target }})
	require.NoError(t, err)
	client := testpb.NewTestServiceClient(dial(t, addr, c))

	_, err = client.EmptyCall(testCtx(t), &testpb.Empty{})
	require.Equal(t, codes.Unavailable, status.Code(err))
	_, err = client.UnaryCall(testCtx(t), &testpb.SimpleRequest{})
	assert.True(t, errors.Is(err, resilience.ErrOpen), "one breaker per target: the failure of one method opens it for all")
	assert.Zero(t, svc.unary.Load())
}
