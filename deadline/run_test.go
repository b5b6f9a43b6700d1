package deadline

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

var errBoom = errors.New("boom")

func TestRunOutcomes(t *testing.T) {
	lim := limit{Op: "search", Timeout: 100 * time.Millisecond}
	cases := []struct {
		name    string
		fn      func(ctx context.Context) error
		took    time.Duration // virtual time Run takes
		slack   time.Duration // the sweep and the poll may wake at the same instant in either order
		want    error         // errors.Is target
		elapsed bool          // want an *resilience.TimeoutError
	}{
		{"fast success", func(context.Context) error { return nil }, 0, 0, nil, false},
		{"own error", func(context.Context) error { return errBoom }, 0, 0, errBoom, false},
		{"slow but in time", func(context.Context) error { time.Sleep(99 * time.Millisecond); return nil }, 99 * time.Millisecond, 0, nil, false},
		{"honours its context", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, lim.Timeout, 0, resilience.ErrTimeout, true},
		{"polls Err", func(ctx context.Context) error {
			for ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			return ctx.Err()
		}, lim.Timeout, time.Millisecond, context.DeadlineExceeded, true},
		{"ignores its context: Run waits", func(ctx context.Context) error { time.Sleep(time.Second); return ctx.Err() }, time.Second, 0, resilience.ErrTimeout, true},
		{"late success is a success", func(context.Context) error { time.Sleep(time.Second); return nil }, time.Second, 0, nil, false},
		{"late own error kept", func(ctx context.Context) error { <-ctx.Done(); return errBoom }, lim.Timeout, 0, errBoom, true},
	}
	for _, tm := range timerCases {
		for _, tc := range cases {
			t.Run(tm.name+"/"+tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					s := tm.new(t)
					start := time.Now()
					err := run(context.Background(), s, lim, tc.fn)
					took := time.Since(start)
					assert.True(t, took >= tc.took && took <= tc.took+tc.slack, "Run returns when fn returns: took %v, want %v", took, tc.took)
					if tc.want == nil {
						require.NoError(t, err)
					} else {
						require.ErrorIs(t, err, tc.want)
					}
					var ee *resilience.TimeoutError
					require.Equal(t, tc.elapsed, errors.As(err, &ee), "only a call that outran its limit is a TimeoutError: %v", err)
					if tc.elapsed {
						assert.ErrorIs(t, err, resilience.ErrTimeout)
						assert.ErrorIs(t, err, context.DeadlineExceeded)
						assert.Equal(t, "search", ee.Op)
						assert.Equal(t, lim.Timeout, ee.Limit)
						assert.Contains(t, err.Error(), "search")
						assert.Contains(t, err.Error(), "100ms")
					}
				})
			})
		}
	}
}

func TestRunContext(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tm.new(t)
				type key struct{}
				parent := context.WithValue(context.Background(), key{}, "v")
				var inner context.Context
				start := time.Now()
				err := run(parent, s, limit{Timeout: time.Second}, func(ctx context.Context) error {
					inner = ctx
					dl, ok := ctx.Deadline()
					assert.True(t, ok)
					assert.Equal(t, start.Add(time.Second), dl)
					assert.Equal(t, "v", ctx.Value(key{}), "values pass through")
					assert.NoError(t, ctx.Err())
					return nil
				})
				require.NoError(t, err)
				assert.ErrorIs(t, inner.Err(), context.Canceled, "the context ends when Run returns")
				select {
				case <-inner.Done():
				default:
					t.Fatal("Done must be closed after Run returns")
				}
			})
		})
	}
}

