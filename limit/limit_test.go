package limit_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustNew(t *testing.T, cfg limit.Config) *limit.Rate {
	t.Helper()
	r, err := limit.New(cfg)
	require.NoError(t, err)
	return r
}

func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name  string
		cfg   limit.Config
		field string
	}{
		{"zero rate", limit.Config{}, "limit.Config.PerSecond"},
		{"negative rate", limit.Config{PerSecond: -1}, "limit.Config.PerSecond"},
		{"NaN rate", limit.Config{PerSecond: math.NaN()}, "limit.Config.PerSecond"},
		{"infinite rate", limit.Config{PerSecond: math.Inf(1)}, "limit.Config.PerSecond"},
		{"rate above 1e9", limit.Config{PerSecond: 2e9}, "limit.Config.PerSecond"},
		{"rate too small", limit.Config{PerSecond: 1e-12}, "limit.Config.PerSecond"},
		{"negative burst", limit.Config{PerSecond: 1, Burst: -1}, "limit.Config.Burst"},
		{"burst with smooth", limit.Config{PerSecond: 1, Burst: 2, Smooth: true}, "limit.Config.Burst"},
		{"burst too long", limit.Config{PerSecond: 1e-6, Burst: math.MaxInt}, "limit.Config.Burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := limit.New(tt.cfg)
			assert.Nil(t, r)
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
			assert.NotEmpty(t, ce.Reason)
		})
	}
}

func TestDefaultsInMetrics(t *testing.T) {
	assert.Equal(t, 3, mustNew(t, limit.Config{PerSecond: 2.5}).Metrics().Burst)
	assert.Equal(t, 1, mustNew(t, limit.Config{PerSecond: 0.1}).Metrics().Burst)
	assert.Equal(t, 1, mustNew(t, limit.Config{PerSecond: 100, Smooth: true}).Metrics().Burst)
	assert.InDelta(t, 100.0, mustNew(t, limit.Config{PerSecond: 100}).Metrics().PerSecond, 1e-9)
}

func TestRefusalSaysWhenTheNextPermitComes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, limit.Config{Name: "api", PerSecond: 4, Burst: 1})
		done, err := r.Allow(context.Background())
		require.NoError(t, err)
		done(nil)
		time.Sleep(50 * time.Millisecond)
		_, err = r.Allow(context.Background())
		var re *resilience.RejectedError
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, limit.ErrLimited)
		assert.ErrorIs(t, err, resilience.ErrRejected)
		assert.Equal(t, "api", re.Name)
		assert.Equal(t, 200*time.Millisecond, re.RetryAfter())
		time.Sleep(re.RetryAfter())
		_, err = r.Allow(context.Background())
		require.NoError(t, err)
		m := r.Metrics()
		assert.Equal(t, uint64(2), m.Allowed)
		assert.Equal(t, uint64(1), m.Limited)
	})
}

func TestAdmittedAndRefusedCallsDoNotAllocate(t *testing.T) {
	r := mustNew(t, limit.Config{PerSecond: 1e9})
	ctx := context.Background()
	admitted := testing.AllocsPerRun(1000, func() {
		done, err := r.Allow(ctx)
		if err == nil {
			done(nil)
		}
	})
	assert.Zero(t, admitted)
	slow := mustNew(t, limit.Config{PerSecond: 1e-3})
	_, _ = slow.Allow(ctx)
	refused := testing.AllocsPerRun(1000, func() { _, _ = slow.Allow(ctx) })
	assert.Zero(t, refused)
}

func TestWaitTakesPermitsInTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, limit.Config{PerSecond: 10, Burst: 2})
		start := time.Now()
		for range 5 {
			require.NoError(t, r.Wait(context.Background()))
		}
		assert.Equal(t, 300*time.Millisecond, time.Since(start))
	})
}

func TestWaitRefusesAtOnceWhenThePermitComesAfterTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, limit.Config{PerSecond: 1, Burst: 1})
		require.NoError(t, r.Wait(context.Background()))
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := r.Wait(ctx)
		assert.Zero(t, time.Since(start), "must not wait")
		assert.ErrorIs(t, err, limit.ErrLimited)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var re *resilience.RejectedError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, time.Second, re.RetryAfter())
		// no permit was taken: the next one still comes after 1s
		require.NoError(t, r.Wait(context.Background()))
		assert.Equal(t, time.Second, time.Since(start))
	})
}

func TestWaitEndsWithItsContextAndGivesThePermitBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, limit.Config{PerSecond: 1, Burst: 1})
		require.NoError(t, r.Wait(context.Background()))
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- r.Wait(ctx) }()
		time.Sleep(100 * time.Millisecond)
		cancel()
		assert.ErrorIs(t, <-errc, context.Canceled)
		time.Sleep(900 * time.Millisecond)
		_, err := r.Allow(context.Background())
		assert.NoError(t, err, "the cancelled wait gave its permit back")
	})
}

