package resilience_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/retry"
)

var errDown = errors.New("dependency down")

// stack is a pipeline of the library's own policies, as a service builds it.
func stack(t *testing.T, attempts int) (*resilience.Pipeline, *breaker.Breaker, *bulkhead.Bulkhead) {
	t.Helper()
	br, err := breaker.New(breaker.Config{Name: "db", FailureThreshold: 3, OpenTimeout: time.Minute})
	require.NoError(t, err)
	bh, err := bulkhead.New(bulkhead.Config{Name: "db", MaxConcurrent: 1})
	require.NoError(t, err)
	rp, err := retry.New(retry.Config{MaxAttempts: attempts, InitialDelay: 10 * time.Millisecond, Jitter: retry.NoJitter})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = br.Stop(context.Background())
		_ = bh.Stop(context.Background())
	})
	return &resilience.Pipeline{Name: "db", Timeout: 5 * time.Second, Retry: rp, Breaker: br, Bulkhead: bh, AttemptTimeout: time.Second}, br, bh
}

func TestTheBreakerJudgesAttemptsAndRetryStopsOnItsRefusal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, br, _ := stack(t, 5)
		calls := 0
		_, err := resilience.Do(context.Background(), p, func(context.Context) (int, error) {
			calls++
			return 0, errDown
		})
		assert.Equal(t, 3, calls, "the breaker opens after three failed attempts")
		require.ErrorIs(t, err, resilience.ErrOpen, "the fourth attempt was refused: %v", err)
		var re *retry.Error
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, re.Reason, context.DeadlineExceeded,
			"waiting out the breaker's minute would pass the 5 s timeout, so retry stops at once")
		assert.Equal(t, breaker.Open, br.State())
		m := br.Metrics()
		assert.Equal(t, uint64(3), m.Failures)
		assert.Equal(t, uint64(1), m.RejectedOpen)
	})
}

func TestARefusalByTheBulkheadIsNotAFailureOfTheDependency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, br, _ := stack(t, 1)
		release := make(chan struct{})
		go func() {
			_ = p.Run(context.Background(), func(context.Context) error { <-release; return nil })
		}()
		synctest.Wait() // the only slot is taken
		for range 5 {
			err := p.Run(context.Background(), func(context.Context) error { return nil })
			require.ErrorIs(t, err, resilience.ErrFull)
		}
		close(release)
		synctest.Wait()
		m := br.Metrics()
		assert.Zero(t, m.Failures, "five full-bulkhead refusals are not the dependency failing")
		assert.Equal(t, breaker.Closed, br.State())
	})
}

func TestNestedPipelinesLetTheBreakerJudgeWholeCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br, err := breaker.New(breaker.Config{FailureThreshold: 3, OpenTimeout: time.Minute})
		require.NoError(t, err)
		defer func() { _ = br.Stop(context.Background()) }()
		rp, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Millisecond, Jitter: retry.NoJitter})
		require.NoError(t, err)
		outer := &resilience.Pipeline{Breaker: br}
		inner := &resilience.Pipeline{Retry: rp}

		// Ten calls whose first attempt fails and second succeeds: the
		// retries absorb every failure, so the breaker sees ten successes.
		for range 10 {
			n := 0
			err := outer.Run(context.Background(), func(ctx context.Context) error {
				return inner.Run(ctx, func(context.Context) error {
					if n++; n == 1 {
						return errDown
					}
					return nil
				})
			})
			require.NoError(t, err)
		}
		m := br.Metrics()
		assert.Equal(t, uint64(10), m.Successes)
		assert.Zero(t, m.Failures)
	})
}

func TestAPipelineIsSafeForConcurrentUseAndReusable(t *testing.T) {
	p, br, bh := stack(t, 2)
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				v, err := resilience.Do(context.Background(), p, func(ctx context.Context) (int, error) {
					if (g+i)%10 == 0 && resilience.Attempt(ctx) == 1 {
						return 0, errDown
					}
					return g*1000 + i, nil
				})
				switch {
				case err == nil:
					require.Equal(t, g*1000+i, v, "each call gets its own value")
					ok.Add(1)
				case errors.Is(err, resilience.ErrRejected):
					refused.Add(1)
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1600), ok.Load()+refused.Load(), "every call answered")
	assert.Zero(t, bh.Metrics().InFlight, "every slot was given back")
	m := br.Metrics()
	assert.Equal(t, uint64(ok.Load()), m.Successes, "one success counted per call that succeeded")
	assert.LessOrEqual(t, m.Failures, uint64(160), "at most the one failing attempt of every tenth call")
}
