package deadline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// recorder is an httptest.ResponseRecorder that notes when the status was
// written, in virtual time, and counts writes.
type recorder struct {
	*httptest.ResponseRecorder
	at     time.Time
	writes int
}

func newRecorder() *recorder { return &recorder{ResponseRecorder: httptest.NewRecorder()} }

func (r *recorder) WriteHeader(code int) {
	r.at = time.Now()
	r.ResponseRecorder.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.writes++
	return r.ResponseRecorder.Write(p)
}

func (r *recorder) WriteString(s string) (int, error) { return r.Write([]byte(s)) }

// serve runs h behind the middleware, on the test's goroutine.
func serve(t *testing.T, cfg HTTPConfig, h http.HandlerFunc, req *http.Request) *recorder {
	t.Helper()
	mw, err := Middleware(cfg)
	require.NoError(t, err)
	rec := newRecorder()
	mw(h).ServeHTTP(rec, req)
	return rec
}

func newTable(t *testing.T, overrides map[string]time.Duration) *Table {
	t.Helper()
	tbl, err := NewTable(time.Second, overrides)
	require.NoError(t, err)
	return tbl
}

func TestMiddlewareInTime(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := HTTPConfig{Table: newTable(t, nil), Watchdog: tm.new(t)}
				rec := serve(t, cfg, func(w http.ResponseWriter, r *http.Request) {
					time.Sleep(10 * time.Millisecond)
					w.Header().Set("X-Handler", "yes")
					w.WriteHeader(http.StatusCreated)
					_, _ = fmt.Fprint(w, "made ")
					_, _ = fmt.Fprint(w, "it")
				}, httptest.NewRequest(http.MethodGet, "/x", nil))
				assert.Equal(t, http.StatusCreated, rec.Code)
				assert.Equal(t, "made it", rec.Body.String())
				assert.Equal(t, "yes", rec.Header().Get("X-Handler"))
			})
		})
	}
}

// A handler that keeps writing long after its limit: the client gets the
// error at the limit, and none of the handler's bytes, before or after.
func TestMiddlewareKeepsWriting(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := HTTPConfig{Table: newTable(t, map[string]time.Duration{"/slow": 100 * time.Millisecond}), Watchdog: tm.new(t)}
				start := time.Now()
				var lateErrs int
				rec := serve(t, cfg, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-Handler", "yes")
					for range 100 { // ignores its context for a second
						if _, err := fmt.Fprint(w, "chunk "); errors.Is(err, http.ErrHandlerTimeout) {
							lateErrs++
						}
						w.WriteHeader(http.StatusTeapot)
						time.Sleep(10 * time.Millisecond)
					}
				}, httptest.NewRequest(http.MethodGet, "/slow", nil))
				assert.Equal(t, time.Second, time.Since(start), "the middleware waits for its handler")
				assert.Equal(t, 100*time.Millisecond, rec.at.Sub(start), "the error went out at the limit")
				assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
				assert.Equal(t, "resilience: /slow timed out after 100ms\n", rec.Body.String())
				assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
				assert.Empty(t, rec.Header().Get("X-Handler"), "no header of the handler leaks into the error")
				// The write at the limit's instant may land either side of it.
				assert.InDelta(t, 90, lateErrs, 1, "late writes fail with http.ErrHandlerTimeout")
				assert.Equal(t, 1, rec.writes, "one write: the error body")
			})
		})
	}
}

func TestMiddlewareHonoursContext(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := HTTPConfig{Table: newTable(t, nil), Watchdog: tm.new(t), Status: http.StatusGatewayTimeout}
				var herr error
				rec := serve(t, cfg, func(w http.ResponseWriter, r *http.Request) {
					<-r.Context().Done()
					herr = r.Context().Err()
				}, httptest.NewRequest(http.MethodGet, "/x", nil))
				assert.ErrorIs(t, herr, context.DeadlineExceeded)
				assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
			})
		})
	}
}

