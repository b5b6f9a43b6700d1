package deadline

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
)

func fast(context.Context) error { return nil }

type runner func(context.Context, limit, func(context.Context) error) error

func runners(b *testing.B) []struct {
	name string
	run  runner
} {
	w, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Stop(context.Background()) })
	shared := &resilience.Pipeline{Name: "op", Timeout: time.Second}
	own := &resilience.Pipeline{Name: "op", Timeout: time.Second, Timer: w}
	return []struct {
		name string
		run  runner
	}{
		{"timer=watchdog", func(ctx context.Context, lim limit, fn func(context.Context) error) error {
			if lim.Timeout != time.Second {
				return run(ctx, w, lim, fn)
			}
			return own.Run(ctx, fn)
		}},
		{"timer=shared", func(ctx context.Context, lim limit, fn func(context.Context) error) error {
			if lim.Timeout != time.Second {
				return run(ctx, nil, lim, fn)
			}
			return shared.Run(ctx, fn)
		}},
		{"baseline=context.WithTimeout", func(ctx context.Context, lim limit, fn func(context.Context) error) error {
			ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
			defer cancel()
			return fn(ctx)
		}},
	}
}

// BenchmarkRun is a fast function under a one-second limit.
func BenchmarkRun(b *testing.B) {
	lim := limit{Op: "op", Timeout: time.Second}
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
	lim := limit{Op: "op", Timeout: time.Second}
	for _, r := range runners(b) {
		b.Run(r.name, func(b *testing.B) {
			release := make(chan struct{})
			var wg sync.WaitGroup
			var ready sync.WaitGroup
			for range 10_000 {
				ready.Add(1)
				wg.Go(func() {
					_ = r.run(context.Background(), limit{Timeout: time.Hour}, func(context.Context) error {
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
		{"deadline", mustMiddleware(b, HTTPConfig{Watchdog: s})(ok)},
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
