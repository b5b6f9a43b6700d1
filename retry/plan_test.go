package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// Stepping a Plan by hand gives the waits and the error Run gives.
func TestPlanStepsTheSameLoopAsRun(t *testing.T) {
	cfg := Config{Jitter: NoJitter, InitialDelay: ms, MaxAttempts: 4}
	s := mustNew(t, cfg).Plan(context.Background())
	var waits []time.Duration
	for {
		wait, again := s.Next(errBoom)
		if !again {
			break
		}
		waits = append(waits, wait)
	}
	assert.Equal(t, []time.Duration{ms, 2 * ms, 4 * ms}, waits)
	re := asError(t, s.Err())
	runErr := asError(t, mustNew(t, cfg).Run(context.Background(), func(context.Context) error { return errBoom }))
	assert.Equal(t, runErr.Attempts, re.Attempts)
	assert.Equal(t, runErr.Errors, re.Errors)
	assert.Equal(t, resilience.ErrExhausted, re.Reason)
}

// A Plan honours hints, stops on success and on a terminal error, and does
// not start a wait that would end past its context's deadline.
func TestPlanHintsSuccessTerminalAndDeadline(t *testing.T) {
	r := mustNew(t, Config{Jitter: NoJitter, InitialDelay: ms, MaxDelay: time.Minute})
	s := r.Plan(context.Background())
	wait, again := s.Next(resilience.RetryAfter(errBoom, time.Second))
	assert.True(t, again)
	assert.Equal(t, time.Second, wait, "the error's hint")
	_, again = s.Next(nil)
	assert.False(t, again)
	assert.NoError(t, s.Err(), "a success ends with no error")

	s = r.Plan(context.Background())
	_, again = s.Next(resilience.Permanent(errBoom))
	assert.False(t, again)
	re := asError(t, s.Err())
	assert.Nil(t, re.Reason)
	assert.ErrorIs(t, re, errBoom)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s = r.Plan(ctx)
	_, again = s.Next(resilience.RetryAfter(errBoom, time.Minute))
	assert.False(t, again)
	assert.Equal(t, context.DeadlineExceeded, asError(t, s.Err()).Reason)
}

// A nil Policy's Plan stops at once with a clear error.
func TestNilPolicyPlanStops(t *testing.T) {
	var r *Policy
	s := r.Plan(context.Background())
	_, again := s.Next(errBoom)
	assert.False(t, again)
	var ce *resilience.ConfigError
	require.True(t, errors.As(s.Err(), &ce))
}
