package resiliencehttp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetriesUnavailableThenReusesTheConnection(t *testing.T) {
	up := serve(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			w.Header().Set("Retry-After", "1") // clamped to the policy's 20ms
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(bytes.Repeat([]byte("x"), 8<<10)) // drained, not read by anyone
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	c, tr := client(t, Config{Pipeline: retries(t, 5)})

	resp, err := c.Get(up.URL)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())

	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok", string(b))
	assert.EqualValues(t, 3, up.requests.Load())
	assert.EqualValues(t, 1, up.conns.Load(), "drained responses give their connection back")
	assert.Equal(t, Metrics{Retries: 2, Drained: 2}, tr.Metrics())
}

func TestLastResponseGoesBackWhenRetriesEnd(t *testing.T) {
	up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "still down")
	})
	c, tr := client(t, Config{Pipeline: retries(t, 3)})

	resp, err := c.Get(up.URL)
	require.NoError(t, err, "a RoundTripper returns the response, whatever its status")
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Equal(t, "still down", string(b))
	assert.EqualValues(t, 3, up.requests.Load())
	assert.Equal(t, uint64(2), tr.Metrics().Drained)
}

func TestServerErrorIsNotRetriedButNotFound(t *testing.T) {
	for _, code := range []int{http.StatusInternalServerError, http.StatusNotImplemented, http.StatusNotFound, http.StatusConflict} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) })
			c, _ := client(t, Config{Pipeline: retries(t, 3)})
			resp, err := c.Get(up.URL)
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, code, resp.StatusCode)
			assert.EqualValues(t, 1, up.requests.Load())
		})
	}
}

// bodyCheck is an upstream that fails the first two attempts and checks
// that every attempt carried want, byte for byte.
func bodyCheck(t *testing.T, want []byte) *upstream {
	return serve(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
			t.Errorf("attempt %d: body of %d bytes differs (err %v)", n, len(got), err)
		}
		if n <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
}

// opaque hides a reader's type so that http.NewRequest sets no GetBody.
type opaque struct{ io.Reader }

func TestRequestBodyIsReplayedOnEveryAttempt(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 8_000) // 128 KB
	cases := map[string]func() *http.Request{
		"GetBody": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPut, "", bytes.NewReader(payload))
			return r
		},
		"buffered": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPut, "", opaque{bytes.NewReader(payload)})
			return r
		},
		"POST with Idempotency-Key": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "", opaque{bytes.NewReader(payload)})
			r.Header.Set("Idempotency-Key", "k1")
			return r
		},
	}
	for name, newReq := range cases {
		t.Run(name, func(t *testing.T) {
			up := bodyCheck(t, payload)
			c, _ := client(t, Config{Pipeline: retries(t, 5)})
			r := newReq()
			r.URL, _ = r.URL.Parse(up.URL)
			resp, err := c.Do(r)
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.EqualValues(t, 3, up.requests.Load())
		})
	}
}

func TestUnsafeRequestsAreSentOnce(t *testing.T) {
	t.Run("POST 503", func(t *testing.T) {
		up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
		c, tr := client(t, Config{Pipeline: retries(t, 5)})
		resp, err := c.Post(up.URL, "text/plain", strings.NewReader("pay"))
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.EqualValues(t, 1, up.requests.Load())
		assert.Equal(t, uint64(1), tr.Metrics().NotRetried)
	})
	t.Run("POST reset", func(t *testing.T) {
		up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { hijackClose(t, w) })
		c, _ := client(t, Config{Pipeline: retries(t, 5)})
		_, err := c.Post(up.URL, "text/plain", strings.NewReader("pay"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not retried: POST is not idempotent")
		assert.EqualValues(t, 1, up.requests.Load())
	})
	t.Run("POST opted in", func(t *testing.T) {
		up := bodyCheck(t, []byte("pay"))
		c, _ := client(t, Config{Pipeline: retries(t, 5), RetryAllMethods: true})
		resp, err := c.Post(up.URL, "text/plain", opaque{strings.NewReader("pay")})
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("body over MaxBodyBuffer", func(t *testing.T) {
		payload := bytes.Repeat([]byte("y"), 100)
		up := serve(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
			got, _ := io.ReadAll(r.Body)
			assert.Equal(t, payload, got, "a body too long to keep is still sent whole")
			hijackClose(t, w)
		})
		c, _ := client(t, Config{Pipeline: retries(t, 5), MaxBodyBuffer: 10})
		r, _ := http.NewRequest(http.MethodPut, up.URL, opaque{bytes.NewReader(payload)})
		_, err := c.Do(r)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "longer than MaxBodyBuffer (10 bytes)")
		assert.EqualValues(t, 1, up.requests.Load())
	})
}

func TestConnectionResetIsRetried(t *testing.T) {
	up := serve(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			hijackClose(t, w)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	c, tr := client(t, Config{Pipeline: retries(t, 3)})
	resp, err := c.Get(up.URL)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, "ok", string(b))
	assert.Equal(t, uint64(1), tr.Metrics().Retries)
}

func TestResetMidBodyReachesTheReader(t *testing.T) {
	up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
		_ = rw.Flush()
		_ = conn.Close()
	})
	p := retries(t, 3)
	p.AttemptTimeout = time.Minute
	c, _ := client(t, Config{Pipeline: p})
	resp, err := c.Get(up.URL)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, "only ten..", string(b))
	_ = resp.Body.Close()
}

