package resiliencehttp

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// script is an in-memory base transport, for tests in a synctest bubble
// (real sockets cannot run there): the n-th request (from 1) is answered
// by answer.
type script struct {
	n      int
	ctxs   []context.Context
	answer func(n int, r *http.Request) (*http.Response, error)
}

func (s *script) RoundTrip(r *http.Request) (*http.Response, error) {
	s.n++
	s.ctxs = append(s.ctxs, r.Context())
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return s.answer(s.n, r)
}

func respond(code int, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	text := http.StatusText(code)
	return &http.Response{StatusCode: code, Header: h, ContentLength: int64(len(text)), Body: io.NopCloser(strings.NewReader(text))}
}

// virtual returns a Transport over s that retries up to 3 times, with
// exact 100ms waits clamped to 10s.
func virtual(t *testing.T, s *script, p *resilience.Pipeline) *Transport {
	t.Helper()
	pol, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: 100 * time.Millisecond, MaxDelay: 10 * time.Second, Jitter: retry.NoJitter, Backoff: retry.Constant})
	require.NoError(t, err)
	if p == nil {
		p = &resilience.Pipeline{}
	}
	p.Retry = pol
	tr, err := New(Config{Base: s, Pipeline: p})
	require.NoError(t, err)
	return tr
}

// waited returns how long a GET through tr took in virtual time, and its
// status.
func waited(t *testing.T, ctx context.Context, tr *Transport) (time.Duration, int) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://upstream.test/x", nil)
	require.NoError(t, err)
	start := time.Now()
	resp, err := tr.RoundTrip(r)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return time.Since(start), resp.StatusCode
}

func TestRetryAfterIsHonouredAndClamped(t *testing.T) {
	cases := []struct {
		name  string
		value func(now time.Time) string
		want  time.Duration
	}{
		{"seconds", func(time.Time) string { return "2" }, 2 * time.Second},
		{"date", func(now time.Time) string { return now.Add(3 * time.Second).UTC().Format(http.TimeFormat) }, 3 * time.Second},
		{"date in the past", func(now time.Time) string { return now.Add(-time.Hour).UTC().Format(http.TimeFormat) }, 100 * time.Millisecond},
		{"huge", func(time.Time) string { return "999999999999" }, 10 * time.Second},
		{"negative", func(time.Time) string { return "-5" }, 100 * time.Millisecond},
		{"garbage date", func(time.Time) string { return "Mon, 99 Foo 2026 25:61:61 GMT" }, 100 * time.Millisecond},
		{"1 MB", func(time.Time) string { return strings.Repeat("9", 1<<20) }, 10 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &script{answer: func(n int, _ *http.Request) (*http.Response, error) {
					if n == 1 {
						return respond(http.StatusTooManyRequests, "Retry-After", tc.value(time.Now())), nil
					}
					return respond(http.StatusOK), nil
				}}
				d, code := waited(t, context.Background(), virtual(t, s, nil))
				assert.Equal(t, http.StatusOK, code)
				assert.Equal(t, tc.want, d)
			})
		})
	}
}

func TestNoRetryThatCannotFinishBeforeTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{answer: func(int, *http.Request) (*http.Response, error) {
			return respond(http.StatusServiceUnavailable, "Retry-After", "8"), nil
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d, code := waited(t, ctx, virtual(t, s, nil))
		assert.Equal(t, time.Duration(0), d, "an 8s wait past a 5s deadline is not started")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, 1, s.n)
	})
}

func TestAttemptTimeoutEndsAHangingAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{answer: func(n int, r *http.Request) (*http.Response, error) {
			if n == 1 {
				<-r.Context().Done()
				return nil, r.Context().Err()
			}
			return respond(http.StatusOK), nil
		}}
		d, code := waited(t, context.Background(), virtual(t, s, &resilience.Pipeline{AttemptTimeout: time.Second}))
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, time.Second+100*time.Millisecond, d)
	})
}

