package bulkhead_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/bulkhead"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustNew(t *testing.T, cfg bulkhead.Config) *bulkhead.Bulkhead {
	t.Helper()
	b, err := bulkhead.New(cfg)
	require.NoError(t, err)
	return b
}

func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name  string
		cfg   bulkhead.Config
		field string
	}{
		{"negative concurrency", bulkhead.Config{MaxConcurrent: -1}, "bulkhead.Config.MaxConcurrent"},
		{"negative queue", bulkhead.Config{MaxQueue: -1}, "bulkhead.Config.MaxQueue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bulkhead.New(tt.cfg)
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
		})
	}
}

func TestAFullBulkheadRefusesAtOnce(t *testing.T) {
	b := mustNew(t, bulkhead.Config{Name: "db", MaxConcurrent: 2})
	d1, err := b.Allow(context.Background())
	require.NoError(t, err)
	d2, err := b.Allow(context.Background())
	require.NoError(t, err)

	_, err = b.Allow(context.Background())
	var re *resilience.RejectedError
	require.ErrorAs(t, err, &re)
	assert.ErrorIs(t, err, resilience.ErrFull)
	assert.Equal(t, "db", re.Name)
	assert.Equal(t, 2, b.Metrics().InFlight)

	d1(nil)
	d3, err := b.Allow(context.Background())
	require.NoError(t, err, "a freed slot admits the next call")
	d2(nil)
	d3(nil)
	m := b.Metrics()
	assert.Equal(t, bulkhead.Metrics{Limit: 2, Admitted: 3, Rejected: 1}, m)
}

func TestTheZeroConfigAdmitsTen(t *testing.T) {
	b := mustNew(t, bulkhead.Config{})
	assert.Equal(t, 10, b.Metrics().Limit)
}

func TestWaitersAreAdmittedInArrivalOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 3})
		hold, err := b.Allow(context.Background())
		require.NoError(t, err)

		var mu sync.Mutex
		var order []int
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				done, err := b.Allow(context.Background())
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				done(nil)
			})
			synctest.Wait() // waiter i is in line before waiter i+1 arrives
		}
		_, err = b.Allow(context.Background())
		require.ErrorIs(t, err, resilience.ErrFull, "the fourth waiter finds the queue full")
		assert.Equal(t, 3, b.Metrics().Queued)

		hold(nil)
		wg.Wait()
		assert.Equal(t, []int{0, 1, 2}, order)
		assert.Zero(t, b.Metrics().InFlight)
	})
}

func TestAWaiterLeavesWhenItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1})
		hold, err := b.Allow(context.Background())
		require.NoError(t, err)

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err = b.Allow(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
		m := b.Metrics()
		assert.Equal(t, uint64(1), m.Cancelled)
		assert.Zero(t, m.Queued, "the waiter is out of line")

		hold(nil)
		done, err := b.Allow(context.Background())
		require.NoError(t, err, "the abandoned place did not keep a slot")
		done(nil)
	})
}

func TestStopRefusesWaitersAndWaitsForCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 5})
		hold, err := b.Allow(context.Background())
		require.NoError(t, err)
		waited := make(chan error, 1)
		go func() {
			_, err := b.Allow(context.Background())
			waited <- err
		}()
		synctest.Wait()

		stopped := make(chan error, 1)
		go func() { stopped <- b.Stop(context.Background()) }()
		require.ErrorIs(t, <-waited, resilience.ErrStopped, "a waiter is answered when Stop begins")
		_, err = b.Allow(context.Background())
		require.ErrorIs(t, err, resilience.ErrStopped, "a new call is refused at once")

		synctest.Wait()
		select {
		case <-stopped:
			t.Fatal("Stop returned while a call was still running")
		default:
		}
		hold(nil)
		require.NoError(t, <-stopped)
		<-b.Done()
		require.NoError(t, b.Stop(context.Background()), "Stop is idempotent")

		require.NoError(t, b.Start(context.Background()))
		done, err := b.Allow(context.Background())
		require.NoError(t, err, "Start reopens a stopped bulkhead")
		done(nil)
	})
}

func TestStopIsBoundedByItsContextUnderLoad(t *testing.T) {
	// Real time: the callers spin, so a virtual clock would never advance.
	b := mustNew(t, bulkhead.Config{MaxConcurrent: 4, MaxQueue: 4})
	release := make(chan struct{})
	var calls, answered atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				calls.Add(1)
				err := b.Run(context.Background(), func(context.Context) error { <-release; return nil })
				answered.Add(1)
				if errors.Is(err, resilience.ErrStopped) {
					return
				}
			}
		})
	}
	for b.Metrics().InFlight < 4 {
		runtime.Gosched()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := b.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "four calls are still running, so Stop returns at its deadline")

	close(release)
	wg.Wait()
	require.NoError(t, b.Stop(context.Background()))
	assert.Zero(t, b.Metrics().InFlight)
	assert.Equal(t, calls.Load(), answered.Load(), "every call was answered")
}

func TestAPanicFreesItsSlot(t *testing.T) {
	b := mustNew(t, bulkhead.Config{MaxConcurrent: 1})
	require.PanicsWithValue(t, "boom", func() {
		_ = b.Run(context.Background(), func(context.Context) error { panic("boom") })
	})
	assert.Zero(t, b.Metrics().InFlight)
	require.NoError(t, b.Run(context.Background(), func(context.Context) error { return nil }))
}

func TestConcurrencyNeverExceedsTheLimit(t *testing.T) {
	const limit = 3
	b := mustNew(t, bulkhead.Config{MaxConcurrent: limit, MaxQueue: 100})
	var now, peak atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 200 {
				_ = b.Run(context.Background(), func(context.Context) error {
					n := now.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					now.Add(-1)
					return nil
				})
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, peak.Load(), int64(limit))
	m := b.Metrics()
	assert.Equal(t, uint64(32*200), m.Admitted+m.Rejected)
	assert.Zero(t, m.InFlight)
}

func TestInAPipelineTheBulkheadBoundsAttempts(t *testing.T) {
	b := mustNew(t, bulkhead.Config{MaxConcurrent: 1})
	p := &resilience.Pipeline{Bulkhead: b}
	err := p.Run(context.Background(), func(ctx context.Context) error {
		return p.Run(ctx, func(context.Context) error { return nil })
	})
	require.ErrorIs(t, err, resilience.ErrFull, "a second attempt while the first holds the only slot is refused")
	assert.Equal(t, resilience.Throttled, resilience.Classify(err))
}

func TestRunRefusesANilFunction(t *testing.T) {
	b := mustNew(t, bulkhead.Config{})
	var ce *resilience.ConfigError
	require.ErrorAs(t, b.Run(context.Background(), nil), &ce)
	assert.Equal(t, "fn", ce.Field)
	assert.Zero(t, b.Metrics().InFlight, "no slot is taken for a call that cannot run")
}
