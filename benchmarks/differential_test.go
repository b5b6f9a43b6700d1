package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/sony/gobreaker/v2"
	"github.com/stretchr/testify/require"
)

// TestBreakerDifferentialGobreaker drives this module's breaker and
// sony/gobreaker/v2 with the same pseudo-random sequences of outcomes and
// clock advances (virtual time, so both read the same clock) and requires
// the same answer to every call and the same state after every step.
//
// The sequences cover the behaviour the two share: consecutive failures
// open, the open timeout leads to half-open, any half-open failure reopens,
// enough half-open successes close, context.Canceled is excluded. Calls are
// sequential, because gobreaker's MaxRequests caps the probes per half-open
// period rather than the probes in flight, and is also its success
// threshold; with one call at a time and HalfOpenMaxRequests ==
// SuccessThreshold == MaxRequests the two rules coincide. Clock advances
// are multiples of 3s against a 10s timeout, so no step lands exactly on
// an expiry, where gobreaker (lazy, strictly after) and the actor's timer
// (at the instant) legitimately differ.
func TestBreakerDifferentialGobreaker(t *testing.T) {
	for seed := range uint64(64) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runDifferential(t, seed) })
		})
	}
}

func runDifferential(t *testing.T, seed uint64) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	failures, probes := 1+r.IntN(4), 1+r.IntN(3)
	ours, err := breaker.New(breaker.Config{
		FailureThreshold:    failures,
		SuccessThreshold:    probes,
		HalfOpenMaxRequests: probes,
		OpenTimeout:         10 * time.Second,
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, ours.Stop(ctx)) }()
	theirs := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		MaxRequests: uint32(probes),
		Timeout:     10 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(failures) },
		IsExcluded:  func(err error) bool { return errors.Is(err, context.Canceled) },
	})

	outcomes := []error{nil, nil, nil, nil, nil, errWork, errWork, errWork, errWork, context.Canceled}
	for step := range 400 {
		if r.IntN(10) < 7 {
			result := outcomes[r.IntN(len(outcomes))]
			work := func(context.Context) error { return result }
			got := ours.Run(ctx, work)
			_, want := theirs.Execute(func() (struct{}, error) { return struct{}{}, work(ctx) })
			synctest.Wait() // let the actor apply what the call reported
			require.Equal(t, answer(want), answer(got), "step %d: call returning %v", step, result)
		} else {
			time.Sleep(time.Duration(1+r.IntN(4)) * 3 * time.Second)
			synctest.Wait()
		}
		require.Equal(t, theirs.State().String(), ours.State().String(), "step %d", step)
	}
}

// answer names a call's result in terms both libraries share. Ours
// refuses with resilience.ErrOpen both when open (with the time of the
// next probe in Until) and when half-open with every probe slot taken
// (Until unknown, so zero).
func answer(err error) string {
	var re *resilience.RejectedError
	halfOpenFull := errors.As(err, &re) && re.Until.IsZero()
	switch {
	case errors.Is(err, resilience.ErrOpen) && !halfOpenFull, errors.Is(err, gobreaker.ErrOpenState):
		return "open"
	case errors.Is(err, resilience.ErrOpen), errors.Is(err, gobreaker.ErrTooManyRequests):
		return "rejected"
	case err == nil:
		return "ok"
	}
	return "call error: " + err.Error()
}