func TestFinalBodyContextEndsOnEOFCloseOrTimeout(t *testing.T) {
	roundTrip := func(t *testing.T) (*http.Response, context.Context) {
		s := &script{answer: func(int, *http.Request) (*http.Response, error) { return respond(http.StatusOK), nil }}
		tr := virtual(t, s, &resilience.Pipeline{AttemptTimeout: time.Second, Timeout: time.Minute})
		r, _ := http.NewRequest(http.MethodGet, "http://upstream.test/", nil)
		resp, err := tr.RoundTrip(r)
		require.NoError(t, err)
		require.NoError(t, s.ctxs[0].Err(), "alive after RoundTrip returned")
		return resp, s.ctxs[0]
	}
	synctest.Test(t, func(t *testing.T) {
		resp, ctx := roundTrip(t)
		_, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.ErrorIs(t, ctx.Err(), context.Canceled, "ended at EOF")
		_ = resp.Body.Close()
	})
	synctest.Test(t, func(t *testing.T) {
		resp, ctx := roundTrip(t)
		_ = resp.Body.Close()
		assert.ErrorIs(t, ctx.Err(), context.Canceled, "ended at Close")
	})
	synctest.Test(t, func(t *testing.T) {
		resp, ctx := roundTrip(t)
		time.Sleep(999 * time.Millisecond)
		require.NoError(t, ctx.Err())
		time.Sleep(time.Millisecond)
		synctest.Wait() // the deadline's timer runs
		assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded, "ended at the attempt's timeout")
		_ = resp.Body.Close()
	})
}

func FuzzRetryAfterHeader(f *testing.F) {
	for _, s := range []string{"2", "-5", "999999999999", "Sun, 06 Nov 1994 08:49:37 GMT", "NaN", "", "Sunday, 06-Nov-94 08:49:37 GMT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		synctest.Test(t, func(t *testing.T) {
			s := &script{answer: func(n int, _ *http.Request) (*http.Response, error) {
				if n == 1 {
					resp := respond(http.StatusServiceUnavailable)
					resp.Header["Retry-After"] = []string{value}
					return resp, nil
				}
				return respond(http.StatusOK), nil
			}}
			d, code := waited(t, context.Background(), virtual(t, s, nil))
			if code != http.StatusOK || d < 0 || d > 10*time.Second {
				t.Fatalf("Retry-After %q: status %d after %v", value, code, d)
			}
		})
	})
}

func TestFailedResponseIsClosedBeforeTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first := &closeCounter{Reader: strings.NewReader("busy, come back later")}
		firstCtx := make(chan context.Context, 1)
		s := &script{answer: func(n int, r *http.Request) (*http.Response, error) {
			if n == 1 {
				firstCtx <- r.Context()
				resp := respond(http.StatusServiceUnavailable, "Retry-After", "2")
				resp.Body = first
				return resp, nil
			}
			return respond(http.StatusOK), nil
		}}
		events := make(chan retry.Event, 1)
		pol, err := retry.New(retry.Config{MaxAttempts: 2, MaxDelay: 10 * time.Second, Events: events})
		require.NoError(t, err)
		tr, err := New(Config{Base: s, Pipeline: &resilience.Pipeline{Retry: pol, AttemptTimeout: time.Minute}})
		require.NoError(t, err)

		done := make(chan int)
		go func() {
			r, _ := http.NewRequest(http.MethodGet, "http://upstream.test/", nil)
			resp, err := tr.RoundTrip(r)
			if err != nil {
				t.Error(err)
				close(done)
				return
			}
			_ = resp.Body.Close()
			done <- resp.StatusCode
		}()
		ev := <-events // sent before the 2s wait begins
		assert.Equal(t, 2*time.Second, ev.Delay)
		var se *StatusError
		require.ErrorAs(t, ev.Err, &se)
		assert.Equal(t, http.StatusServiceUnavailable, se.StatusCode)
		assert.Equal(t, 1, first.n, "read and closed: its connection is free during the wait")
		assert.Error(t, (<-firstCtx).Err(), "and the attempt's context has ended")
		assert.Equal(t, http.StatusOK, <-done)
	})
}

func TestLastFailedResponseIsReadFromMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{answer: func(int, *http.Request) (*http.Response, error) {
			return respond(http.StatusBadGateway), nil
		}}
		tr := virtual(t, s, &resilience.Pipeline{AttemptTimeout: time.Second})
		r, _ := http.NewRequest(http.MethodGet, "http://upstream.test/", nil)
		resp, err := tr.RoundTrip(r)
		require.NoError(t, err)
		time.Sleep(time.Hour) // long past every timeout
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "Bad Gateway", string(b))
		assert.Equal(t, 3, s.n)
		assert.Equal(t, uint64(2), tr.Metrics().Drained)
	})
}
