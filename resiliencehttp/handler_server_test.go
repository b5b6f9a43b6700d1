package resiliencehttp

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/lifecycle"
)

// These tests run real servers on loopback, so they use real time; every
// wait on another goroutine is bounded (require.Eventually or a timeout).

// waitLong bounds each wait on the network.
const waitLong = 10 * time.Second

// newClient returns a client whose idle connections are closed when the
// test ends.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 100}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: waitLong}
}

// fetch GETs url and returns the response with its body read and closed.
func fetch(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if !assert.NoError(t, err) {
		return nil, ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	assert.NoError(t, err)
	return resp, string(body)
}

// receive waits for one value from ch, failing t after waitLong.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLong):
		require.FailNow(t, "timed out waiting for "+what)
		var zero T
		return zero
	}
}

// N slow requests fill a bulkhead of N; K more sent at the same time are
// each answered 503 with Retry-After at once, without running the
// handler, while the N finish with 200.
func TestShedsExactlyTheExtraRequestsUnderConcurrentLoad(t *testing.T) {
	checkLeaks(t)
	const n, extra = 4, 3
	bh := newBulkhead(t, bulkhead.Config{MaxConcurrent: n})
	g := newGated()
	srv := httptest.NewServer(protect(t, HandlerConfig{Gate: bh}, g))
	t.Cleanup(srv.Close)
	client := newClient(t)

	type result struct {
		code       int
		retryAfter string
	}
	results := make(chan result, n+extra)
	var wg sync.WaitGroup
	for range n + extra {
		wg.Go(func() {
			resp, _ := fetch(t, client, srv.URL+"/slow")
			if resp != nil {
				results <- result{resp.StatusCode, resp.Header.Get("Retry-After")}
			}
		})
	}
	for range n {
		receive(t, g.entered, "a request to enter the handler")
	}
	for range extra {
		r := receive(t, results, "a shed request's answer")
		assert.Equal(t, result{http.StatusServiceUnavailable, "1"}, r, "only the extra requests are shed, with Retry-After")
	}
	assert.Empty(t, g.entered, "no shed request reached the handler")
	close(g.release)
	wg.Wait()
	close(results)
	for r := range results {
		assert.Equal(t, http.StatusOK, r.code, "every admitted request finishes")
	}
	m := bh.Metrics()
	assert.Equal(t, uint64(n), m.Admitted)
	assert.Equal(t, uint64(extra), m.Rejected)
}

// A caller's budget sent by deadline.Transport over a real connection
// shortens the route's limit, and a longer one does not extend it.
func TestCallerBudgetOverTheWire(t *testing.T) {
	checkLeaks(t)
	const routeLimit = 2 * time.Second
	cfg := HandlerConfig{Timeout: deadline.HTTPConfig{Table: table(t, routeLimit, nil)}}
	srv := httptest.NewServer(protect(t, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dl, _ := r.Context().Deadline()
		_, _ = io.WriteString(w, strconv.FormatInt(int64(time.Until(dl)), 10))
	})))
	t.Cleanup(srv.Close)
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	client := &http.Client{Transport: &deadline.Transport{Base: base}}

	left := func(budget time.Duration) time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		ns, err := strconv.ParseInt(string(body), 10, 64)
		require.NoError(t, err)
		return time.Duration(ns)
	}
	long := left(time.Hour)
	assert.LessOrEqual(t, long, routeLimit, "an hour's budget does not extend the route's limit")
	assert.Greater(t, long, routeLimit/2)
	short := left(500 * time.Millisecond)
	assert.LessOrEqual(t, short, 500*time.Millisecond, "a shorter budget shortens the limit")
	assert.Positive(t, short)
}

// A server run by lifecycle.Server under a Coordinator: on shutdown, the
// requests in flight finish, new ones are refused with 503 and
// Connection: close, and the server stops within the grace period.
func TestDrainWithLifecycleServer(t *testing.T) {
	checkLeaks(t)
	const grace = 5 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	var coord *lifecycle.Coordinator
	g := newGated()
	mux := http.NewServeMux()
	mux.Handle("/slow", g)
	mux.Handle("/fast", ok)
	srv := &http.Server{ReadHeaderTimeout: waitLong}
	coord, err = lifecycle.NewCoordinator(lifecycle.ShutdownConfig{
		GracePeriod: grace,
		Tree:        lifecycle.Server(srv, ln),
	})
	require.NoError(t, err)
	root := http.NewServeMux()
	root.Handle("/readyz", coord.Readiness())
	root.Handle("/", protect(t, HandlerConfig{Coordinator: coord}, mux))
	srv.Handler = root
	require.NoError(t, coord.Start(context.Background()))
	client := newClient(t)

	const inflight = 3
	var wg sync.WaitGroup
	var finished atomic.Int32
	for range inflight {
		wg.Go(func() {
			resp, body := fetch(t, client, url+"/slow")
			if resp != nil && resp.StatusCode == http.StatusOK && body == "done" {
				finished.Add(1)
			}
		})
	}
	for range inflight {
		receive(t, g.entered, "a slow request to start")
	}

	began := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- coord.Stop(context.Background()) }()
	var refused *http.Response
	require.Eventually(t, func() bool {
		resp, _ := fetch(t, client, url+"/fast")
		refused = resp
		return resp != nil && resp.StatusCode == http.StatusServiceUnavailable
	}, waitLong, 5*time.Millisecond, "new requests are refused once draining")
	assert.True(t, refused.Close, "a refused request's connection is closed")
	assert.Equal(t, "1", refused.Header.Get("Retry-After"))
	resp, _ := fetch(t, client, url+"/readyz")
	if resp != nil {
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "readiness fails while draining")
	}
	assert.Equal(t, inflight, coord.ActiveConnections(), "the slow requests are still held")

	close(g.release)
	wg.Wait()
	assert.Equal(t, int32(inflight), finished.Load(), "every request in flight finishes with its answer")
	require.NoError(t, receive(t, stopped, "shutdown"))
	assert.Less(t, time.Since(began), grace, "shutdown ends within the grace period")
	_, err = client.Get(url + "/fast")
	assert.Error(t, err, "the listener is closed")
}
