package deadline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

func TestConfig(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"zero", Config{}, ""},
		{"rounded up", Config{Shards: 3}, ""},
		{"max", Config{Shards: 1024}, ""},
		{"negative", Config{Shards: -1}, "deadline.Config.Shards"},
		{"too many", Config{Shards: 1025}, "deadline.Config.Shards"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := New(tc.cfg)
			if tc.field != "" {
				var ce *resilience.ConfigError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tc.field, ce.Field)
				assert.Nil(t, w)
				return
			}
			require.NoError(t, err)
			require.NoError(t, w.Stop(context.Background()))
		})
	}
}

// Many calls with random limits, some finishing in time and some not: each
// must end exactly at its own limit, in virtual time.
func TestWatchdogManyDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		r := rand.New(rand.NewPCG(1, 2))
		var wg sync.WaitGroup
		for i := range 500 {
			wg.Go(randomCall(t, s, r, 1000, 1200, 300, fmt.Sprint("call ", i)))
		}
		wg.Wait()
		st := s.Metrics()
		assert.Zero(t, st.Pending)
		assert.NotZero(t, st.Fired)
	})
}

// With real time and the race detector: many goroutines arming, disarming
// and firing at once. No timing is asserted, only outcomes.
func TestWatchdogConcurrent(t *testing.T) {
	s := newWatchdog(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() { callMix(t, s, g, 300, 3, 4) })
	}
	wg.Wait()
	assert.Zero(t, s.Metrics().Pending)
}

// Stop refuses new abandonable calls; contexts in flight keep their
// limits, and WithTimeout keeps working for callers still shutting down.
func TestWatchdogStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{Name: "wd"})
		require.NoError(t, err)
		started := make(chan struct{})
		done := make(chan error, 2)
		start := time.Now()
		go func() {
			done <- run(context.Background(), s, limit{Timeout: time.Second}, func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				return ctx.Err()
			})
		}()
		go func() {
			done <- run(context.Background(), s, limit{Timeout: time.Second}, func(ctx context.Context) error {
				time.Sleep(10 * time.Millisecond)
				return nil
			})
		}()
		<-started
		synctest.Wait()
		require.NoError(t, s.Stop(context.Background()))
		require.NoError(t, s.Stop(context.Background()), "Stop is idempotent")
		<-s.Done()

		err = s.RunOrAbandon(context.Background(), "op", time.Second, func(context.Context) error {
			t.Error("a stopped watchdog must not run fn")
			return nil
		})
		require.ErrorIs(t, err, resilience.ErrStopped)
		require.ErrorIs(t, err, resilience.ErrRejected)
		var re *resilience.RejectedError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "wd", re.Name)

		err = run(context.Background(), s, limit{Op: "late", Timeout: 5 * time.Second}, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		require.ErrorIs(t, err, resilience.ErrTimeout, "a stopped watchdog still times contexts")

		results := []error{<-done, <-done}
		assert.NoError(t, results[0], "the short call finished in time")
		assert.ErrorIs(t, results[1], resilience.ErrTimeout, "the long call still elapsed")
		assert.Equal(t, 5*time.Second, time.Since(start), "the late call at its own limit")
		assert.Zero(t, s.Metrics().Pending)
	})
}

func TestWatchdogWakesForEarlierDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		var wg sync.WaitGroup
		wg.Go(func() {
			_ = run(context.Background(), s, limit{Timeout: time.Hour}, func(ctx context.Context) error {
				<-ctx.Done()
				return nil
			})
		})
		synctest.Wait()
		start := time.Now()
		err := run(context.Background(), s, limit{Timeout: time.Millisecond}, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, time.Millisecond, time.Since(start), "the timer fired early for the shorter limit")
		wg.Wait()
	})
}

func TestNilWatchdog(t *testing.T) {
	var w *Watchdog
	assert.NoError(t, w.Stop(context.Background()))
	assert.Equal(t, Metrics{}, w.Metrics())
	ctx, cancel := w.WithTimeout(context.Background(), time.Hour)
	assert.NoError(t, ctx.Err())
	cancel()
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "a nil Watchdog times on the shared timer")
}

// component is lifecycle.Component, spelled out: a Watchdog satisfies it
// without importing lifecycle.
type component interface {
	Start(context.Context) error
	Stop(context.Context) error
	Done() <-chan struct{}
	Err() error
}

var _ component = (*Watchdog)(nil)

// The component contract: Start is a no-op while running, Done closes on
// Stop, Err stays nil, and a stopped watchdog can be started again.
func TestWatchdogComponent(t *testing.T) {
	w, err := New(Config{})
	require.NoError(t, err)
	require.NoError(t, w.Start(context.Background()))
	select {
	case <-w.Done():
		t.Fatal("Done closed while running")
	default:
	}
	require.NoError(t, w.Stop(context.Background()))
	<-w.Done()
	assert.NoError(t, w.Err())
	require.NoError(t, w.Start(context.Background()), "restart after a clean stop")
	require.NoError(t, w.RunOrAbandon(context.Background(), "op", time.Second, fast))
	require.NoError(t, w.Stop(context.Background()))
}

// callMix makes n calls through w (nil: the shared timer) with limits of 1
// to kinds milliseconds, starting the cycle of limits at start; every
// every-th call waits for its limit, and must end with ErrTimeout. Real
// time: even a call that returns at once may be descheduled past a 1ms
// limit on a loaded machine, so any call that fails must have timed out.
func callMix(t *testing.T, w *Watchdog, start, n, kinds, every int) {
	for i := range n {
		lim := limit{Timeout: time.Duration(1+(start+i)%kinds) * time.Millisecond}
		err := run(context.Background(), w, lim, func(ctx context.Context) error {
			if i%every == 0 {
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		})
		if i%every == 0 || err != nil {
			assert.ErrorIs(t, err, resilience.ErrTimeout)
		}
	}
}
