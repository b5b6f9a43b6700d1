package fleet

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
	"github.com/llm-research-lab/resilience/lifecycle"
)

// callers calls a healthy dependency through every breaker until stop is
// closed, counting errors and the slowest call.
type callers struct {
	wg      sync.WaitGroup
	stop    chan struct{}
	errs    atomic.Int64
	calls   atomic.Int64
	slowest atomic.Int64 // ns
}

func startCallers(brs []*Breaker) *callers {
	c := &callers{stop: make(chan struct{})}
	for _, b := range brs {
		c.wg.Go(func() {
			for {
				select {
				case <-c.stop:
					return
				default:
				}
				start := time.Now()
				if err := b.Run(context.Background(), ok); err != nil {
					c.errs.Add(1)
				}
				c.calls.Add(1)
				d := int64(time.Since(start))
				for cur := c.slowest.Load(); d > cur && !c.slowest.CompareAndSwap(cur, d); cur = c.slowest.Load() {
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	return c
}

func (c *callers) finish(t *testing.T) {
	t.Helper()
	close(c.stop)
	c.wg.Wait()
	t.Logf("%d calls, %d errors, slowest call %v", c.calls.Load(), c.errs.Load(), time.Duration(c.slowest.Load()))
	if c.errs.Load() != 0 {
		t.Fatalf("%d callers saw an error", c.errs.Load())
	}
	// Calls never wait for Redis; the bound is generous for a loaded
	// machine under the race detector.
	if s := time.Duration(c.slowest.Load()); s > 250*time.Millisecond {
		t.Fatalf("slowest call took %v", s)
	}
}

func allConnected(agents []*Agent, want bool) func() bool {
	return func() bool {
		for _, a := range agents {
			if a.Metrics().Connected != want {
				return false
			}
		}
		return true
	}
}

func TestRedisHangsCallersSeeNothing(t *testing.T) {
	srv := redistest.Start(t)
	agents, brs := replicas(t, srv, 3, fastConfig())
	c := startCallers(brs)
	before := runtime.NumGoroutine()
	srv.Pause()
	eventually(t, 3*time.Second, "agents degrade", allConnected(agents, false))
	// Keep Redis hung while callers make 2 × 1000 more calls: nothing may
	// pile up. Each agent may have one operation stuck on the hung server,
	// and its client a connection attempt and its subscriber's reconnection.
	n := c.calls.Load()
	eventually(t, 10*time.Second, "calls during the hang", func() bool { return c.calls.Load() > n+1000 })
	mid := runtime.NumGoroutine()
	eventually(t, 10*time.Second, "calls during the hang", func() bool { return c.calls.Load() > n+2000 })
	late := runtime.NumGoroutine()
	if mid > before+3*len(agents) || late > before+3*len(agents) {
		t.Fatalf("goroutines: %d before the hang, %d and %d during it", before, mid, late)
	}
	srv.Resume()
	eventually(t, 5*time.Second, "agents reconnect", allConnected(agents, true))
	c.finish(t)
}

func TestRedisLostAndRestarted(t *testing.T) {
	srv := redistest.Start(t)
	agents, brs := replicas(t, srv, 3, fastConfig())
	c := startCallers(brs)
	srv.Kill()
	eventually(t, 3*time.Second, "agents degrade", allConnected(agents, false))
	srv.Restart()
	eventually(t, 5*time.Second, "agents reconnect", allConnected(agents, true))
	c.finish(t)
	// The restarted server holds nothing; the fleet works again, and the
	// open reaches the replica that did not fail through the new
	// subscription or the next flush.
	both(brs[0], brs[1], 300*time.Millisecond, fail)
	defer func() {
		for i, b := range brs {
			t.Logf("replica %d: %s %+v", i, b.State(), agents[i].Metrics())
		}
	}()
	eventually(t, 5*time.Second, "the fleet opens after the restart", func() bool {
		return brs[2].State() == "fleet open" || brs[2].State() == "fleet half-open"
	})
	if err := brs[2].Run(context.Background(), ok); !errors.Is(err, resilience.ErrOpen) {
		t.Fatalf("after the restart the replica that did not fail got %v, want ErrOpen", err)
	}
}

func TestDegradedKeepsAKnownOpenUntilItsDeadline(t *testing.T) {
	srv := redistest.Start(t)
	cfg := fastConfig()
	cfg.OpenTimeout = 1500 * time.Millisecond
	_, brs := replicas(t, srv, 2, cfg)
	both(brs[0], brs[1], 200*time.Millisecond, fail)
	eventually(t, 2*time.Second, "the fleet opens", func() bool { return brs[1].State() == "fleet open" })
	until := brs[1].view.Load().until
	srv.Kill()
	eventually(t, 3*time.Second, "back to the local breaker", func() bool { return brs[1].State() == "fleet closed" })
	if early := time.Until(until); early > cfg.TroubleInterval {
		t.Fatalf("the fleet open was dropped %v before its deadline", early)
	}
	if err := brs[1].Run(context.Background(), ok); err != nil {
		t.Fatalf("local breaker refused: %v", err)
	}
}

func TestStopIsBoundedWhileRedisHangs(t *testing.T) {
	srv := redistest.Start(t)
	a, err := New(newClient(t, srv), fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.Breaker("payments", newLocal(t, breaker.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Start(context.Background())
	eventually(t, 2*time.Second, "first flush", func() bool { return a.Metrics().Flushes > 0 })
	c := startCallers([]*Breaker{b})
	srv.Pause()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = a.Stop(ctx)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Stop took %v with a 50ms context", took)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := a.Breaker("other", newLocal(t, breaker.Config{})); !errors.Is(err, resilience.ErrStopped) {
		t.Fatalf("Breaker after Stop: %v, want ErrStopped", err)
	}
	srv.Resume()
	select {
	case <-a.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the agent's goroutines did not exit after Redis came back")
	}
	if b.State() != "fleet closed" {
		t.Fatalf("after Stop the breaker is %q, want its local state", b.State())
	}
	c.finish(t) // callers kept calling through Stop, without an error
}

var _ lifecycle.Component = (*Agent)(nil)

func TestEventsSayDegradedAndConnected(t *testing.T) {
	srv := redistest.Start(t)
	events := make(chan Event, 64)
	cfg := fastConfig()
	cfg.Events = events
	a := newAgent(t, srv, cfg)
	if _, err := a.Breaker("payments", newLocal(t, breaker.Config{})); err != nil {
		t.Fatal(err)
	}
	waitFor := func(change string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case e := <-events:
				if e.Name == "" && e.Change == change {
					return
				}
			case <-deadline:
				t.Fatalf("no %q event", change)
			}
		}
	}
	waitFor("connected")
	srv.Kill()
	waitFor("degraded")
	srv.Restart()
	waitFor("connected")
}

// TestRestartedRedisIsTheTruth: a Redis that lost an open (killed and
// restarted empty) answers "closed" with an older generation; the replicas
// take it, instead of refusing until a generation newer than theirs.
func TestRestartedRedisIsTheTruth(t *testing.T) {
	srv := redistest.Start(t)
	cfg := fastConfig()
	cfg.OpenTimeout = time.Minute
	_, brs := replicas(t, srv, 3, cfg)
	both(brs[0], brs[1], 200*time.Millisecond, fail)
	eventually(t, 2*time.Second, "the fleet opens", func() bool { return brs[2].State() == "fleet open" })
	srv.Restart()
	eventually(t, 5*time.Second, "every replica takes the restarted Redis's state", func() bool {
		for _, b := range brs {
			if b.State() != "fleet closed" {
				return false
			}
		}
		return true
	})
	if err := brs[2].Run(context.Background(), ok); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
}
