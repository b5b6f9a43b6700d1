package lifecycle

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience/actor"
)

// BenchmarkAcquireRelease is the per-request cost of a connection guard.
func BenchmarkAcquireRelease(b *testing.B) {
	c, err := NewCoordinator(ShutdownConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g, err := c.Acquire()
			if err != nil {
				b.Fatal(err)
			}
			g()
		}
	})
}

// BenchmarkDecideExit is one restart decision among 100 children.
func BenchmarkDecideExit(b *testing.B) {
	for _, strategy := range []Strategy{OneForOne, OneForAll, RestForOne} {
		b.Run(strategy.String(), func(b *testing.B) {
			restarts := make([]Restart, 100)
			p := testPolicy
			p.strategy, p.maxRestarts = strategy, 1<<30
			s := newState(p, restarts, t0)
			b.ReportAllocs()
			for b.Loop() {
				_, _ = decide(s, exitEv(50, true), t0.Add(time.Second))
			}
		})
	}
}

// BenchmarkStartStop starts and stops a supervisor of n actors.
func BenchmarkStartStop(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			specs := make([]Spec, n)
			for i := range specs {
				specs[i] = Spec{Name: fmt.Sprint(i), New: func() (Component, error) {
					return actor.Spawn(actor.Config{Mailbox: 1},
						func() actor.Behavior[int] { return actor.Func[int](func(*actor.Self[int], int) {}) })
				}}
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				s, err := New(Config{}, specs...)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Start(ctx); err != nil {
					b.Fatal(err)
				}
				if err := s.Stop(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
