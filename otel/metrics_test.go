package otelresilience

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// collected is one collection of a ManualReader.
type collected map[string]metricdata.Aggregation

func collect(t *testing.T, r *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := collected{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// value returns the data point of metric name whose attributes include
// kv (key, value pairs), and whether it is a monotonic sum (a counter).
func (c collected) value(t *testing.T, name string, kv ...string) (v float64, counter bool) {
	t.Helper()
	match := func(set attribute.Set) bool {
		for i := 0; i+1 < len(kv); i += 2 {
			if got, ok := set.Value(attribute.Key(kv[i])); !ok || got.AsString() != kv[i+1] {
				return false
			}
		}
		return true
	}
	switch d := c[name].(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				return float64(p.Value), d.IsMonotonic
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				return float64(p.Value), false
			}
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				return p.Value, false
			}
		}
	}
	t.Fatalf("no data point %s%v in %T", name, kv, c[name])
	return 0, false
}

func newReader(t *testing.T) (*sdkmetric.ManualReader, *Instruments) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { require.NoError(t, mp.Shutdown(context.Background())) })
	in, err := NewInstruments(mp.Meter("github.com/llm-research-lab/resilience"))
	require.NoError(t, err)
	return r, in
}

func stop(t *testing.T, c interface{ Stop(context.Context) error }) {
	t.Cleanup(func() { require.NoError(t, c.Stop(context.Background())) })
}

func TestInstrumentsReadEveryKind(t *testing.T) {
	ctx := context.Background()
	r, in := newReader(t)

	b, err := breaker.New(breaker.Config{FailureThreshold: 1})
	require.NoError(t, err)
	stop(t, b)
	pol, err := retry.New(retry.Config{MaxAttempts: 2, Delay: func(int, error, time.Duration) time.Duration { return 0 }})
	require.NoError(t, err)
	lim, err := limit.New(limit.Config{PerSecond: 0.5, Burst: 1})
	require.NoError(t, err)
	stop(t, lim)
	bh, err := bulkhead.New(bulkhead.Config{MaxConcurrent: 3})
	require.NoError(t, err)
	stop(t, bh)
	wd, err := deadline.New(deadline.Config{})
	require.NoError(t, err)
	stop(t, wd)
	fam, err := breaker.NewFamily[string](breaker.FamilyConfig{})
	require.NoError(t, err)
	stop(t, fam)
	_, _ = fam.For("a")

	p := &resilience.Pipeline{Name: "payments", Limiter: lim, Retry: pol, Breaker: b, Bulkhead: bh, Timer: wd}
	require.NoError(t, in.Pipeline(p))
	require.NoError(t, in.Family("hosts", fam))

	boom := errors.New("boom")
	err = p.Run(ctx, func(context.Context) error { return boom })
	require.ErrorIs(t, err, resilience.ErrOpen, "the first failure opens the breaker; the retry is refused")
	require.ErrorIs(t, p.Run(ctx, func(context.Context) error { return nil }), resilience.ErrRejected, "over the rate")

	c := collect(t, r)
	v, counter := c.value(t, "resilience.breaker.state", "name", "payments")
	assert.Equal(t, 1.0, v)
	assert.False(t, counter)
	v, counter = c.value(t, "resilience.breaker.calls", "name", "payments", "result", "failure")
	assert.Equal(t, 1.0, v)
	assert.True(t, counter)
	v, _ = c.value(t, "resilience.breaker.rejections", "name", "payments", "reason", "open")
	assert.Equal(t, 1.0, v)
	v, _ = c.value(t, "resilience.retry.retries", "name", "payments")
	assert.Equal(t, 1.0, v)
	v, _ = c.value(t, "resilience.retry.failed_calls", "name", "payments", "reason", "attempts")
	assert.Equal(t, 1.0, v)
	v, _ = c.value(t, "resilience.limiter.rate", "name", "payments")
	assert.Equal(t, 0.5, v)
	v, _ = c.value(t, "resilience.limiter.rejections", "name", "payments", "reason", "rate")
	assert.Equal(t, 1.0, v)
	v, _ = c.value(t, "resilience.bulkhead.limit", "name", "payments")
	assert.Equal(t, 3.0, v)
	v, _ = c.value(t, "resilience.bulkhead.admitted", "name", "payments")
	assert.Equal(t, 1.0, v, "the refused retry took no bulkhead slot")
	v, _ = c.value(t, "resilience.breaker_family.keys", "name", "hosts")
	assert.Equal(t, 1.0, v)
	_, _ = c.value(t, "resilience.deadline.pending", "name", "payments")

	in.Remove("payments")
	c = collect(t, r)
	assert.NotContains(t, c, "resilience.breaker.state", "nothing reports a breaker any more")
	require.NoError(t, in.Unregister())
	assert.Empty(t, collect(t, r))
}

func TestInstrumentsRejectBadInput(t *testing.T) {
	_, in := newReader(t)
	pol, err := retry.New(retry.Config{})
	require.NoError(t, err)
	var nilFamily *breaker.Family[int]
	for _, err := range []error{
		in.Breaker("x", nil), in.Family("x", nilFamily), in.Limiter("x", nil), in.Retry("x", nil),
		in.Bulkhead("x", nil), in.Watchdog("x", nil), in.Pipeline(nil), in.Retry("", pol),
		in.Retry("\xff", pol),
	} {
		var ce *resilience.ConfigError
		assert.ErrorAs(t, err, &ce)
	}
	require.NoError(t, in.Retry("x", pol))
	var ce *resilience.ConfigError
	require.ErrorAs(t, in.Retry("x", pol), &ce)
	assert.Equal(t, "name", ce.Field)
	_, err = NewInstruments(nil)
	require.ErrorAs(t, err, &ce)
}