func TestMiddlewarePanics(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name+"/before the limit", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := HTTPConfig{Table: newTable(t, nil), Watchdog: tm.new(t)}
				var rec *recorder
				require.PanicsWithValue(t, "handler bug", func() {
					rec = newRecorder()
					mw, err := Middleware(cfg)
					require.NoError(t, err)
					mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						w.Header().Set("X-Handler", "yes")
						_, _ = fmt.Fprint(w, "half a resp")
						panic("handler bug")
					})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
				})
				assert.Zero(t, rec.writes, "nothing half-written reaches the client")
				assert.False(t, rec.Flushed)
				assert.Empty(t, rec.Header())
			})
		})
		t.Run(tm.name+"/after the limit", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := HTTPConfig{Table: newTable(t, nil), Watchdog: tm.new(t)}
				rec := newRecorder()
				mw, err := Middleware(cfg)
				require.NoError(t, err)
				require.PanicsWithValue(t, "late bug", func() {
					mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						<-r.Context().Done()
						_, _ = fmt.Fprint(w, "too late")
						panic("late bug")
					})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
				})
				assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
				assert.Equal(t, "resilience: /x timed out after 1s\n", rec.Body.String())
			})
		})
	}
}

// The client goes away: the handler's context is cancelled and nothing is
// answered on the middleware's behalf.
func TestMiddlewareClientGone(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := HTTPConfig{Table: newTable(t, nil), Watchdog: tm.new(t)}
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(10*time.Millisecond, cancel)
				var herr error
				rec := serve(t, cfg, func(w http.ResponseWriter, r *http.Request) {
					<-r.Context().Done()
					herr = r.Context().Err()
				}, httptest.NewRequestWithContext(ctx, http.MethodGet, "/x", nil))
				assert.ErrorIs(t, herr, context.Canceled)
				assert.NotEqual(t, http.StatusServiceUnavailable, rec.Code)
			})
		})
	}
}

func TestMiddlewareRoutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tbl := newTable(t, map[string]time.Duration{"GET /fast": 50 * time.Millisecond})
		mw, err := Middleware(HTTPConfig{Table: tbl, Watchdog: newWatchdog(t)})
		require.NoError(t, err)
		got := map[string]time.Duration{}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			dl, _ := r.Context().Deadline()
			got[r.Pattern] = time.Until(dl)
		})
		mux := http.NewServeMux()
		mux.Handle("GET /fast", mw(h))
		mux.Handle("GET /other", mw(h))
		for _, path := range []string{"/fast", "/other"} {
			mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		}
		assert.Equal(t, map[string]time.Duration{"GET /fast": 50 * time.Millisecond, "GET /other": time.Second}, got)
	})
}

func TestMiddlewareBudget(t *testing.T) {
	cases := []struct {
		name   string
		header string
		ignore bool
		want   time.Duration // the handler's budget; 0 means refused without calling it
	}{
		{"none", "", false, time.Second},
		{"smaller", "200", false, 200 * time.Millisecond},
		{"larger is clamped", "5000", false, time.Second},
		{"hostile is clamped", "999999999999999999999999999", false, time.Second},
		{"garbage is ignored", "soon", false, time.Second},
		{"negative is ignored", "-1", false, time.Second},
		{"exhausted", "0", false, 0},
		{"ignored by config", "200", true, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := HTTPConfig{Table: newTable(t, nil), Watchdog: newWatchdog(t), IgnoreBudget: tc.ignore}
				req := httptest.NewRequest(http.MethodGet, "/x", nil)
				if tc.header != "" {
					req.Header.Set(Header, tc.header)
				}
				var budget time.Duration
				rec := serve(t, cfg, func(w http.ResponseWriter, r *http.Request) {
					dl, _ := r.Context().Deadline()
					budget = time.Until(dl)
				}, req)
				assert.Equal(t, tc.want, budget)
				if tc.want == 0 {
					assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
					assert.Equal(t, "resilience: /x timed out after 0s\n", rec.Body.String())
				}
			})
		})
	}
}

