package benchmarks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/lifecycle"
	"github.com/llm-research-lab/resilience/resiliencehttp"
)

// BenchmarkHTTPServer serves one GET per op, on the benchmark's goroutine,
// into an httptest.ResponseRecorder, to a handler that writes "ok":
//
//	lib=bare        the handler alone
//	lib=resilience  the handler behind resiliencehttp.Middleware with every
//	                stage on: a Coordinator's guard, the route's limit from
//	                a deadline.Table (which buffers the response), and a
//	                bulkhead that admits the request
//
// The recorder and its allocations are counted in both rows, so the
// difference is the middleware's own cost. Run it with:
//
//	go test -run XXX -bench 'BenchmarkHTTPServer$' -benchmem -count 6 .
func BenchmarkHTTPServer(b *testing.B) {
	hello := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	b.Run("lib=resilience", func(b *testing.B) { benchServe(b, protected(b, hello)) })
	b.Run("lib=bare", func(b *testing.B) { benchServe(b, hello) })
}

// BenchmarkHTTPServerShed is the cost of a refusal: the same middleware
// as BenchmarkHTTPServer's lib=resilience, with its only bulkhead slot
// taken, answering every request 503 with Retry-After. Run it with:
//
//	go test -run XXX -bench 'BenchmarkHTTPServerShed' -benchmem -count 6 .
func BenchmarkHTTPServerShed(b *testing.B) {
	h, slots := protectedWith(b, 1, http.NotFoundHandler())
	done, err := slots.Allow(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer done(nil)
	req := httptest.NewRequest(http.MethodGet, "/hello", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// protected returns h behind the whole server middleware.
func protected(b *testing.B, h http.Handler) http.Handler {
	p, _ := protectedWith(b, 1000, h)
	return p
}

// protectedWith returns h behind the whole server middleware, with a
// bulkhead of the given capacity.
func protectedWith(b *testing.B, capacity int, h http.Handler) (http.Handler, *bulkhead.Bulkhead) {
	coord, err := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{})
	if err != nil {
		b.Fatal(err)
	}
	slots, err := bulkhead.New(bulkhead.Config{MaxConcurrent: capacity})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = slots.Stop(context.Background()) })
	limits, err := deadline.NewTable(deadlineLimit, nil)
	if err != nil {
		b.Fatal(err)
	}
	protect, err := resiliencehttp.Middleware(resiliencehttp.HandlerConfig{
		Coordinator: coord,
		Timeout:     deadline.HTTPConfig{Table: limits},
		Gate:        slots,
	})
	if err != nil {
		b.Fatal(err)
	}
	return protect(h), slots
}

func benchServe(b *testing.B, h http.Handler) {
	req := httptest.NewRequest(http.MethodGet, "/hello", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
