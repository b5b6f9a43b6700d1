package resiliencehttp

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/hedge"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hedger(t *testing.T, delay time.Duration, events chan hedge.Event) *hedge.Policy {
	t.Helper()
	p, err := hedge.New(hedge.Config{Delay: delay, MaxAttempts: 3, Events: events})
	require.NoError(t, err)
	return p
}

func TestHedgeWinsOverAHangingAttemptOnLoopback(t *testing.T) {
	loserGone := make(chan struct{})
	payload := bytes.Repeat([]byte("hedged body "), 1000)
	up := serve(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		assert.Equal(t, payload, got, "attempt %d carries the whole body", n)
		if n == 1 {
			<-r.Context().Done() // hangs until the client cancels it
			close(loserGone)
			return
		}
		_, _ = io.WriteString(w, "fast")
	})
	events := make(chan hedge.Event, 4)
	c, tr := client(t, Config{Hedge: hedger(t, 20*time.Millisecond, events)})

	r, _ := http.NewRequest(http.MethodPut, up.URL, opaque{bytes.NewReader(payload)})
	resp, err := c.Do(r)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, "fast", string(b))
	<-loserGone // the losing attempt was cancelled: the server saw its client go
	assert.Equal(t, 2, (<-events).Attempt)
	assert.EqualValues(t, 2, up.requests.Load())
	assert.Equal(t, uint64(0), tr.Metrics().Retries)
}

func TestUnsafeRequestsAreNotHedged(t *testing.T) {
	up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(50 * time.Millisecond) // a slow upstream, longer than the hedge delay
		_, _ = io.WriteString(w, "slow")
	})
	c, _ := client(t, Config{Hedge: hedger(t, time.Millisecond, nil)})
	resp, err := c.Post(up.URL, "text/plain", strings.NewReader("pay"))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.EqualValues(t, 1, up.requests.Load())
}

// race is an in-memory base whose n-th request answers after delays[n-1],
// or when its context ends; every body it hands out is counted at Close.
type race struct {
	delays []time.Duration
	mu     sync.Mutex
	n      int
	bodies []*closeCounter
	ctxs   []context.Context
}

func (rc *race) RoundTrip(r *http.Request) (*http.Response, error) {
	rc.mu.Lock()
	rc.n++
	d := rc.delays[rc.n-1]
	body := &closeCounter{Reader: strings.NewReader("attempt " + string(rune('0'+rc.n)))}
	rc.bodies = append(rc.bodies, body)
	rc.ctxs = append(rc.ctxs, r.Context())
	rc.mu.Unlock()
	select {
	case <-time.After(d):
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, ContentLength: -1, Body: body}, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

func TestHedgeInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := &race{delays: []time.Duration{time.Hour, 30 * time.Millisecond, time.Hour}}
		tr, err := New(Config{Base: base, Hedge: hedger(t, 100*time.Millisecond, nil)})
		require.NoError(t, err)
		r, _ := http.NewRequest(http.MethodGet, "http://upstream.test/", nil)
		start := time.Now()
		resp, err := tr.RoundTrip(r)
		require.NoError(t, err)
		assert.Equal(t, 130*time.Millisecond, time.Since(start), "the hedge after 100ms answered 30ms later")
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, "attempt 2", string(b))
		_ = resp.Body.Close()
		assert.Equal(t, 2, base.n, "no third attempt")
		assert.ErrorIs(t, base.ctxs[0].Err(), context.Canceled, "the loser is cancelled")
	})
}

func TestLosingResponsesAreClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Attempt 1 answers at 150ms, after attempt 2 (100ms + 10ms) has
		// won: its response is drained and closed, not left open.
		base := &race{delays: []time.Duration{150 * time.Millisecond, 10 * time.Millisecond}}
		tr, err := New(Config{Base: base, Hedge: hedger(t, 100*time.Millisecond, nil)})
		require.NoError(t, err)
		r, _ := http.NewRequest(http.MethodGet, "http://upstream.test/", nil)
		resp, err := tr.RoundTrip(r)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, "attempt 2", string(b))
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, 1, base.bodies[1].n)
		// Attempt 1 was cancelled as attempt 2 won, before its answer.
		assert.ErrorIs(t, base.ctxs[0].Err(), context.Canceled)
	})
}

func TestHedgePolicyInTheRetrySlotCountsAsHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := &race{delays: []time.Duration{time.Hour, 0}}
		h := hedger(t, 100*time.Millisecond, nil)
		tr, err := New(Config{Base: base, Pipeline: &resilience.Pipeline{Retry: h}})
		require.NoError(t, err)
		r, _ := http.NewRequest(http.MethodGet, "http://upstream.test/", nil)
		resp, err := tr.RoundTrip(r)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, "attempt 2", string(b))

		_, err = New(Config{Pipeline: &resilience.Pipeline{Retry: h}, Hedge: hedger(t, time.Second, nil)})
		var ce *resilience.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "resiliencehttp.Config.Pipeline.Retry", ce.Field)
	})
}

func TestRequestsNotHedgedAreSentOnceWhenTheRetrySlotHedges(t *testing.T) {
	up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	c, _ := client(t, Config{Pipeline: &resilience.Pipeline{Retry: hedger(t, time.Millisecond, nil)}, RetryAllMethods: true})
	resp, err := c.Post(up.URL, "text/plain", strings.NewReader("pay"))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.EqualValues(t, 1, up.requests.Load())
}
