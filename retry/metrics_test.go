package retry

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failing returns a function that fails its first n calls with err.
func failing(n int, err error) func(context.Context) error {
	calls := 0
	return func(context.Context) error {
		calls++
		if calls <= n {
			return err
		}
		return nil
	}
}

func TestMetricsCountEachStopOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget := &countingAllowance{limit: 1}
		p, err := New(Config{MaxAttempts: 3, InitialDelay: time.Millisecond, Jitter: NoJitter, Budget: budget})
		require.NoError(t, err)
		boom := errors.New("boom")
		ctx := context.Background()

		require.NoError(t, p.Run(ctx, failing(0, boom)))
		assert.Equal(t, Metrics{}, p.Metrics(), "a first-attempt success counts nothing")

		require.NoError(t, p.Run(ctx, failing(1, boom)))                     // 1 retry, recovered
		require.Error(t, p.Run(ctx, failing(9, boom)))                       // budget spent: denied
		require.Error(t, p.Run(ctx, failing(9, resilience.Permanent(boom)))) // not retryable
		budget.limit = 100
		require.Error(t, p.Run(ctx, failing(9, boom))) // 2 retries, exhausted

		short, cancel := context.WithTimeout(ctx, 500*time.Microsecond)
		defer cancel()
		require.Error(t, p.Run(short, failing(9, boom))) // the wait passes the deadline

		assert.Equal(t, Metrics{
			Retries: 3, Recovered: 1, Exhausted: 1, BudgetDenied: 1,
			ContextDone: 1, NotRetryable: 1,
		}, p.Metrics())
	})
}

func TestMetricsCountPlanSteps(t *testing.T) {
	p, err := New(Config{MaxAttempts: 2})
	require.NoError(t, err)
	boom := errors.New("boom")
	s := p.Plan(context.Background())
	_, again := s.Next(boom)
	require.True(t, again)
	_, again = s.Next(boom)
	require.False(t, again)
	s = p.Plan(context.Background())
	_, again = s.Next(nil)
	require.False(t, again)
	assert.Equal(t, Metrics{Retries: 1, Exhausted: 1}, p.Metrics())
}

func TestMetricsCountDroppedEvents(t *testing.T) {
	events := make(chan Event) // unbuffered, never read: every send drops
	p, err := New(Config{MaxAttempts: 3, Delay: func(int, error, time.Duration) time.Duration { return 0 }, Events: events})
	require.NoError(t, err)
	require.Error(t, p.Run(context.Background(), failing(9, errors.New("boom"))))
	m := p.Metrics()
	assert.Equal(t, uint64(2), m.EventsDropped)
	assert.Equal(t, m.EventsDropped, p.EventsDropped())
}
