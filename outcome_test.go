package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// selfClassified is an error that says what it means, as an HTTP status
// error would.
type selfClassified struct{ o resilience.Outcome }

func (s selfClassified) Error() string               { return "status" }
func (s selfClassified) Outcome() resilience.Outcome { return s.o }

func TestClassify(t *testing.T) {
	errDown := errors.New("down")
	tests := []struct {
		name string
		err  error
		want resilience.Outcome
	}{
		{"nil", nil, resilience.Success},
		{"plain error", errDown, resilience.Failure},
		{"deadline", context.DeadlineExceeded, resilience.Failure},
		{"timeout", &resilience.TimeoutError{Op: "x", Limit: time.Second}, resilience.Failure},
		{"timeout with a late cancellation", &resilience.TimeoutError{Op: "x", Limit: time.Second, Err: context.Canceled}, resilience.Failure},
		{"cancelled", fmt.Errorf("call: %w", context.Canceled), resilience.Ignored},
		{"permanent", resilience.Permanent(errDown), resilience.Terminal},
		{"permanent, wrapped", fmt.Errorf("x: %w", resilience.Permanent(errDown)), resilience.Terminal},
		{"stopped", resilience.ErrStopped, resilience.Ignored},
		{"stopped, as a refusal", &resilience.RejectedError{Reason: resilience.ErrStopped}, resilience.Ignored},
		{"refusal", &resilience.RejectedError{Reason: resilience.ErrOpen}, resilience.Throttled},
		{"self-classified", fmt.Errorf("x: %w", selfClassified{resilience.Throttled}), resilience.Throttled},
		{"hint", resilience.RetryAfter(errDown, time.Second), resilience.Throttled},
		{"outermost mark wins", resilience.Permanent(resilience.RetryAfter(errDown, time.Second)), resilience.Terminal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, resilience.Classify(tt.err))
		})
	}
}

func TestMarksKeepTheErrorReachable(t *testing.T) {
	errDown := errors.New("down")
	assert.NoError(t, resilience.Permanent(nil))
	assert.NoError(t, resilience.RetryAfter(nil, time.Second))

	err := resilience.RetryAfter(resilience.Permanent(errDown), -time.Second)
	require.ErrorIs(t, err, errDown)
	assert.Equal(t, "down", err.Error())
	var hint interface{ RetryAfter() time.Duration }
	require.ErrorAs(t, err, &hint)
	assert.Zero(t, hint.RetryAfter(), "a negative wait is clamped to zero")
}

func TestRejectedError(t *testing.T) {
	e := &resilience.RejectedError{Name: "payments", Reason: resilience.ErrFull}
	assert.ErrorIs(t, e, resilience.ErrRejected)
	assert.ErrorIs(t, e, resilience.ErrFull)
	assert.NotErrorIs(t, e, resilience.ErrOpen)
	assert.Equal(t, "resilience: payments: rejected: resilience: full", e.Error())
	assert.Zero(t, e.RetryAfter(), "no Until means the wait is unknown")

	e = &resilience.RejectedError{Reason: resilience.ErrOpen, Until: time.Now().Add(time.Hour)}
	assert.InDelta(t, float64(time.Hour), float64(e.RetryAfter()), float64(time.Minute))
	e.Until = time.Now().Add(-time.Hour)
	assert.Zero(t, e.RetryAfter(), "a past Until is never a negative wait")
}

func TestPanicErrorUnwrapsAnErrorValue(t *testing.T) {
	errDown := errors.New("down")
	assert.ErrorIs(t, &resilience.PanicError{Value: errDown}, errDown)
	assert.NoError(t, (&resilience.PanicError{Value: 42}).Unwrap())
	assert.Equal(t, "resilience: panic: 42", (&resilience.PanicError{Value: 42}).Error())
}

func TestOutcomeString(t *testing.T) {
	assert.Equal(t, "throttled", resilience.Throttled.String())
	assert.Equal(t, "outcome(?)", resilience.Outcome(200).String())
}

func TestConfigErrorNamesTheField(t *testing.T) {
	e := &resilience.ConfigError{Field: "breaker.Config.FailureThreshold", Reason: "must not be negative"}
	assert.Equal(t, "resilience: invalid breaker.Config.FailureThreshold: must not be negative", e.Error())
}