func TestHangingAttemptTimesOutAndIsRetried(t *testing.T) {
	up := serve(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-r.Context().Done() // hangs until the client gives up
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	p := retries(t, 3)
	p.AttemptTimeout = 100 * time.Millisecond
	c, _ := client(t, Config{Pipeline: p})
	resp, err := c.Get(up.URL)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, "ok", string(b))
	assert.EqualValues(t, 2, up.requests.Load())
}

func TestFinalBodyOutlivesRoundTrip(t *testing.T) {
	release := make(chan struct{})
	up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "first half,")
		http.NewResponseController(w).Flush()
		<-release // the rest comes after RoundTrip has returned
		_, _ = io.WriteString(w, "second half")
	})
	p := retries(t, 3)
	p.Timeout, p.AttemptTimeout = time.Minute, time.Minute
	c, _ := client(t, Config{Pipeline: p})
	resp, err := c.Get(up.URL)
	require.NoError(t, err)
	close(release)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "the attempt's context lives until the body is read")
	assert.Equal(t, "first half,second half", string(b))
	require.NoError(t, resp.Body.Close())
}

func TestBudgetHeaderCarriesTheRemainingTime(t *testing.T) {
	got := make(chan string, 1)
	up := serve(t, func(_ int64, w http.ResponseWriter, r *http.Request) { got <- r.Header.Get(deadline.Header) })
	p := retries(t, 3)
	p.AttemptTimeout = 500 * time.Millisecond
	c, _ := client(t, Config{Pipeline: p})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, up.URL, nil)
	resp, err := c.Do(r)
	require.NoError(t, err)
	_ = resp.Body.Close()
	ms, err := strconv.Atoi(<-got)
	require.NoError(t, err)
	assert.True(t, ms > 0 && ms <= 500, "the attempt's budget, not the hour: %d ms", ms)
}

func TestDoneContextSendsNothing(t *testing.T) {
	up := serve(t, func(int64, http.ResponseWriter, *http.Request) {})
	c, _ := client(t, Config{Pipeline: retries(t, 3)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	closed := &closeCounter{Reader: strings.NewReader("x")}
	r, _ := http.NewRequestWithContext(ctx, http.MethodPut, up.URL, closed)
	_, err := c.Do(r)
	assert.ErrorIs(t, err, context.Canceled)
	assert.EqualValues(t, 0, up.requests.Load())
	assert.Equal(t, 1, closed.n, "the request body is closed, as RoundTrip must")
}

type closeCounter struct {
	io.Reader
	n int
}

func (c *closeCounter) Close() error { c.n++; return nil }

func TestConfigErrors(t *testing.T) {
	cases := map[string]Config{
		"resiliencehttp.Config.Statuses":                {Statuses: map[int]resilience.Outcome{42: resilience.Failure}},
		"resiliencehttp.Config.Pipeline.AttemptTimeout": {Pipeline: &resilience.Pipeline{AttemptTimeout: -1}},
		"resiliencehttp.Config.Pipeline.Timeout":        {Pipeline: &resilience.Pipeline{Timeout: -1}},
	}
	for field, cfg := range cases {
		_, err := New(cfg)
		var ce *resilience.ConfigError
		require.True(t, errors.As(err, &ce), field)
		assert.Equal(t, field, ce.Field)
	}
	cfg := Config{Statuses: map[int]resilience.Outcome{503: resilience.Outcome(9)}}
	_, err := New(cfg)
	assert.Error(t, err)
}

func TestRequestWithoutURLIsAnError(t *testing.T) {
	tr, err := New(Config{})
	require.NoError(t, err)
	closed := &closeCounter{Reader: strings.NewReader("x")}
	_, err = tr.RoundTrip(&http.Request{Method: http.MethodGet, Body: closed})
	assert.ErrorContains(t, err, "no URL")
	assert.Equal(t, 1, closed.n)
}
