package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience/actor"
	"github.com/llm-research-lab/resilience/lifecycle"
)

// Method: each op builds, starts and stops 10,000 actors (or goroutines)
// that do nothing, and stops them one at a time in reverse start order,
// waiting for each, as an ordered shutdown must. None of the peers in
// go.mod supervises, so the baselines are the primitives underneath:
//
//	lib=goroutines      10,000 bare goroutines, each stopped by closing its
//	                    channel and waiting for it (the floor)
//	lib=actors          10,000 actor.Spawn actors stopped directly (no tree)
//	lib=lifecycle-flat  one Supervisor with 10,000 actors as Components
//	lib=lifecycle-tree  a root of 100 nested supervisors of 100 actors each
//	lib=lifecycle-new   one Supervisor of 10,000 actors spawned by Spec.New (a
//	                    fresh actor at each start)
//
// Custom metrics: start-ms and stop-ms per op (wall time of the start and
// of the ordered stop), B/actor (heap plus goroutine stacks retained while
// the 10,000 run, after a GC, divided by 10,000) and goroutines/actor.
// ns/op covers build+start+stop; the GCs for the memory figure are outside
// the timer.

const lifecycleActors = 10_000

type lifecyclePeer struct {
	name  string
	start func(ctx context.Context) (stop func(ctx context.Context) error, err error)
}

func nop() actor.Behavior[int] { return actor.Func[int](func(*actor.Self[int], int) {}) }

func lifecyclePeers() []lifecyclePeer {
	return []lifecyclePeer{
		{"goroutines", startGoroutines},
		{"actors", startActors},
		{"lifecycle-flat", func(ctx context.Context) (func(context.Context) error, error) {
			specs, err := actorSpecs(lifecycleActors)
			if err != nil {
				return nil, err
			}
			return startTree(ctx, specs)
		}},
		{"lifecycle-tree", func(ctx context.Context) (func(context.Context) error, error) {
			subs := make([]lifecycle.Spec, 100)
			for i := range subs {
				specs, err := actorSpecs(lifecycleActors / 100)
				if err != nil {
					return nil, err
				}
				sub, err := lifecycle.New(lifecycle.Config{Name: fmt.Sprint("s", i)}, specs...)
				if err != nil {
					return nil, err
				}
				subs[i] = lifecycle.Spec{Name: sub.Name(), Component: sub, StartTimeout: time.Hour, StopTimeout: time.Hour}
			}
			return startTree(ctx, subs)
		}},
		{"lifecycle-new", func(ctx context.Context) (func(context.Context) error, error) {
			return startTree(ctx, newSpecs(lifecycleActors))
		}},
	}
}

// actorSpecs spawns n actors and returns them as Components.
func actorSpecs(n int) ([]lifecycle.Spec, error) {
	specs := make([]lifecycle.Spec, n)
	for i := range specs {
		a, err := actor.Spawn(actor.Config{Mailbox: 1}, nop)
		if err != nil {
			return nil, err
		}
		specs[i] = lifecycle.Spec{Name: fmt.Sprint("a", i), Component: a}
	}
	return specs, nil
}

// newSpecs returns n specs whose New spawns an actor at each start.
func newSpecs(n int) []lifecycle.Spec {
	specs := make([]lifecycle.Spec, n)
	for i := range specs {
		specs[i] = lifecycle.Spec{Name: fmt.Sprint("a", i), New: func() (lifecycle.Component, error) {
			return actor.Spawn(actor.Config{Mailbox: 1}, nop)
		}}
	}
	return specs
}

func startTree(ctx context.Context, specs []lifecycle.Spec) (func(context.Context) error, error) {
	s, err := lifecycle.New(lifecycle.Config{Name: "root"}, specs...)
	if err != nil {
		return nil, err
	}
	return s.Stop, s.Start(ctx)
}

func startGoroutines(context.Context) (func(context.Context) error, error) {
	type g struct {
		quit chan struct{}
		wg   sync.WaitGroup
	}
	gs := make([]*g, lifecycleActors)
	for i := range gs {
		x := &g{quit: make(chan struct{})}
		x.wg.Go(func() { <-x.quit })
		gs[i] = x
	}
	return func(context.Context) error {
		for i := len(gs) - 1; i >= 0; i-- {
			close(gs[i].quit)
			gs[i].wg.Wait()
		}
		return nil
	}, nil
}

func startActors(context.Context) (func(context.Context) error, error) {
	as := make([]*actor.Actor[int], lifecycleActors)
	for i := range as {
		a, err := actor.Spawn(actor.Config{Mailbox: 1}, nop)
		if err != nil {
			return nil, err
		}
		as[i] = a
	}
	return func(ctx context.Context) error {
		for i := len(as) - 1; i >= 0; i-- {
			if err := as[i].Stop(ctx); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// retained returns live heap plus goroutine stack bytes after a GC.
func retained() (bytes uint64, goroutines int) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse, runtime.NumGoroutine()
}

func BenchmarkLifecycleTree10k(b *testing.B) {
	for _, p := range lifecyclePeers() {
		b.Run("lib="+p.name, func(b *testing.B) {
			ctx := context.Background()
			var startDur, stopDur time.Duration
			var perActor, gPerActor float64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				before, g0 := retained()
				b.StartTimer()
				t0 := time.Now()
				stop, err := p.start(ctx)
				if err != nil {
					b.Fatal(err)
				}
				startDur += time.Since(t0)
				b.StopTimer()
				after, g1 := retained()
				perActor += float64(int64(after)-int64(before)) / lifecycleActors
				gPerActor += float64(g1-g0) / lifecycleActors
				b.StartTimer()
				t1 := time.Now()
				if err := stop(ctx); err != nil {
					b.Fatal(err)
				}
				stopDur += time.Since(t1)
			}
			n := float64(b.N)
			b.ReportMetric(float64(startDur.Milliseconds())/n, "start-ms")
			b.ReportMetric(float64(stopDur.Microseconds())/1000/n, "stop-ms")
			b.ReportMetric(perActor/n, "B/actor")
			b.ReportMetric(gPerActor/n, "goroutines/actor")
		})
	}
}
