package deadline

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfig(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		field  string
		shards int
	}{
		{"zero", Config{}, "", 0},
		{"rounded up", Config{Shards: 3}, "", 4},
		{"one", Config{Shards: 1}, "", 1},
		{"negative", Config{Shards: -1}, "Shards", 0},
		{"too many", Config{Shards: 1025}, "Shards", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			if tc.field != "" {
				var ce *ConfigError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tc.field, ce.Field)
				return
			}
			require.NoError(t, err)
			defer func() { require.NoError(t, s.Stop(context.Background())) }()
			if tc.shards != 0 {
				assert.Len(t, s.shards, tc.shards)
			}
		})
	}
}

// Many calls with random limits, some finishing in time and some not: each
// must end exactly at its own limit, in virtual time.
func TestSchedulerManyDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScheduler(t)
		r := rand.New(rand.NewPCG(1, 2))
		var wg sync.WaitGroup
		for i := range 500 {
			lim := Limit{Timeout: time.Duration(1+r.IntN(1000)) * time.Millisecond}
			work := time.Duration(r.IntN(1200)) * time.Millisecond
			start := time.Duration(r.IntN(300)) * time.Millisecond
			wg.Go(func() {
				time.Sleep(start)
				began := time.Now()
				err := s.Run(context.Background(), lim, func(ctx context.Context) error {
					select {
					case <-time.After(work):
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				})
				took := time.Since(began)
				if work < lim.Timeout {
					assert.NoError(t, err, "call %d", i)
					assert.Equal(t, work, took, "call %d", i)
				} else if work > lim.Timeout {
					assert.ErrorIs(t, err, ErrElapsed, "call %d", i)
					assert.Equal(t, lim.Timeout, took, "call %d ends at its limit", i)
				}
			})
		}
		wg.Wait()
		st := s.Stats()
		assert.Zero(t, st.Pending)
		assert.NotZero(t, st.Fired)
	})
}

// With real time and the race detector: many goroutines arming, disarming
// and firing at once. No timing is asserted, only outcomes.
func TestSchedulerConcurrent(t *testing.T) {
	s := newScheduler(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				lim := Limit{Timeout: time.Duration(1+(g+i)%3) * time.Millisecond}
				err := s.Run(context.Background(), lim, func(ctx context.Context) error {
					if i%4 == 0 {
						<-ctx.Done()
						return ctx.Err()
					}
					return nil
				})
				if i%4 == 0 || err != nil {
					// Real time: even a call that returns at once may be
					// descheduled past a 1ms limit on a loaded machine.
					assert.ErrorIs(t, err, ErrElapsed)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, s.Stats().Pending)
}

// Stop hands pending deadlines to runtime timers and refuses new calls.
func TestSchedulerStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{})
		require.NoError(t, err)
		started := make(chan struct{})
		done := make(chan error, 2)
		start := time.Now()
		go func() {
			done <- s.Run(context.Background(), Limit{Timeout: time.Second}, func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				return ctx.Err()
			})
		}()
		go func() {
			done <- s.Run(context.Background(), Limit{Timeout: time.Second}, func(ctx context.Context) error {
				time.Sleep(10 * time.Millisecond)
				return nil
			})
		}()
		<-started
		synctest.Wait()
		require.NoError(t, s.Stop(context.Background()))
		require.NoError(t, s.Stop(context.Background()), "Stop is idempotent")
		assert.Zero(t, s.Stats().Pending, "pending deadlines moved to runtime timers")

		err = s.Run(context.Background(), Limit{Timeout: time.Second}, func(context.Context) error {
			t.Error("a stopped scheduler must not run fn")
			return nil
		})
		require.ErrorIs(t, err, ErrStopped)

		results := []error{<-done, <-done}
		assert.NoError(t, results[0], "the short call finished in time")
		assert.ErrorIs(t, results[1], ErrElapsed, "the long call still elapsed")
		assert.Equal(t, time.Second, time.Since(start), "at its own limit")
	})
}

func TestSchedulerWakesForEarlierDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScheduler(t)
		var wg sync.WaitGroup
		wg.Go(func() {
			_ = s.Run(context.Background(), Limit{Timeout: time.Hour}, func(ctx context.Context) error {
				<-ctx.Done()
				return nil
			})
		})
		synctest.Wait()
		start := time.Now()
		err := s.Run(context.Background(), Limit{Timeout: time.Millisecond}, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		require.ErrorIs(t, err, ErrElapsed)
		assert.Equal(t, time.Millisecond, time.Since(start), "the sweeper woke early for the shorter limit")
		wg.Wait()
	})
}

// The hot path: a stream of calls with the same limit that finish at once
// must not message the actor once per call.
func TestSchedulerQuietHotPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScheduler(t)
		lim := Limit{Timeout: time.Second}
		for range 1000 {
			require.NoError(t, s.Run(context.Background(), lim, fast))
			synctest.Wait() // let the actor handle whatever was sent
		}
		assert.LessOrEqual(t, s.actor.Handled(), uint64(1), "one wake-up for the whole stream")
		time.Sleep(2 * time.Second)
		assert.LessOrEqual(t, s.actor.Handled(), uint64(2), "then idle: one timer, no ticking")
	})
}

func TestNilScheduler(t *testing.T) {
	var s *Scheduler
	assert.NoError(t, s.Stop(context.Background()))
	assert.Equal(t, Stats{}, s.Stats())
}

func TestSchedulerDone(t *testing.T) {
	s, err := New(Config{})
	require.NoError(t, err)
	select {
	case <-s.Done():
		t.Fatal("Done closed while running")
	default:
	}
	require.NoError(t, s.Stop(context.Background()))
	<-s.Done()
	assert.NoError(t, s.Err())
}
