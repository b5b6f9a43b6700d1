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
		s, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways), ps.spec("b", RestartAlways), ps.spec("c", RestartAlways))
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
		s, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways), ps.spec("b", RestartAlways), ps.spec("c", RestartAlways), ps.spec("d", RestartAlways))
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
		sp := ps.spec("slow", RestartAlways)
		sp.StartTimeout = time.Second
		s, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways), sp)
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
		stuck := ps.spec("stuck", RestartAlways)
		stuck.StopTimeout = 2 * time.Second
		s, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways), stuck, ps.spec("c", RestartAlways))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))

		begin := time.Now()
		err = s.Stop(t.Context())
		assert.Equal(t, 2*time.Second, time.Since(begin), "only the stuck child's timeout is spent")
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, []part{{"app/stuck", 2 * time.Second}}, abandonedParts(err))
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
		s, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways), ps.spec("b", RestartAlways))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
		defer cancel()
		begin := time.Now()
		err = s.Stop(ctx)
		assert.Equal(t, 4*time.Second, time.Since(begin))
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, []part{{"app/a", time.Second}}, abandonedParts(err))
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
		a, err := actor.Spawn(actor.Config{Name: "worker"}, crasher(&starts))
		require.NoError(t, err)
		s, err := New(Config{Name: "app", Backoff: time.Second}, Spec{Name: "worker", Component: a})
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		first := a.Done()

		require.NoError(t, a.Tell("crash"))
		<-first
		synctest.Wait()
		assert.Equal(t, int32(1), starts.Load(), "not restarted before the backoff")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, int32(2), starts.Load(), "restarted after the backoff")
		assert.NoError(t, a.Tell("hello"), "the same handle runs again")
		assert.NotEqual(t, first, a.Done(), "a new incarnation")

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
		a, err := actor.Spawn(actor.Config{}, crasher(&starts))
		require.NoError(t, err)
		inner, err := New(Config{Name: "inner", MaxRestarts: 2, Period: time.Minute, Backoff: -1},
			Spec{Name: "worker", Component: a})
		require.NoError(t, err)
		ps := newProbes()
		root, err := New(Config{Name: "root", Backoff: -1}, ps.spec("first", RestartAlways),
			Spec{Name: "inner", Component: inner})
		require.NoError(t, err)
		require.NoError(t, root.Start(t.Context()))

		// Crash the worker three times: the inner supervisor allows two
		// restarts, gives up on the third and the root restarts it.
		for range 3 {
			done := a.Done()
			require.NoError(t, a.Tell("crash"))
			<-done
			synctest.Wait()
		}
		assert.Equal(t, int32(4), starts.Load(), "3 by the inner supervisor, then 1 by its restart")
		st, err := root.Children(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, st[1].Restarts, "the root restarted the inner supervisor once")
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
		s, err := New(Config{Name: "app", MaxRestarts: -1}, ps.spec("a", RestartAlways), ps.spec("b", RestartAlways))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		ps.get("b").exit(errBoom)
		<-s.Done()
		var ie *IntensityError
		assert.ErrorAs(t, s.Err(), &ie)
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
		{"permanent after clean exit", RestartAlways, nil, true},
		{"permanent after failure", RestartAlways, errBoom, true},
		{"transient after clean exit", RestartOnFailure, nil, false},
		{"transient after failure", RestartOnFailure, errBoom, true},
		{"temporary after failure", RestartNever, errBoom, false},
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
					ps.spec("a", RestartAlways), ps.spec("b", RestartAlways), ps.spec("c", RestartAlways))
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
		s, err := New(Config{Name: "app", MaxRestarts: 5, Backoff: time.Second}, ps.spec("a", RestartAlways))
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

func TestSupervisorStartIsIdempotentAndStopSticks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{})
		require.NoError(t, err)
		assert.NoError(t, s.Stop(t.Context()), "stop before start")
		_, err = s.Children(t.Context())
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.ErrorIs(t, s.Start(t.Context()), resilience.ErrStopped, "start after stop")
		<-s.Done()

		s, err = New(Config{})
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		assert.NoError(t, s.Start(t.Context()), "Start while running does nothing")
		require.NoError(t, s.Stop(t.Context()))
		assert.ErrorIs(t, s.Start(t.Context()), resilience.ErrStopped, "a stop sticks")
	})
}

// TestSupervisorRestartsInPlaceAfterGivingUp fails a supervisor by its
// intensity limit and starts the same handle again.
func TestSupervisorRestartsInPlaceAfterGivingUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		s, err := New(Config{Name: "app", MaxRestarts: -1}, ps.spec("a", RestartAlways))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		ps.get("a").exit(errBoom)
		<-s.Done()
		var ie *IntensityError
		require.ErrorAs(t, s.Err(), &ie)

		require.NoError(t, s.Start(t.Context()), "Start after a failure restarts in place")
		assert.NoError(t, s.Err(), "the new run has not failed")
		st, err := s.Children(t.Context())
		require.NoError(t, err)
		assert.True(t, st[0].Running)
		require.NoError(t, s.Stop(t.Context()))
		assert.Equal(t, []string{"start a", "start a", "stop a"}, ps.log.all())
	})
}

