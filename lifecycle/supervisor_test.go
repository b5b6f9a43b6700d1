package lifecycle

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartInOrderStopInReverse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		s, err := New(Config{Name: "app"}, ps.spec("a", Permanent), ps.spec("b", Permanent), ps.spec("c", Permanent))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		require.NoError(t, s.Stop(t.Context()))
		assert.Equal(t, []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}, ps.log.all())
		<-s.Done()
		assert.NoError(t, s.Err())
		assert.NoError(t, s.Stop(t.Context()), "a second Stop is harmless")
	})
}

func TestStartFailureRollsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		ps.tune["c"] = func(p *probe) { p.startErr = errBoom }
		s, err := New(Config{Name: "app"}, ps.spec("a", Permanent), ps.spec("b", Permanent), ps.spec("c", Permanent), ps.spec("d", Permanent))
		require.NoError(t, err)
		err = s.Start(t.Context())
		var ce *ComponentError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "start", ce.Op)
		assert.Equal(t, "app/c", ce.Name, "the error names the failing child")
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, []string{"start a", "start b", "stop b", "stop a"}, ps.log.all())
		<-s.Done()
	})
}

func TestStartTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		ps.tune["slow"] = func(p *probe) { p.startDelay = time.Hour }
		sp := ps.spec("slow", Permanent)
		sp.StartTimeout = time.Second
		s, err := New(Config{Name: "app"}, ps.spec("a", Permanent), sp)
		require.NoError(t, err)
		begin := time.Now()
		err = s.Start(t.Context())
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "app/slow")
		assert.Equal(t, time.Second, time.Since(begin))
	})
}

func TestHangingChildIsAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		release := make(chan struct{})
		ps.tune["stuck"] = func(p *probe) { p.hang = release }
		stuck := ps.spec("stuck", Permanent)
		stuck.StopTimeout = 2 * time.Second
		s, err := New(Config{Name: "app"}, ps.spec("a", Permanent), stuck, ps.spec("c", Permanent))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))

		begin := time.Now()
		err = s.Stop(t.Context())
		assert.Equal(t, 2*time.Second, time.Since(begin), "only the stuck child's timeout is spent")
		var te *TimeoutError
		require.ErrorAs(t, err, &te)
		assert.ErrorIs(t, err, ErrShutdownTimeout)
		assert.Equal(t, []Abandoned{{Name: "stuck", Path: "app/stuck", Given: 2 * time.Second}}, te.Abandoned)
		assert.Equal(t, []string{"start a", "start stuck", "start c", "stop c", "stop stuck", "stop a"}, ps.log.all(),
			"the rest still stop after an abandoned child")
		close(release) // let the abandoned Stop return, for the leak check
	})
}

func TestStopContextBoundsEveryChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		for _, n := range []string{"a", "b"} {
			ps.tune[n] = func(p *probe) { p.stopDelay = 3 * time.Second }
		}
		s, err := New(Config{Name: "app"}, ps.spec("a", Permanent), ps.spec("b", Permanent))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
		defer cancel()
		begin := time.Now()
		err = s.Stop(ctx)
		assert.Equal(t, 4*time.Second, time.Since(begin))
		var te *TimeoutError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, []Abandoned{{Name: "a", Path: "app/a", Given: time.Second}}, te.Abandoned)
	})
}

// crasher is an actor behaviour that panics on "crash" and counts starts.
func crasher(starts *atomic.Int32) func() actor.Behavior[string] {
	return func() actor.Behavior[string] {
		starts.Add(1)
		return actor.Func[string](func(_ *actor.Self[string], msg string) {
			if msg == "crash" {
				panic("crash requested")
			}
		})
	}
}

func TestActorPanicIsRestartedAfterBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		var current atomic.Pointer[actor.Actor[string]]
		s, err := New(Config{Name: "app", Backoff: time.Second},
			Spec{Name: "worker", New: Spawner(actor.Config{Name: "worker"}, crasher(&starts), current.Store)})
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		first := current.Load()

		require.NoError(t, first.Tell("crash"))
		<-first.Done()
		synctest.Wait()
		assert.Equal(t, int32(1), starts.Load(), "not restarted before the backoff")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, int32(2), starts.Load(), "restarted after the backoff")
		assert.NotSame(t, first, current.Load())

		st, err := s.Children(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, st[0].Restarts)
		var pe *resilience.PanicError
		assert.ErrorAs(t, st[0].LastErr, &pe, "the panic is the exit error")
		require.NoError(t, s.Stop(t.Context()))
	})
}

