package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
)

// newBreaker returns a breaker stopped when the test ends.
func newBreaker(t *testing.T, cfg breaker.Config) *breaker.Breaker {
	t.Helper()
	b, err := breaker.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Stop(context.Background())) })
	return b
}

// In a Pipeline the retry waits out an open breaker: the wait is the time
// until the breaker lets probes through (its refusal's Until), clamped by
// MaxDelay.
func TestRetryWaitsForTheOpenBreaker(t *testing.T) {
	cases := []struct {
		name     string
		maxDelay time.Duration
		attempts int
		want     time.Duration // elapsed when the call returns
		wantErr  error
	}{
		{"the wait is the breaker's", time.Hour, 3, 10*time.Second + time.Millisecond, nil},
		{"clamped by MaxDelay", 2 * time.Second, 3, ms + 2*time.Second, resilience.ErrOpen},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBreaker(t, breaker.Config{FailureThreshold: 1, SuccessThreshold: 1, OpenTimeout: 10 * time.Second})
				events := make(chan Event, 4)
				r := mustNew(t, Config{MaxAttempts: tc.attempts, InitialDelay: ms, MaxDelay: tc.maxDelay, Jitter: NoJitter,
					Events: events})
				p := &resilience.Pipeline{Retry: r, Breaker: b}
				var waits []time.Duration
				start := time.Now()
				calls := 0
				err := p.Run(context.Background(), func(context.Context) error {
					calls++
					if calls == 1 {
						return errBoom // trips the breaker
					}
					return nil
				})
				close(events)
				for e := range events {
					waits = append(waits, e.Delay)
				}
				assert.Equal(t, tc.want, time.Since(start))
				if tc.wantErr == nil {
					require.NoError(t, err)
					assert.Equal(t, []time.Duration{ms, 10*time.Second + time.Millisecond - ms}, waits,
						"after the backoff, the wait runs to the breaker's Until")
					return
				}
				assert.ErrorIs(t, err, tc.wantErr)
				assert.Equal(t, []time.Duration{ms, tc.maxDelay}, waits)
			})
		})
	}
}

// httpStatus is a result judged bad, returned as the error of a (T, error)
// pair: it classifies itself, so every policy reads it the same way.
type httpStatus struct{ code int }

func (e *httpStatus) Error() string { return fmt.Sprintf("status %d", e.code) }

func (e *httpStatus) Outcome() resilience.Outcome {
	switch {
	case e.code >= 500:
		return resilience.Failure
	case e.code == 429:
		return resilience.Throttled
	}
	return resilience.Terminal
}

// response is what the operation returns, good or bad.
type response struct {
	attempt int
	code    int
}

// Results are classified, not only errors: an operation returns its value
// with an error saying why the value is bad; the breaker counts it, the
// retry retries it (or not), and the caller gets the last attempt's value.
func TestResultsAreClassified(t *testing.T) {
	cases := []struct {
		name      string
		codes     []int // status per attempt; 200 is success
		attempts  int
		failures  uint64 // counted by the breaker
		successes uint64
		wantCode  int // of the value the caller gets
	}{
		{"503s retried until a 200", []int{503, 503, 200}, 3, 2, 1, 200},
		{"503s to the end", []int{503, 503, 503}, 3, 3, 0, 503},
		{"400 is terminal", []int{400, 200}, 1, 1, 0, 400},
		{"429 is retried, not counted", []int{429, 200}, 2, 0, 1, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBreaker(t, breaker.Config{FailureThreshold: 10})
				p := &resilience.Pipeline{Retry: mustNew(t, Config{MaxAttempts: 3, Backoff: Immediate}), Breaker: b}
				v, err := resilience.Do(context.Background(), p, func(ctx context.Context) (response, error) {
					n := resilience.Attempt(ctx)
					r := response{attempt: n, code: tc.codes[n-1]}
					if r.code == 429 {
						return r, resilience.RetryAfter(&httpStatus{r.code}, time.Second)
					}
					if r.code != 200 {
						return r, &httpStatus{r.code}
					}
					return r, nil
				})
				assert.Equal(t, response{attempt: tc.attempts, code: tc.wantCode}, v, "the caller gets the last value")
				m := b.Metrics()
				assert.Equal(t, tc.failures, m.Failures, "the breaker counts the bad results")
				assert.Equal(t, tc.successes, m.Successes)
				if tc.wantCode == 200 {
					require.NoError(t, err)
					return
				}
				var hs *httpStatus
				require.ErrorAs(t, err, &hs, "the bad result's error is reachable")
				assert.Equal(t, tc.wantCode, hs.code)
			})
		})
	}
}

// singleChain requires that every error in err's chain wraps at most one
// error, except a *retry.Error, which wraps Last and Reason (see its
// Unwrap); it returns the chain walked from err through Last.
func singleChain(t *testing.T, err error) []error {
	t.Helper()
	var chain []error
	for err != nil {
		chain = append(chain, err)
		if re, ok := err.(*Error); ok {
			err = re.Last
			continue
		}
		_, multi := err.(interface{ Unwrap() []error })
		require.False(t, multi, "%T wraps several errors", err)
		err = errors.Unwrap(err)
	}
	return chain
}

// errors.Is and errors.As work through every stage, and every stage but
// the retry's Error wraps one cause.
func TestErrorChainsThroughThePipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 1, OpenTimeout: time.Hour})
		p := &resilience.Pipeline{Retry: mustNew(t, Config{MaxAttempts: 2, Backoff: Immediate, MaxDelay: time.Second}), Breaker: b,
			AttemptTimeout: time.Minute}
		err := p.Run(context.Background(), func(context.Context) error { return &httpStatus{503} })
		var re *Error
		require.ErrorAs(t, err, &re)
		var rej *resilience.RejectedError
		require.ErrorAs(t, err, &rej, "the second attempt met the open breaker")
		assert.ErrorIs(t, err, resilience.ErrOpen)
		assert.ErrorIs(t, err, resilience.ErrRejected)
		assert.ErrorIs(t, err, resilience.ErrExhausted)
		singleChain(t, err)

		why := errors.New("shutting down")
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(why)
		err = mustNew(t, Config{}).Run(ctx, func(context.Context) error { return nil })
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, why)
		require.ErrorAs(t, err, &re)
		singleChain(t, re.Reason)
	})
}
