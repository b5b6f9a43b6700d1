package promresilience

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/internal/metricset"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stop stops a component when the test ends.
func stop(t *testing.T, c interface{ Stop(context.Context) error }) {
	t.Cleanup(func() { require.NoError(t, c.Stop(context.Background())) })
}

func TestScrapeBreakerOverHTTP(t *testing.T) {
	ctx := context.Background()
	b, err := breaker.New(breaker.Config{Name: "payments", FailureThreshold: 2})
	require.NoError(t, err)
	stop(t, b)
	c := New()
	require.NoError(t, c.Breaker("payments", b))
	scrape := serve(t, c)

	e := scrape()
	requireValue(t, e, 0, "resilience_breaker_state", "name", "payments")
	requireValue(t, e, 0, "resilience_breaker_calls_total", "name", "payments", "result", "success")

	boom := errors.New("boom")
	require.NoError(t, b.Run(ctx, func(context.Context) error { return nil }))
	for range 2 {
		require.ErrorIs(t, b.Run(ctx, func(context.Context) error { return boom }), boom)
	}
	require.Eventually(t, func() bool { return b.State() == breaker.Open }, 5*time.Second, time.Millisecond)
	require.ErrorIs(t, b.Run(ctx, func(context.Context) error { return nil }), resilience.ErrOpen)

	e = scrape()
	requireValue(t, e, 1, "resilience_breaker_state", "name", "payments")
	requireValue(t, e, 1, "resilience_breaker_calls_total", "name", "payments", "result", "success")
	requireValue(t, e, 2, "resilience_breaker_calls_total", "name", "payments", "result", "failure")
	requireValue(t, e, 1, "resilience_breaker_rejections_total", "name", "payments", "reason", "open")
	requireValue(t, e, 0, "resilience_breaker_rejections_total", "name", "payments", "reason", "half_open")
	requireValue(t, e, 1, "resilience_breaker_transitions_total", "name", "payments", "to", "open")
	assert.Equal(t, "COUNTER", e["resilience_breaker_calls_total"].GetType().String())
	assert.Equal(t, "GAUGE", e["resilience_breaker_state"].GetType().String())
}

func TestScrapeEveryKind(t *testing.T) {
	ctx := context.Background()
	c := New()

	fam, err := breaker.NewFamily[string](breaker.FamilyConfig{MaxKeys: 2})
	require.NoError(t, err)
	stop(t, fam)
	require.NoError(t, c.Family("hosts", fam))
	for _, host := range []string{"a", "b", "c"} {
		_, _ = fam.For(host)
	}

	lim, err := limit.New(limit.Config{PerSecond: 0.001, Burst: 1})
	require.NoError(t, err)
	stop(t, lim)
	require.NoError(t, c.Limiter("api", lim))
	require.NoError(t, lim.Run(ctx, func(context.Context) error { return nil }))
	require.ErrorIs(t, lim.Run(ctx, func(context.Context) error { return nil }), resilience.ErrRejected)

	pol, err := retry.New(retry.Config{MaxAttempts: 3, Delay: func(int, error, time.Duration) time.Duration { return 0 }})
	require.NoError(t, err)
	require.NoError(t, c.Retry("api", pol))
	require.Error(t, pol.Run(ctx, func(context.Context) error { return errors.New("boom") }))

	bh, err := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
	require.NoError(t, err)
	stop(t, bh)
	require.NoError(t, c.Bulkhead("api", bh))
	done, err := bh.Allow(ctx)
	require.NoError(t, err)
	defer done(nil)
	_, err = bh.Allow(ctx)
	require.ErrorIs(t, err, resilience.ErrFull)

	wd, err := deadline.New(deadline.Config{})
	require.NoError(t, err)
	stop(t, wd)
	require.NoError(t, c.Watchdog("api", wd))
	short, cancelShort := wd.WithTimeout(ctx, time.Nanosecond)
	defer cancelShort()
	<-short.Done()
	for wd.Metrics().Fired == 0 { // counted just after the context ends
		runtime.Gosched()
	}
	_, cancelLong := wd.WithTimeout(ctx, time.Hour)
	defer cancelLong()

	e := serve(t, c)()
	requireValue(t, e, 2, "resilience_breaker_family_keys", "name", "hosts")
	requireValue(t, e, 3, "resilience_breaker_family_created_total", "name", "hosts")
	requireValue(t, e, 1, "resilience_breaker_family_evictions_total", "name", "hosts", "reason", "lru")
	requireValue(t, e, 0.001, "resilience_limiter_rate", "name", "api")
	requireValue(t, e, 1, "resilience_limiter_admitted_total", "name", "api")
	requireValue(t, e, 1, "resilience_limiter_rejections_total", "name", "api", "reason", "rate")
	requireValue(t, e, 2, "resilience_retry_retries_total", "name", "api")
	requireValue(t, e, 1, "resilience_retry_failed_calls_total", "name", "api", "reason", "attempts")
	requireValue(t, e, 1, "resilience_bulkhead_in_flight", "name", "api")
	requireValue(t, e, 0, "resilience_bulkhead_queue_depth", "name", "api")
	requireValue(t, e, 1, "resilience_bulkhead_rejections_total", "name", "api", "reason", "full")
	requireValue(t, e, 1, "resilience_deadline_timeouts_total", "name", "api")
	requireValue(t, e, 1, "resilience_deadline_pending", "name", "api")
}

func TestLintPasses(t *testing.T) {
	c := New()
	b, err := breaker.New(breaker.Config{})
	require.NoError(t, err)
	stop(t, b)
	pol, err := retry.New(retry.Config{})
	require.NoError(t, err)
	bh, err := bulkhead.New(bulkhead.Config{})
	require.NoError(t, err)
	stop(t, bh)
	lim, err := limit.New(limit.Config{PerSecond: 10})
	require.NoError(t, err)
	stop(t, lim)
	wd, err := deadline.New(deadline.Config{})
	require.NoError(t, err)
	stop(t, wd)
	fam, err := breaker.NewFamily[int](breaker.FamilyConfig{})
	require.NoError(t, err)
	stop(t, fam)
	require.NoError(t, c.Pipeline(&resilience.Pipeline{Name: "orders", Limiter: lim, Retry: pol, Breaker: b, Bulkhead: bh, Timer: wd}))
	require.NoError(t, c.Family("orders", fam))

	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)
	// Every descriptor is used, each series once: 10 per breaker, 5 per
	// family, 4 per limiter, 7 per retry policy, 7 per bulkhead, 4 per
	// watchdog.
	assert.Equal(t, 37, testutil.CollectAndCount(c))
	assert.Len(t, serve(t, c)(), len(metricset.All))
}
