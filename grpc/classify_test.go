package resiliencegrpc

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llm-research-lab/resilience"
)

func TestClassifyFollowsTheStatusTable(t *testing.T) {
	for code, want := range map[codes.Code]resilience.Outcome{
		codes.Canceled:           resilience.Ignored,
		codes.Unknown:            resilience.Failure,
		codes.InvalidArgument:    resilience.Success,
		codes.DeadlineExceeded:   resilience.Failure,
		codes.NotFound:           resilience.Success,
		codes.AlreadyExists:      resilience.Success,
		codes.PermissionDenied:   resilience.Success,
		codes.ResourceExhausted:  resilience.Throttled,
		codes.FailedPrecondition: resilience.Success,
		codes.Aborted:            resilience.Success,
		codes.OutOfRange:         resilience.Success,
		codes.Unimplemented:      resilience.Success,
		codes.Internal:           resilience.Failure,
		codes.Unavailable:        resilience.Failure,
		codes.DataLoss:           resilience.Terminal,
		codes.Unauthenticated:    resilience.Success,
		codes.Code(99):           resilience.Failure,
	} {
		err := status.Error(code, "x")
		assert.Equal(t, want, Classify(err), code.String())
		assert.Equal(t, want, Classify(fmt.Errorf("wrapped: %w", err)), "wrapped %v", code)
	}
	assert.Equal(t, resilience.Success, Classify(nil))
	assert.Equal(t, resilience.Failure, Classify(errors.New("not a status")))
	assert.Equal(t, resilience.Throttled, Classify(&resilience.RejectedError{Reason: resilience.ErrOpen}), "a refusal keeps its outcome")
	assert.Equal(t, resilience.Terminal, Classify(resilience.Permanent(status.Error(codes.Unavailable, "x"))))
}

func TestAttemptsOfMethodsThatMayNotBeRetriedStopTheLoop(t *testing.T) {
	live := context.Background()
	for _, tc := range []struct {
		code       codes.Code
		idempotent bool
		want       resilience.Outcome
	}{
		{codes.Unavailable, true, resilience.Failure},
		{codes.Unavailable, false, resilience.Terminal},
		{codes.Internal, false, resilience.Terminal},
		{codes.ResourceExhausted, true, resilience.Throttled},
		{codes.ResourceExhausted, false, resilience.Ignored},
		{codes.NotFound, false, resilience.Success},
		{codes.DataLoss, false, resilience.Terminal},
	} {
		err := classifyAttempt(live, tc.idempotent, status.Error(tc.code, "x"))
		assert.Equal(t, tc.want, resilience.Classify(err), "%v idempotent=%v", tc.code, tc.idempotent)
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	err := classifyAttempt(gone, true, status.Error(codes.Unavailable, "x"))
	assert.Equal(t, resilience.Ignored, resilience.Classify(err), "once the caller has gone, an attempt says nothing")
	plain := errors.New("plain")
	assert.Same(t, plain, classifyAttempt(live, true, plain), "an error that is no status is left to the pipeline")
}

func TestRetryInfoIsTheHint(t *testing.T) {
	for give, want := range map[time.Duration]time.Duration{
		1500 * time.Millisecond: 1500 * time.Millisecond,
		-time.Second:            0,
		1000 * time.Hour:        maxHint,
	} {
		st, err := status.New(codes.Unavailable, "x").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(give)})
		require.NoError(t, err)
		ae := classifyAttempt(context.Background(), true, st.Err()).(*attemptError)
		assert.Equal(t, want, ae.RetryAfter(), "RetryInfo %v", give)
	}
}

// FuzzHint feeds the classifier statuses with arbitrary codes and
// RetryInfo delays, as a hostile server could send them.
func FuzzHint(f *testing.F) {
	f.Add(uint32(8), int64(1), int32(0))
	f.Add(uint32(14), int64(-5), int32(-1))
	f.Add(uint32(99), int64(1<<62), int32(999_999_999))
	f.Add(uint32(0), int64(0), int32(2_000_000_000))
	f.Fuzz(func(t *testing.T, code uint32, secs int64, nanos int32) {
		st, err := status.New(codes.Code(code), "x").WithDetails(&errdetails.RetryInfo{RetryDelay: &durationpb.Duration{Seconds: secs, Nanos: nanos}})
		if err != nil {
			return
		}
		e := classifyAttempt(context.Background(), true, st.Err())
		if code == 0 {
			return // OK carries no error
		}
		ae, ok := e.(*attemptError)
		require.True(t, ok)
		require.GreaterOrEqual(t, ae.RetryAfter(), time.Duration(0))
		require.LessOrEqual(t, ae.RetryAfter(), maxHint)
		require.Equal(t, codes.Code(code), status.Code(callResult(e)))
	})
}
