package deadline

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience/actor"
)

func fast(context.Context) error { return nil }

// naive is the design the Scheduler is measured against: every call sends
// its deadline to an actor and takes it back with a second message, and the
// actor keeps one Self.Schedule timer per call.
type naive struct{ a *actor.Actor[naiveMsg] }

type naiveMsg struct {
	op    int // 0 arm, 1 disarm, 2 fire
	e     *naiveEntry
	after time.Duration
}

type naiveEntry struct {
	cancel context.CancelFunc
	timer  actor.Timer[naiveMsg] // owned by the actor
}

func newNaive(b *testing.B) *naive {
	a, err := actor.Spawn(actor.Config{Mailbox: 1024}, func() actor.Behavior[naiveMsg] {
		return actor.Func[naiveMsg](func(self *actor.Self[naiveMsg], m naiveMsg) {
			switch m.op {
			case 0:
				m.e.timer = self.Schedule(m.after, naiveMsg{op: 2, e: m.e})
			case 1:
				self.Cancel(m.e.timer)
			case 2:
				m.e.cancel()
			}
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Stop(context.Background()) })
	return &naive{a: a}
}

func (n *naive) run(ctx context.Context, lim Limit, fn func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e := &naiveEntry{cancel: cancel}
	if err := n.a.Send(ctx, naiveMsg{op: 0, e: e, after: lim.Timeout}); err != nil {
		return err
	}
	err := fn(ctx)
	_ = n.a.Send(context.Background(), naiveMsg{op: 1, e: e})
	return err
}

type runner func(context.Context, Limit, func(context.Context) error) error

func runners(b *testing.B) []struct {
	name string
	run  runner
} {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Stop(context.Background()) })
	return []struct {
		name string
		run  runner
	}{
		{"timer=scheduler", s.Run},
		{"timer=default", Run},
		{"timer=naive-actor", newNaive(b).run},
		{"baseline=context.WithTimeout", func(ctx context.Context, lim Limit, fn func(context.Context) error) error {
			ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
			defer cancel()
			return fn(ctx)
		}},
	}
}

// BenchmarkRun is a fast function under a one-second limit.
func BenchmarkRun(b *testing.B) {
	lim := Limit{Op: "op", Timeout: time.Second}
	for _, r := range runners(b) {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = r.run(context.Background(), lim, fast)
			}
		})
		b.Run(r.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = r.run(context.Background(), lim, fast)
				}
			})
		})
	}
}

// BenchmarkRunPending is BenchmarkRun while 10,000 other calls wait on
// their deadlines.
func BenchmarkRunPending(b *testing.B) {
	lim := Limit{Op: "op", Timeout: time.Second}
	for _, r := range runners(b) {
		b.Run(r.name, func(b *testing.B) {
			release := make(chan struct{})
			var wg sync.WaitGroup
			var ready sync.WaitGroup
			for range 10_000 {
				ready.Add(1)
				wg.Go(func() {
					_ = r.run(context.Background(), Limit{Timeout: time.Hour}, func(context.Context) error {
						ready.Done()
						<-release
						return nil
					})
				})
			}
			ready.Wait()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = r.run(context.Background(), lim, fast)
			}
			b.StopTimer()
			close(release)
			wg.Wait()
		})
	}
}

func BenchmarkTableLimit(b *testing.B) {
	tbl, err := NewTable(time.Second, map[string]time.Duration{"a": time.Millisecond, "b": time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = tbl.Limit("b")
		}
	})
}

func BenchmarkMiddleware(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Stop(context.Background()) })
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", ok},
		{"deadline", mustMiddleware(b, HTTPConfig{Scheduler: s})(ok)},
		{"deadline-default", mustMiddleware(b, HTTPConfig{})(ok)},
		{"http.TimeoutHandler", http.TimeoutHandler(ok, time.Second, "timeout")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			for b.Loop() {
				tc.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}

func mustMiddleware(b *testing.B, cfg HTTPConfig) func(http.Handler) http.Handler {
	mw, err := Middleware(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return mw
}