func TestStopEndsWaitsAndRefusesLaterCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, limit.Config{PerSecond: 1, Burst: 1})
		require.NoError(t, r.Wait(context.Background()))
		errc := make(chan error, 1)
		go func() { errc <- r.Wait(context.Background()) }()
		synctest.Wait()
		require.NoError(t, r.Stop(context.Background()))
		assert.ErrorIs(t, <-errc, resilience.ErrStopped)
		<-r.Done()
		_, err := r.Allow(context.Background())
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.ErrorIs(t, r.Wait(context.Background()), resilience.ErrStopped)
		assert.ErrorIs(t, r.Run(context.Background(), func(context.Context) error { return nil }), resilience.ErrStopped)
		require.NoError(t, r.Stop(context.Background()))
		assert.NoError(t, r.Err())

		require.NoError(t, r.Start(context.Background()))
		time.Sleep(2 * time.Second)
		_, err = r.Allow(context.Background())
		assert.NoError(t, err)
	})
}

// N goroutines calling for a fixed virtual duration get at most
// burst + rate*duration permits, and no fewer than rate*duration.
func TestConcurrentCallersGetNoMoreThanTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const perSecond, burst, secs = 100, 10, 3
		r := mustNew(t, limit.Config{PerSecond: perSecond, Burst: burst})
		var got atomic.Int64
		var wg sync.WaitGroup
		end := time.Now().Add(secs * time.Second)
		for range 16 {
			wg.Go(func() {
				for time.Now().Before(end) {
					if _, err := r.Allow(context.Background()); err == nil {
						got.Add(1)
					}
					time.Sleep(time.Millisecond)
				}
			})
		}
		wg.Wait()
		assert.LessOrEqual(t, got.Load(), int64(burst+perSecond*secs))
		assert.GreaterOrEqual(t, got.Load(), int64(perSecond*secs))
		m := r.Metrics()
		assert.Equal(t, uint64(got.Load()), m.Allowed)
	})
}

func TestConcurrentWaitersAreSpacedByTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, limit.Config{PerSecond: 10, Smooth: true})
		start := time.Now()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { assert.NoError(t, r.Wait(context.Background())) })
		}
		wg.Wait()
		assert.Equal(t, 1900*time.Millisecond, time.Since(start))
	})
}

func TestPipelineTakesOnePermitPerLogicalCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, limit.Config{PerSecond: 1, Burst: 2})
		pol, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Millisecond})
		require.NoError(t, err)
		p := &resilience.Pipeline{Limiter: r, Retry: pol}
		boom := errors.New("boom")
		attempts := 0
		err = p.Run(context.Background(), func(context.Context) error { attempts++; return boom })
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, 3, attempts)
		assert.NoError(t, p.Run(context.Background(), func(context.Context) error { return nil }))
		err = p.Run(context.Background(), func(context.Context) error { return nil })
		assert.ErrorIs(t, err, limit.ErrLimited)
		assert.Equal(t, uint64(2), r.Metrics().Allowed)
	})
}

func TestRunRefusesANilFunction(t *testing.T) {
	r := mustNew(t, limit.Config{PerSecond: 1})
	var ce *resilience.ConfigError
	assert.ErrorAs(t, r.Run(context.Background(), nil), &ce)
}

// With no refill to speak of, concurrent callers share exactly Burst
// permits: a lost update in the compare-and-swap would admit more.
func TestConcurrentCallersShareExactlyTheBurst(t *testing.T) {
	const burst = 1000
	r := mustNew(t, limit.Config{PerSecond: 1e-3, Burst: burst})
	var got atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				if _, err := r.Allow(context.Background()); err == nil {
					got.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(burst), got.Load())
	m := r.Metrics()
	assert.Equal(t, uint64(burst), m.Allowed)
	assert.Equal(t, uint64(8*500-burst), m.Limited)
}

func TestReserveSaysHowLongToWaitAndCancelGivesThePermitBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, limit.Config{PerSecond: 4, Burst: 1})
		d, _, err := r.Reserve()
		require.NoError(t, err)
		assert.Zero(t, d)
		d, _, err = r.Reserve()
		require.NoError(t, err)
		assert.Equal(t, 250*time.Millisecond, d)
		d, cancel, err := r.Reserve()
		require.NoError(t, err)
		assert.Equal(t, 500*time.Millisecond, d)
		cancel()
		cancel()
		d, _, err = r.Reserve()
		require.NoError(t, err)
		assert.Equal(t, 500*time.Millisecond, d, "the cancelled permit was given back once")

		require.NoError(t, r.Stop(context.Background()))
		_, cancel, err = r.Reserve()
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.Nil(t, cancel)
	})
}