// Two hops: the front's remaining budget reaches the back through
// Transport, and the back never gets more than the front has left.
func TestPropagationTwoHops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		mw, err := Middleware(HTTPConfig{Table: newTable(t, nil), Watchdog: s})
		require.NoError(t, err)
		var backDeadline time.Time
		back := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			backDeadline, _ = r.Context().Deadline()
		}))
		client := &http.Client{Transport: &Transport{Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			rec := httptest.NewRecorder()
			back.ServeHTTP(rec, r)
			return rec.Result(), nil
		})}}
		var frontDeadline time.Time
		front := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			frontDeadline, _ = r.Context().Deadline()
			time.Sleep(300 * time.Millisecond) // some local work first
			req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://back/", nil)
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
		}))
		req := httptest.NewRequest(http.MethodGet, "/front", nil)
		req.Header.Set(Header, "500")
		front.ServeHTTP(httptest.NewRecorder(), req)
		assert.Equal(t, frontDeadline, backDeadline, "the back ends when the front does")
		assert.Equal(t, 500*time.Millisecond, frontDeadline.Sub(time.Now().Add(-300*time.Millisecond)))
	})
}

func TestMiddlewareConfig(t *testing.T) {
	_, err := Middleware(HTTPConfig{Status: http.StatusInternalServerError})
	var ce *resilience.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "deadline.HTTPConfig.Status", ce.Field)

	synctest.Test(t, func(t *testing.T) {
		rec := serve(t, HTTPConfig{}, func(w http.ResponseWriter, r *http.Request) {
			dl, _ := r.Context().Deadline()
			assert.Equal(t, defaultTimeout, time.Until(dl), "the zero config gives defaultTimeout")
		}, httptest.NewRequest(http.MethodGet, "/x", nil))
		assert.Equal(t, http.StatusOK, rec.Code)
	})
}

// A stopped watchdog still times requests: a server draining in shutdown
// keeps its limits.
func TestMiddlewareWatchdogStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{})
		require.NoError(t, err)
		require.NoError(t, s.Stop(context.Background()))
		cfg := HTTPConfig{Table: newTable(t, map[string]time.Duration{"/x": time.Second}), Watchdog: s}
		rec := serve(t, cfg, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, httptest.NewRequest(http.MethodGet, "/x", nil))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "resilience: /x timed out after 1s\n", rec.Body.String())
	})
}

// Over a real connection, with the race detector: a handler that ignores
// its context and keeps writing, one that panics, and a client that hangs
// up. No timing is asserted; the limit is real but only ordering matters.
func TestMiddlewareOverNetwork(t *testing.T) {
	s := newWatchdog(t)
	// A long default: on a loaded machine, real time must not turn the
	// panic and hang-up cases into timeouts.
	tbl, err := NewTable(time.Minute, map[string]time.Duration{"/stuck": 20 * time.Millisecond})
	require.NoError(t, err)
	mw, err := Middleware(HTTPConfig{Table: tbl, Watchdog: s})
	require.NoError(t, err)
	release := make(chan struct{})
	hung := make(chan error, 1)
	started := make(chan struct{}, 1)
	stuckDone := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/stuck", func(w http.ResponseWriter, r *http.Request) {
		defer close(stuckDone)
		for {
			select {
			case <-release:
				return
			default:
				_, _ = w.Write([]byte("more "))
			}
		}
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("partial"))
		panic(http.ErrAbortHandler) // net/http aborts quietly
	})
	mux.HandleFunc("/hangup", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
		hung <- r.Context().Err()
	})
	srv := httptest.NewServer(mw(mux))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stuck")
	require.NoError(t, err)
	body := make([]byte, 100)
	n, _ := resp.Body.Read(body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "the client is answered while the handler still runs")
	assert.Equal(t, "resilience: /stuck timed out after 20ms\n", string(body[:n]))
	close(release)
	<-stuckDone

	_, err = http.Get(srv.URL + "/panic")
	require.Error(t, err, "a panicking handler's connection is aborted, not half-answered")

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/hangup", nil)
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, <-hung, context.Canceled, "the handler sees the client leave")
	http.DefaultClient.CloseIdleConnections()
}
