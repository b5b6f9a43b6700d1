package promresilience

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func configField(t *testing.T, err error) string {
	t.Helper()
	var ce *resilience.ConfigError
	require.ErrorAs(t, err, &ce)
	return ce.Field
}

func TestRegisterRejectsBadInput(t *testing.T) {
	c := New()
	pol, err := retry.New(retry.Config{})
	require.NoError(t, err)
	var nilFamily *breaker.Family[string]

	assert.Equal(t, "breaker", configField(t, c.Breaker("x", nil)))
	assert.Equal(t, "family", configField(t, c.Family("x", nilFamily)))
	assert.Equal(t, "family", configField(t, c.Family("x", nil)))
	assert.Equal(t, "retry", configField(t, c.Retry("x", nil)))
	assert.Equal(t, "limiter", configField(t, c.Limiter("x", nil)))
	assert.Equal(t, "bulkhead", configField(t, c.Bulkhead("x", nil)))
	assert.Equal(t, "watchdog", configField(t, c.Watchdog("x", nil)))
	assert.Equal(t, "pipeline", configField(t, c.Pipeline(nil)))
	assert.Equal(t, "name", configField(t, c.Retry("", pol)))
	assert.Equal(t, "name", configField(t, c.Retry("\xff", pol)))
	assert.Equal(t, "name", configField(t, c.Pipeline(&resilience.Pipeline{})))

	require.NoError(t, c.Retry("api", pol))
	err = c.Retry("api", pol)
	assert.Equal(t, "name", configField(t, err))
	assert.Contains(t, err.Error(), `"api" is already registered for a retry`)
	assert.Equal(t, 7, testutil.CollectAndCount(c))
}

func TestPipelineAddsAllOrNone(t *testing.T) {
	c := New()
	pol, err := retry.New(retry.Config{})
	require.NoError(t, err)
	b, err := breaker.New(breaker.Config{})
	require.NoError(t, err)
	stop(t, b)
	require.NoError(t, c.Breaker("orders", b))

	err = c.Pipeline(&resilience.Pipeline{Name: "orders", Retry: pol, Breaker: b})
	assert.Equal(t, "name", configField(t, err))
	assert.Equal(t, 10, testutil.CollectAndCount(c), "the retry policy was not added either")

	c.Remove("orders")
	assert.Zero(t, testutil.CollectAndCount(c))
	require.NoError(t, c.Pipeline(&resilience.Pipeline{Name: "orders", Retry: pol, Breaker: b}))
	assert.Equal(t, 17, testutil.CollectAndCount(c))
}

// Components come and go while a registry scrapes: no race, no torn
// scrape, and every scrape lints clean.
func TestRegisterWhileScraping(t *testing.T) {
	c := New()
	scrape := serve(t, c)
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 50 {
			pol, err := retry.New(retry.Config{})
			if !assert.NoError(t, err) {
				return
			}
			name := "p" + strconv.Itoa(i%5)
			_ = pol.Run(ctx, func(context.Context) error { return nil })
			if c.Retry(name, pol) != nil {
				c.Remove(name)
			}
		}
	})
	for range 20 {
		e := scrape()
		n := e.series("resilience_retry_retries_total")
		assert.LessOrEqual(t, n, 5)
		assert.Equal(t, 4*n, e.series("resilience_retry_failed_calls_total"))
	}
	wg.Wait()
}

func TestZeroCollectorWorks(t *testing.T) {
	var c Collector
	pol, err := retry.New(retry.Config{})
	require.NoError(t, err)
	require.NoError(t, c.Retry("api", pol))
	assert.Equal(t, 7, testutil.CollectAndCount(&c))
}