func TestSpecNewFailures(t *testing.T) {
	tests := []struct {
		name string
		new  func() (Component, error)
	}{
		{"error", func() (Component, error) { return nil, errBoom }},
		{"nil child", func() (Component, error) { return nil, nil }},
		{"panic", func() (Component, error) { panic("bad factory") }},
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
	ok := func() (Component, error) { return nil, nil }
	tests := []struct {
		name  string
		cfg   Config
		specs []Spec
		field string
	}{
		{"negative period", Config{Period: -1}, nil, "lifecycle.Config.Period"},
		{"bad strategy", Config{Strategy: 9}, nil, "lifecycle.Config.Strategy"},
		{"slash in name", Config{Name: "a/b"}, nil, "lifecycle.Config.Name"},
		{"max below first backoff", Config{Backoff: time.Minute, MaxBackoff: time.Second}, nil, "lifecycle.Config.MaxBackoff"},
		{"missing child name", Config{}, []Spec{{New: ok}}, "lifecycle.Spec[0].Name"},
		{"neither Component nor New", Config{}, []Spec{{Name: "a"}}, "lifecycle.Spec[0].Component"},
		{"both Component and New", Config{}, []Spec{{Name: "a", New: ok, Component: Func(nil)}}, "lifecycle.Spec[0].Component"},
		{"duplicate name", Config{}, []Spec{{Name: "a", New: ok}, {Name: "a", New: ok}}, "lifecycle.Spec[1].Name"},
		{"bad restart", Config{}, []Spec{{Name: "a", New: ok, Restart: 7}}, "lifecycle.Spec[0].Restart"},
		{"negative timeout", Config{}, []Spec{{Name: "a", New: ok, StopTimeout: -1}}, "lifecycle.Spec[0].StopTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, tt.specs...)
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
		})
	}
}

func TestFuncAndActorComponents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		runs := make(chan struct{}, 10)
		var made atomic.Int32
		a, err := actor.Spawn(actor.Config{}, func() actor.Behavior[int] {
			made.Add(1)
			return actor.Func[int](func(*actor.Self[int], int) { panic("no") })
		})
		require.NoError(t, err)
		s, err := New(Config{Name: "app", Backoff: -1},
			Spec{Name: "loop", Component: Func(func(ctx context.Context) error {
				runs <- struct{}{}
				<-ctx.Done()
				return ctx.Err()
			})},
			Spec{Name: "actor", Component: a},
		)
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		first := a.Done()
		require.NoError(t, a.Tell(1))
		<-first
		synctest.Wait()
		assert.Equal(t, int32(2), made.Load(), "the actor's panic is seen through Done and it restarts in place")
		assert.NoError(t, a.Err())
		assert.Len(t, runs, 1)
		require.NoError(t, s.Stop(t.Context()), "a cancelled run function is a clean stop")
	})
}

func TestFuncFailureAndPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Func(func(context.Context) error { panic(errBoom) })
		require.NoError(t, c.Start(t.Context()))
		<-c.Done()
		assert.ErrorIs(t, c.Err(), errBoom)
		assert.ErrorContains(t, c.Err(), "panic")
		assert.Error(t, Func(nil).Start(t.Context()))
		assert.True(t, errors.Is(c.Stop(t.Context()), errBoom))
	})
}

func TestStartWithCancelledContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		s, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways))
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
		s, err := New(Config{Name: "app", Backoff: time.Minute}, ps.spec("a", RestartAlways), ps.spec("b", RestartAlways))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		ps.get("a").exit(errBoom)
		synctest.Wait()
		require.NoError(t, s.Stop(t.Context()))
		time.Sleep(time.Hour)
		assert.Equal(t, []string{"start a", "start b", "stop b"}, ps.log.all(), "a is not restarted after the stop")
	})
}

func TestSupervisorServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		s, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		served := make(chan error, 1)
		go func() { served <- s.Serve(ctx) }()
		synctest.Wait()
		assert.Equal(t, []string{"start a"}, ps.log.all())
		cancel()
		require.NoError(t, <-served)
		assert.Equal(t, []string{"start a", "stop a"}, ps.log.all())

		s, err = New(Config{Name: "app", MaxRestarts: -1}, ps.spec("b", RestartAlways))
		require.NoError(t, err)
		go func() { served <- s.Serve(t.Context()) }()
		synctest.Wait()
		ps.get("b").exit(errBoom)
		var ie *IntensityError
		require.ErrorAs(t, <-served, &ie, "Serve returns when the supervisor gives up")
	})
}