func TestIntensityExceededFailsUpward(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		var current atomic.Pointer[actor.Actor[string]]
		inner := Sub(Config{Name: "inner", MaxRestarts: 2, Period: time.Minute, Backoff: -1},
			Spec{Name: "worker", New: Spawner(actor.Config{}, crasher(&starts), current.Store)})
		ps := newProbes()
		root, err := New(Config{Name: "root", Backoff: -1}, ps.spec("first", Permanent), inner)
		require.NoError(t, err)
		require.NoError(t, root.Start(t.Context()))

		// Crash the worker three times: the inner supervisor allows two
		// restarts, gives up on the third and the root restarts it.
		for range 3 {
			a := current.Load()
			require.NoError(t, a.Tell("crash"))
			<-a.Done()
			synctest.Wait()
		}
		assert.Equal(t, int32(4), starts.Load(), "3 by the inner supervisor, then 1 by the fresh one")
		st, err := root.Children(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, st[1].Restarts, "the root restarted the inner supervisor once")
		assert.ErrorIs(t, st[1].LastErr, ErrTooManyRestarts)
		var ie *IntensityError
		require.ErrorAs(t, st[1].LastErr, &ie)
		assert.Equal(t, "root/inner", ie.Supervisor)
		assert.Equal(t, "root/inner/worker", ie.Child)
		var pe *resilience.PanicError
		assert.ErrorAs(t, st[1].LastErr, &pe, "the cause is visible through the intensity error")
		assert.Equal(t, 0, st[0].Restarts, "one-for-one leaves the sibling alone")
		require.NoError(t, root.Stop(t.Context()))
	})
}

func TestRootGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		s, err := New(Config{Name: "app", MaxRestarts: -1}, ps.spec("a", Permanent), ps.spec("b", Permanent))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		ps.get("b").exit(errBoom)
		<-s.Done()
		assert.ErrorIs(t, s.Err(), ErrTooManyRestarts)
		assert.ErrorIs(t, s.Err(), errBoom)
		assert.Equal(t, []string{"start a", "start b", "stop a"}, ps.log.all(), "the siblings are stopped")
		assert.NoError(t, s.Stop(t.Context()), "Stop after giving up reports the give-up stop")
	})
}

func TestRestartTypes(t *testing.T) {
	tests := []struct {
		name      string
		restart   Restart
		exitErr   error
		restarted bool
	}{
		{"permanent after clean exit", Permanent, nil, true},
		{"permanent after failure", Permanent, errBoom, true},
		{"transient after clean exit", Transient, nil, false},
		{"transient after failure", Transient, errBoom, true},
		{"temporary after failure", Temporary, errBoom, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ps := newProbes()
				s, err := New(Config{Name: "app"}, ps.spec("c", tt.restart))
				require.NoError(t, err)
				require.NoError(t, s.Start(t.Context()))
				ps.get("c").exit(tt.exitErr)
				time.Sleep(time.Minute)
				synctest.Wait()
				st, err := s.Children(t.Context())
				require.NoError(t, err)
				assert.Equal(t, tt.restarted, st[0].Running)
				assert.Equal(t, tt.restarted, st[0].Restarts == 1)
				require.NoError(t, s.Stop(t.Context()))
			})
		})
	}
}

func TestStrategiesWithRealChildren(t *testing.T) {
	tests := []struct {
		strategy Strategy
		want     []string
	}{
		{OneForOne, []string{"start b"}},
		{OneForAll, []string{"stop c", "stop a", "start a", "start b", "start c"}},
		{RestForOne, []string{"stop c", "start b", "start c"}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ps := newProbes()
				s, err := New(Config{Name: "app", Strategy: tt.strategy},
					ps.spec("a", Permanent), ps.spec("b", Permanent), ps.spec("c", Permanent))
				require.NoError(t, err)
				require.NoError(t, s.Start(t.Context()))
				ps.get("b").exit(errBoom)
				time.Sleep(time.Second)
				synctest.Wait()
				assert.Equal(t, tt.want, ps.log.all()[3:])
				require.NoError(t, s.Stop(t.Context()))
			})
		})
	}
}

func TestStartFailureDuringRestartIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		var builds atomic.Int32
		ps.tune["a"] = func(p *probe) {
			if n := builds.Add(1); n == 2 || n == 3 {
				p.startErr = errBoom // the first two restarts fail to start
			}
		}
		s, err := New(Config{Name: "app", MaxRestarts: 5, Backoff: time.Second}, ps.spec("a", Permanent))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		begin := time.Now()
		ps.get("a").exit(errBoom)
		for {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			if st, _ := s.Children(t.Context()); st[0].Running {
				break
			}
		}
		assert.Equal(t, 7*time.Second, time.Since(begin).Truncate(time.Second), "backoff 1s+2s+4s")
		require.NoError(t, s.Stop(t.Context()))
	})
}

func TestSupervisorMisuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{})
		require.NoError(t, err)
		assert.NoError(t, s.Stop(t.Context()), "stop before start")
		_, err = s.Children(t.Context())
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.ErrorIs(t, s.Start(t.Context()), ErrStopped, "start after stop")
		<-s.Done()

		s, err = New(Config{})
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		assert.ErrorIs(t, s.Start(t.Context()), ErrAlreadyStarted)
		require.NoError(t, s.Stop(t.Context()))
		assert.ErrorIs(t, s.Start(t.Context()), ErrAlreadyStarted)
	})
}

func TestSpecNewFailures(t *testing.T) {
	tests := []struct {
		name string
		new  func() (Child, error)
	}{
		{"error", func() (Child, error) { return nil, errBoom }},
		{"nil child", func() (Child, error) { return nil, nil }},
		{"panic", func() (Child, error) { panic("bad factory") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, err := New(Config{Name: "app"}, Spec{Name: "x", New: tt.new})
				require.NoError(t, err)
				err = s.Start(t.Context())
				assert.ErrorContains(t, err, "lifecycle: start app/x")
			})
		})
	}
}

func TestConfigValidation(t *testing.T) {
	ok := func() (Child, error) { return nil, nil }
	tests := []struct {
		name  string
		cfg   Config
		specs []Spec
		field string
	}{
		{"negative period", Config{Period: -1}, nil, "Period"},
		{"bad strategy", Config{Strategy: 9}, nil, "Strategy"},
		{"slash in name", Config{Name: "a/b"}, nil, "Name"},
		{"max below first backoff", Config{Backoff: time.Minute, MaxBackoff: time.Second}, nil, "MaxBackoff"},
		{"missing child name", Config{}, []Spec{{New: ok}}, "Spec[0].Name"},
		{"missing New", Config{}, []Spec{{Name: "a"}}, "Spec[0].New"},
		{"duplicate name", Config{}, []Spec{{Name: "a", New: ok}, {Name: "a", New: ok}}, "Spec[1].Name"},
		{"bad restart", Config{}, []Spec{{Name: "a", New: ok, Restart: 7}}, "Spec[0].Restart"},
		{"negative timeout", Config{}, []Spec{{Name: "a", New: ok, StopTimeout: -1}}, "Spec[0].StartTimeout/StopTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, tt.specs...)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
		})
	}
}

func TestFromFuncAndFromActor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		runs := make(chan struct{}, 10)
		var adopted atomic.Pointer[actor.Actor[int]]
		s, err := New(Config{Name: "app", Backoff: -1},
			Spec{Name: "loop", New: func() (Child, error) {
				return FromFunc(func(ctx context.Context) error {
					runs <- struct{}{}
					<-ctx.Done()
					return ctx.Err()
				}), nil
			}},
			Spec{Name: "adopted", New: func() (Child, error) {
				a, err := actor.Spawn(actor.Config{}, func() actor.Behavior[int] { return actor.Func[int](func(*actor.Self[int], int) { panic("no") }) })
				if err != nil {
					return nil, err
				}
				adopted.Store(a)
				return FromActor(a), nil
			}},
		)
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		first := adopted.Load()
		require.NoError(t, first.Tell(1))
		synctest.Wait()
		assert.NotSame(t, first, adopted.Load(), "the adopted actor's panic is seen through Done and it is replaced")
		assert.Len(t, runs, 1)
		require.NoError(t, s.Stop(t.Context()), "a cancelled run function is a clean stop")
	})
}

func TestFromFuncFailureAndPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := FromFunc(func(context.Context) error { panic(errBoom) })
		require.NoError(t, c.Start(t.Context()))
		<-c.Done()
		assert.ErrorIs(t, c.Err(), errBoom)
		assert.ErrorContains(t, c.Err(), "panic")
		assert.Error(t, FromFunc(nil).Start(t.Context()))
		assert.True(t, errors.Is(c.Stop(t.Context()), errBoom))
	})
}

func TestStartWithCancelledContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		s, err := New(Config{Name: "app"}, ps.spec("a", Permanent))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		assert.ErrorIs(t, s.Start(ctx), context.Canceled)
		assert.Empty(t, ps.log.all(), "nothing started")
		<-s.Done()
	})
}

func TestStopDuringBackoffCancelsRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		s, err := New(Config{Name: "app", Backoff: time.Minute}, ps.spec("a", Permanent), ps.spec("b", Permanent))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		ps.get("a").exit(errBoom)
		synctest.Wait()
		require.NoError(t, s.Stop(t.Context()))
		time.Sleep(time.Hour)
		assert.Equal(t, []string{"start a", "start b", "stop b"}, ps.log.all(), "a is not restarted after the stop")
	})
}
