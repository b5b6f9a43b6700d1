package benchmarks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/resiliencehttp"
)

// Method: every library wraps the same base transport in its
// http.RoundTripper, built once outside the timed loop, configured for 5
// attempts with zero delay between them. One op is one GET whose response
// body is read and closed. In the success and 503x2-then-200 cases the
// base is in memory and the op calls the RoundTripper directly, so the
// figures are each library's own cost (bare: the base alone); in the
// loopback case the op is an http.Client's Do against a real server on
// 127.0.0.1, as a service would call it. Besides wall time, each op reports the CPU
// time the process used (cpu-ns/op: every thread, the garbage collector's
// included), the steadier figure on a loaded machine.

// memTransport answers every request in memory: with 503 while fail says
// so, else 200, each time a fresh response with an empty body.
type memTransport struct {
	n    int
	fail func(n int) bool
}

func (m *memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	m.n++
	code := http.StatusOK
	if m.fail != nil && m.fail(m.n) {
		code = http.StatusServiceUnavailable
	}
	return &http.Response{StatusCode: code, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// httpLib builds one library's RoundTripper over a base transport.
type httpLib struct {
	name      string
	transport func(b *testing.B, base http.RoundTripper) http.RoundTripper
}

func httpLibs() []httpLib {
	return []httpLib{
		{"resilience", func(b *testing.B, base http.RoundTripper) http.RoundTripper {
			t, err := resiliencehttp.New(resiliencehttp.Config{Base: base, Pipeline: &resilience.Pipeline{Retry: retryZeroDelay()}})
			if err != nil {
				b.Fatal(err)
			}
			return t
		}},
		{"failsafehttp", func(_ *testing.B, base http.RoundTripper) http.RoundTripper {
			policy := failsafehttp.NewRetryPolicyBuilder().WithMaxRetries(4).Build()
			return failsafehttp.NewRoundTripper(base, policy)
		}},
		{"retryablehttp", func(_ *testing.B, base http.RoundTripper) http.RoundTripper {
			c := retryablehttp.NewClient()
			c.HTTPClient = &http.Client{Transport: base}
			c.Logger = nil
			c.RetryMax = 4
			c.RetryWaitMin, c.RetryWaitMax = 0, 0
			c.Backoff = func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }
			return c.StandardClient().Transport
		}},
		{"bare", func(_ *testing.B, base http.RoundTripper) http.RoundTripper { return base }},
	}
}

// get runs the timed loop: GET url through rt, expecting 200 every time.
func get(b *testing.B, rt http.RoundTripper, url string) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// client is an http.Client seen as a RoundTripper: its Do, redirects,
// cookies and all.
type client struct{ c *http.Client }

func (c client) RoundTrip(r *http.Request) (*http.Response, error) { return c.c.Do(r) }

// processCPU returns the CPU time the process has used, user and system,
// in nanoseconds. On a machine shared with other work, CPU time per op is
// steadier than wall time, which counts the time other processes ran.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkHTTPClient: success (200 at once, in memory), 503x2-then-200
// (in memory, zero backoff) and loopback (200 from a real server).
func BenchmarkHTTPClient(b *testing.B) {
	b.Run("success", func(b *testing.B) {
		for _, lib := range httpLibs() {
			b.Run("lib="+lib.name, func(b *testing.B) {
				get(b, lib.transport(b, &memTransport{}), "http://upstream.test/x")
			})
		}
	})
	b.Run("503x2-then-200", func(b *testing.B) {
		for _, lib := range httpLibs() {
			if lib.name == "bare" {
				continue // it does not retry
			}
			b.Run("lib="+lib.name, func(b *testing.B) {
				base := &memTransport{fail: func(n int) bool { return n%3 != 0 }}
				get(b, lib.transport(b, base), "http://upstream.test/x")
			})
		}
	})
	b.Run("loopback", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "ok")
		}))
		defer srv.Close()
		for _, lib := range httpLibs() {
			b.Run("lib="+lib.name, func(b *testing.B) {
				base := http.DefaultTransport.(*http.Transport).Clone()
				defer base.CloseIdleConnections()
				get(b, client{&http.Client{Transport: lib.transport(b, base)}}, srv.URL)
			})
		}
	})
}
