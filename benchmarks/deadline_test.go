package benchmarks

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	eapache "github.com/eapache/go-resiliency/deadline"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/deadline"
)

// Method: each op runs a fast function (it only checks for cancellation)
// under a one-second limit, through each library's own timeout API, with
// everything that a service builds once (scheduler, executor, Deadline)
// built outside the timed loop. pending=10000 measures the same op while
// 10,000 other calls of the same library sit inside their own limit (one
// hour), blocked on a channel, so the library's timer structure is loaded.
// Every peer is warmed up first, and each row starts with a garbage
// collection, both outside the timed loops.
//
//	lib=resilience            resilience.Do through a Pipeline with a Timeout,
//	                          the default entry point (one shared timer)
//	lib=resilience-watchdog   the same Pipeline with an explicit deadline.Watchdog
//	                          as its Timer
//	lib=context             context.WithTimeout + cancel, the bar
//	lib=failsafe            failsafe-go timeout policy through its executor
//	lib=eapache             go-resiliency deadline (a goroutine per call)

const deadlineLimit = time.Second

// deadlinePeer runs fn under the library's limit; block is the function of
// the pending calls.
type deadlinePeer struct {
	name string
	run  func(lim time.Duration, block <-chan struct{}) error
}

func deadlinePeers(b *testing.B) []deadlinePeer {
	w, err := deadline.New(deadline.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Stop(context.Background()) })
	ctx := context.Background()
	pipelines := func(timer resilience.Timer) func(time.Duration) *resilience.Pipeline {
		fast := &resilience.Pipeline{Name: "op", Timeout: deadlineLimit, Timer: timer}
		long := &resilience.Pipeline{Name: "op", Timeout: time.Hour, Timer: timer}
		return func(lim time.Duration) *resilience.Pipeline {
			if lim != deadlineLimit {
				return long
			}
			return fast
		}
	}
	shared, own := pipelines(nil), pipelines(w)
	fsFast := failsafe.With[any](timeout.New[any](deadlineLimit)).WithContext(ctx)
	fsLong := failsafe.With[any](timeout.New[any](time.Hour)).WithContext(ctx)
	eaFast, eaLong := eapache.New(deadlineLimit), eapache.New(time.Hour)
	wait := func(ctx context.Context, block <-chan struct{}) error {
		if block != nil {
			<-block
		}
		return ctx.Err()
	}
	// fn is built once, as a service builds it; only the pending calls'
	// functions capture their channel.
	fast := func(ctx context.Context) (struct{}, error) { return struct{}{}, ctx.Err() }
	do := func(p *resilience.Pipeline, block <-chan struct{}) error {
		fn := fast
		if block != nil {
			fn = func(ctx context.Context) (struct{}, error) { return struct{}{}, wait(ctx, block) }
		}
		_, err := resilience.Do(ctx, p, fn)
		return err
	}
	return []deadlinePeer{
		{"resilience", func(lim time.Duration, block <-chan struct{}) error { return do(shared(lim), block) }},
		{"resilience-watchdog", func(lim time.Duration, block <-chan struct{}) error { return do(own(lim), block) }},
		{"context", func(lim time.Duration, block <-chan struct{}) error {
			ctx, cancel := context.WithTimeout(ctx, lim)
			defer cancel()
			return wait(ctx, block)
		}},
		{"failsafe", func(lim time.Duration, block <-chan struct{}) error {
			ex := fsFast
			if lim != deadlineLimit {
				ex = fsLong
			}
			return ex.RunWithExecution(func(e failsafe.Execution[any]) error { return wait(e.Context(), block) })
		}},
		{"eapache", func(lim time.Duration, block <-chan struct{}) error {
			d := eaFast
			if lim != deadlineLimit {
				d = eaLong
			}
			return d.Run(func(stop <-chan struct{}) error {
				if block != nil {
					<-block
				}
				select {
				case <-stop:
					return eapache.ErrTimedOut
				default:
					return nil
				}
			})
		}},
	}
}

func BenchmarkDeadline(b *testing.B) {
	warmUp(deadlinePeers(b))
	for _, p := range deadlinePeers(b) {
		b.Run("fast/lib="+p.name, func(b *testing.B) {
			settle()
			b.ReportAllocs()
			for b.Loop() {
				if err := p.run(deadlineLimit, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, p := range deadlinePeers(b) {
		b.Run("parallel/lib="+p.name, func(b *testing.B) {
			settle()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := p.run(deadlineLimit, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	for _, p := range deadlinePeers(b) {
		b.Run("pending=10000/lib="+p.name, func(b *testing.B) {
			settle()
			stop := holdPending(p, 10_000)
			defer stop()
			b.ReportAllocs()
			for b.Loop() {
				if err := p.run(deadlineLimit, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// warmUp runs every peer's op untimed before any row, so that the first
// row measured does not pay for the process warming up (heap growth, first
// use of each code path).
func warmUp(peers []deadlinePeer) {
	for _, p := range peers {
		for range 100_000 {
			_ = p.run(deadlineLimit, nil)
		}
	}
}

// settle collects the garbage of the rows run before, outside the timed
// loop, so that no row pays for its predecessor's (the pending=10000 rows
// leave 10,000 finished goroutines behind) and row order does not matter.
func settle() { runtime.GC() }

// holdPending starts n calls that wait inside their one-hour limit until
// the returned func releases them; it returns once all n are inside.
func holdPending(p deadlinePeer, n int) (release func()) {
	block := make(chan struct{})
	var inside, done sync.WaitGroup
	inside.Add(n)
	for range n {
		done.Go(func() {
			_ = p.run(time.Hour, func() <-chan struct{} {
				inside.Done()
				return block
			}())
		})
	}
	inside.Wait()
	return func() {
		close(block)
		done.Wait()
	}
}
