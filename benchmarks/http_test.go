package benchmarks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/resiliencehttp"
)

// Method: every library wraps the same base transport behind an
// http.Client, built once outside the timed loop, and is configured for 5
// attempts with zero delay between them. One op is one client.Do of a GET
// whose response body is read and closed. The base is in memory, so the
// figures are each library's own cost, except in the loopback case, a
// real server on 127.0.0.1.

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

// httpLib builds one library's client over a base transport.
type httpLib struct {
	name   string
	client func(b *testing.B, base http.RoundTripper) *http.Client
}

func httpLibs() []httpLib {
	return []httpLib{
		{"resilience", func(b *testing.B, base http.RoundTripper) *http.Client {
			t, err := resiliencehttp.New(resiliencehttp.Config{Base: base, Pipeline: &resilience.Pipeline{Retry: retryZeroDelay()}})
			if err != nil {
				b.Fatal(err)
			}
			return &http.Client{Transport: t}
		}},
		{"failsafehttp", func(_ *testing.B, base http.RoundTripper) *http.Client {
			policy := failsafehttp.NewRetryPolicyBuilder().WithMaxRetries(4).Build()
			return &http.Client{Transport: failsafehttp.NewRoundTripper(base, policy)}
		}},
		{"retryablehttp", func(_ *testing.B, base http.RoundTripper) *http.Client {
			c := retryablehttp.NewClient()
			c.HTTPClient = &http.Client{Transport: base}
			c.Logger = nil
			c.RetryMax = 4
			c.RetryWaitMin, c.RetryWaitMax = 0, 0
			c.Backoff = func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }
			return c.StandardClient()
		}},
		{"bare", func(_ *testing.B, base http.RoundTripper) *http.Client {
			return &http.Client{Transport: base}
		}},
	}
}

// get runs the timed loop: GET url through c, expecting 200 every time.
func get(b *testing.B, c *http.Client, url string) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkHTTPClient: success (200 at once, in memory), 503x2-then-200
// (in memory, zero backoff) and loopback (200 from a real server).
func BenchmarkHTTPClient(b *testing.B) {
	b.Run("success", func(b *testing.B) {
		for _, lib := range httpLibs() {
			b.Run("lib="+lib.name, func(b *testing.B) {
				get(b, lib.client(b, &memTransport{}), "http://upstream.test/x")
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
				get(b, lib.client(b, base), "http://upstream.test/x")
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
				get(b, lib.client(b, base), srv.URL)
			})
		}
	})
}
