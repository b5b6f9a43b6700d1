package resiliencehttp

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/stretchr/testify/require"
)

// upstream is a real loopback server that counts its requests and the
// connections it accepted.
type upstream struct {
	*httptest.Server
	requests atomic.Int64
	conns    atomic.Int64
}

// serve starts an upstream whose n-th request (from 1) is answered by h.
func serve(t *testing.T, h func(n int64, w http.ResponseWriter, r *http.Request)) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(u.requests.Add(1), w, r)
	}))
	u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

// client returns an http.Client over a Transport for cfg, on a base
// transport of its own whose idle connections are closed at cleanup.
func client(t *testing.T, cfg Config) (*http.Client, *Transport) {
	t.Helper()
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	if cfg.Base == nil {
		cfg.Base = base
	}
	tr, err := New(cfg)
	require.NoError(t, err)
	return &http.Client{Transport: tr}, tr
}

// retries returns a pipeline that makes up to n attempts with short,
// exact waits, clamped to 20ms whatever the server asks.
func retries(t *testing.T, n int) *resilience.Pipeline {
	t.Helper()
	p, err := retry.New(retry.Config{
		MaxAttempts: n, InitialDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond, Jitter: retry.NoJitter,
	})
	require.NoError(t, err)
	return &resilience.Pipeline{Retry: p}
}

// hijackClose closes the request's connection without an answer.
func hijackClose(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	_ = conn.Close()
}