func TestRunParentEndsFirst(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name+"/cancel", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tm.new(t)
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(10*time.Millisecond, cancel)
				err := run(ctx, s, limit{Timeout: time.Second}, func(ctx context.Context) error {
					<-ctx.Done()
					return ctx.Err()
				})
				require.ErrorIs(t, err, context.Canceled)
				assert.NotErrorIs(t, err, resilience.ErrTimeout, "the caller's cancellation is not our limit")
			})
		})
		t.Run(tm.name+"/parent deadline", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tm.new(t)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
				defer cancel()
				err := run(ctx, s, limit{Timeout: time.Second}, func(inner context.Context) error {
					dl, _ := inner.Deadline()
					want, _ := ctx.Deadline()
					assert.Equal(t, want, dl, "the earlier deadline wins")
					<-inner.Done()
					return inner.Err()
				})
				require.ErrorIs(t, err, context.DeadlineExceeded)
				assert.NotErrorIs(t, err, resilience.ErrTimeout, "the caller's own deadline is not our limit")
			})
		})
		t.Run(tm.name+"/poll", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tm.new(t)
				ctx, cancel := context.WithCancel(context.Background())
				err := run(ctx, s, limit{Timeout: time.Second}, func(inner context.Context) error {
					require.NoError(t, inner.Err())
					cancel()
					return inner.Err()
				})
				require.ErrorIs(t, err, context.Canceled, "Err sees the parent's end without Done being called")
			})
		})
	}
}

// A non-positive limit gives an already expired context, as
// context.WithTimeout does; a nil fn is a ConfigError.
func TestRunBadInput(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tm.new(t)
				for _, d := range []time.Duration{0, -time.Second} {
					ctx, cancel := s.WithTimeout(context.Background(), d)
					assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded, "limit %v", d)
					<-ctx.Done()
					cancel()
				}
				var ce *resilience.ConfigError
				require.ErrorAs(t, run(context.Background(), s, limit{Timeout: time.Second}, nil), &ce)
				assert.Equal(t, "fn", ce.Field)
				assert.Zero(t, s.Metrics().Pending)
			})
		})
	}
}

func TestRunHugeLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		err := run(context.Background(), s, limit{Timeout: time.Duration(1<<63 - 1)}, func(ctx context.Context) error {
			dl, ok := ctx.Deadline()
			assert.True(t, ok)
			assert.True(t, dl.After(time.Now().Add(100*365*24*time.Hour)), "a huge limit must not wrap around: %v", dl)
			return ctx.Err()
		})
		require.NoError(t, err)
	})
}

func TestRunPanic(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tm.new(t)
				var inner context.Context
				require.PanicsWithValue(t, "kaboom", func() {
					_ = run(context.Background(), s, limit{Timeout: time.Second}, func(ctx context.Context) error {
						inner = ctx
						panic("kaboom")
					})
				})
				assert.ErrorIs(t, inner.Err(), context.Canceled, "the timer is released on panic")
				if s != nil {
					assert.Zero(t, s.Metrics().Pending)
				}
			})
		})
	}
}

func TestDo(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tm.new(t)
				lim := limit{Op: "answer", Timeout: time.Second}
				p := pipeline(s, lim)
				v, err := resilience.Do(context.Background(), p, func(context.Context) (int, error) { return 42, nil })
				require.NoError(t, err)
				assert.Equal(t, 42, v)

				v, err = resilience.Do(context.Background(), p, func(context.Context) (int, error) { return 7, errBoom })
				assert.ErrorIs(t, err, errBoom)
				assert.Equal(t, 7, v, "fn's value comes with its error")

				v, err = resilience.Do(context.Background(), p, func(ctx context.Context) (int, error) {
					<-ctx.Done()
					return 13, ctx.Err()
				})
				assert.ErrorIs(t, err, resilience.ErrTimeout)
				assert.Equal(t, 13, v, "a late value comes with the timeout")

				// An ErrTimeout from a nested call is fn's own error, not ours.
				nested := &resilience.TimeoutError{Op: "inner", Limit: time.Millisecond}
				v, err = resilience.Do(context.Background(), p, func(context.Context) (int, error) { return 5, nested })
				assert.Same(t, nested, err)
				assert.Equal(t, 5, v)
			})
		})
	}
}

func TestTimeoutErrorNamesOpAndLimit(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				err := run(context.Background(), tm.new(t), limit{Op: "op", Timeout: time.Millisecond}, func(ctx context.Context) error {
					<-ctx.Done()
					return ctx.Err()
				})
				require.ErrorIs(t, err, resilience.ErrTimeout)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Equal(t, "resilience: op timed out after 1ms", err.Error())
			})
		})
	}
}
