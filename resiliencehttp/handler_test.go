package resiliencehttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/lifecycle"
	"github.com/llm-research-lab/resilience/limit"
)

// protect wraps h in the middleware built from cfg.
func protect(t *testing.T, cfg HandlerConfig, h http.Handler) http.Handler {
	t.Helper()
	mw, err := Middleware(cfg)
	require.NoError(t, err)
	return mw(h)
}

// get serves one GET of path through h, on the calling goroutine.
func get(h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// table returns a deadline.Table with the given default and overrides.
func table(t *testing.T, def time.Duration, overrides map[string]time.Duration) *deadline.Table {
	t.Helper()
	tbl, err := deadline.NewTable(def, overrides)
	require.NoError(t, err)
	return tbl
}

// newBulkhead returns a bulkhead stopped when the test ends.
func newBulkhead(t *testing.T, cfg bulkhead.Config) *bulkhead.Bulkhead {
	t.Helper()
	b, err := bulkhead.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Stop(context.Background()) })
	return b
}

// gated is a handler that reports each entry on entered and returns when
// release is closed.
type gated struct {
	entered chan string
	release chan struct{}
}

func newGated() *gated {
	return &gated{entered: make(chan string, 100), release: make(chan struct{})}
}

func (g *gated) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.entered <- r.URL.Path
	<-g.release
	_, _ = w.Write([]byte("done"))
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name  string
		cfg   HandlerConfig
		field string
	}{
		{"negative MaxRetryAfter", HandlerConfig{MaxRetryAfter: -time.Second}, "resiliencehttp.HandlerConfig.MaxRetryAfter"},
		{"MaxRetryAfter below a second", HandlerConfig{MaxRetryAfter: 500 * time.Millisecond}, "resiliencehttp.HandlerConfig.MaxRetryAfter"},
		{"timeout status", HandlerConfig{Timeout: deadline.HTTPConfig{Status: http.StatusTeapot}}, "resiliencehttp.HandlerConfig.Timeout.Status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mw, err := Middleware(c.cfg)
			assert.Nil(t, mw, "an invalid config builds no middleware")
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, c.field, ce.Field)
			assert.NotEmpty(t, ce.Reason)
		})
	}
}

func TestSecondsRoundUpBetweenOneAndTheMaximum(t *testing.T) {
	huge := time.Duration(1<<63 - 1)
	cases := []struct {
		hint, limit time.Duration
		want        int64
	}{
		{0, 30 * time.Second, 1},                       // no hint: one second
		{-time.Hour, 30 * time.Second, 1},              // never negative
		{time.Millisecond, 30 * time.Second, 1},        // rounded up
		{time.Second, 30 * time.Second, 1},             // exact
		{1500 * time.Millisecond, 30 * time.Second, 2}, // rounded up
		{time.Hour, 30 * time.Second, 30},              // clamped
		{time.Hour, 1500 * time.Millisecond, 2},        // the maximum rounds up too
		{huge, huge, 9223372037},                       // no overflow
	}
	for _, c := range cases {
		assert.Equal(t, c.want, seconds(c.hint, c.limit), "hint %v, max %v", c.hint, c.limit)
	}
}

// The hint is read through wrapping, and values past a minute are
// formatted on demand.
func TestRetryAfterReadsTheHintThroughWrapping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refusal := &resilience.RejectedError{Reason: resilience.ErrFull, Until: time.Now().Add(90 * time.Second)}
		cases := []struct {
			name string
			err  error
			want string
		}{
			{"refusal", refusal, "90"},
			{"wrapped", fmt.Errorf("gate: %w", refusal), "90"},
			{"joined", errors.Join(errors.New("other"), refusal), "90"},
			{"marked", resilience.RetryAfter(resilience.ErrRejected, 2500*time.Millisecond), "3"},
			{"no hint", &resilience.RejectedError{Reason: resilience.ErrFull}, "1"},
			{"past", &resilience.RejectedError{Reason: resilience.ErrFull, Until: time.Now().Add(-time.Hour)}, "1"},
		}
		for _, c := range cases {
			assert.Equal(t, []string{c.want}, retryAfter(c.err, time.Hour), c.name)
		}
	})
}

func TestNilHandlerAnswersNotFound(t *testing.T) {
	h := protect(t, HandlerConfig{}, nil)
	assert.Equal(t, http.StatusNotFound, get(h, "/x").Code)
}

// A rate limiter's refusal says when the next permit comes: Retry-After
// carries it, rounded up to whole seconds, and the request is served once
// that time has passed.
func TestRateRefusalCarriesItsHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rate, err := limit.New(limit.Config{PerSecond: 0.4}) // a permit every 2.5s
		require.NoError(t, err)
		h := protect(t, HandlerConfig{Gate: rate}, ok)

		assert.Equal(t, http.StatusOK, get(h, "/").Code)
		rec := get(h, "/")
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "3", rec.Header().Get("Retry-After"), "2.5s rounds up to 3")
		assert.Contains(t, rec.Body.String(), limit.ErrLimited.Error())

		time.Sleep(2500 * time.Millisecond)
		assert.Equal(t, http.StatusOK, get(h, "/").Code, "served once the hinted time has passed")
	})
}

func TestRetryAfterIsClampedToTheMaximum(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rate, err := limit.New(limit.Config{PerSecond: 1.0 / 3600}) // a permit an hour
		require.NoError(t, err)
		h := protect(t, HandlerConfig{Gate: rate, MaxRetryAfter: 10 * time.Second}, ok)
		get(h, "/")
		rec := get(h, "/")
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "10", rec.Header().Get("Retry-After"), "an hour's hint is capped at MaxRetryAfter")
	})
}

// A bulkhead without a queue sheds the request beyond its capacity at
// once, with a Retry-After of one second (it gives no hint of its own),
// and never runs the handler for it.
func TestBulkheadShedsBeyondCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh := newBulkhead(t, bulkhead.Config{MaxConcurrent: 2})
		g := newGated()
		h := protect(t, HandlerConfig{Gate: bh}, g)
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i := range codes {
			wg.Go(func() { codes[i] = get(h, "/slow").Code })
		}
		synctest.Wait()
		require.Len(t, g.entered, 2)

		rec := get(h, "/slow")
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
		assert.Len(t, g.entered, 2, "the shed request never reached the handler")

		close(g.release)
		wg.Wait()
		assert.Equal(t, []int{http.StatusOK, http.StatusOK}, codes)
		assert.Equal(t, 0, bh.Metrics().InFlight, "every slot is given back")
	})
}

// A request waiting in a bulkhead's queue waits no longer than its own
// limit, and is then answered by the deadline (503, the timeout text, no
// Retry-After): the deadline stage sits outside the admission stage.
func TestQueueingIsBoundedByTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh := newBulkhead(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1})
		g := newGated()
		tbl := table(t, 100*time.Millisecond, map[string]time.Duration{"/slow": time.Minute})
		h := protect(t, HandlerConfig{Gate: bh, Timeout: deadline.HTTPConfig{Table: tbl}}, g)
		var wg sync.WaitGroup
		wg.Go(func() { get(h, "/slow") })
		synctest.Wait()

		start := time.Now()
		rec := get(h, "/fast")
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "waited exactly its limit")
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Contains(t, rec.Body.String(), "/fast timed out after 100ms")
		assert.Empty(t, rec.Header().Get("Retry-After"), "a timeout is not a refusal")
		assert.Equal(t, uint64(1), bh.Metrics().Cancelled)
		assert.Len(t, g.entered, 1, "the queued request never reached the handler")
		close(g.release)
		wg.Wait()
	})
}

// The caller's budget shortens the route's limit and never extends it;
// hostile or broken values are ignored; an exhausted budget is answered
// at once without running the handler.
func TestCallerBudgetIsClampedToTheRouteLimit(t *testing.T) {
	cases := []struct {
		name, header string
		want         time.Duration // the handler's time left; 0: not run
	}{
		{"none", "", time.Second},
		{"shorter", "50", 50 * time.Millisecond},
		{"longer", "600000", time.Second},
		{"negative", "-1", time.Second},
		{"NaN", "NaN", time.Second},
		{"fraction", "1.5", time.Second},
		{"spaces", " 50", time.Second},
		{"a megabyte of digits", strings.Repeat("9", 1<<20), time.Second},
		{"a megabyte of garbage", strings.Repeat("x", 1<<20), time.Second},
		{"spent", "0", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var left time.Duration
				h := protect(t, HandlerConfig{Timeout: deadline.HTTPConfig{Table: table(t, time.Second, nil)}},
					http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
						dl, ok := r.Context().Deadline()
						require.True(t, ok, "every request has a deadline")
						left = time.Until(dl)
					}))
				rec := get(h, "/", deadline.Header, c.header)
				assert.Equal(t, c.want, left)
				if c.want == 0 {
					assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
				} else {
					assert.Equal(t, http.StatusOK, rec.Code)
				}
			})
		})
	}
}

// During the coordinator's propagation delay the readiness probe fails
// but requests are still served; after it, new requests are refused with
// 503, Connection: close and Retry-After, without reaching the gate,
// while the request in flight finishes and shutdown waits for it.
func TestDrainFollowsTheCoordinator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		coord, err := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{PropagationDelay: 5 * time.Second})
		require.NoError(t, err)
		bh := newBulkhead(t, bulkhead.Config{MaxConcurrent: 10})
		g := newGated()
		h := protect(t, HandlerConfig{Coordinator: coord, Gate: bh}, g)
		ready := coord.Readiness()

		var wg sync.WaitGroup
		var inflight *httptest.ResponseRecorder
		wg.Go(func() { inflight = get(h, "/inflight") })
		synctest.Wait()
		assert.Equal(t, http.StatusOK, get(ready, "/readyz").Code)

		stopped := make(chan error, 1)
		go func() { stopped <- coord.Stop(context.Background()) }()
		synctest.Wait()
		assert.Equal(t, http.StatusServiceUnavailable, get(ready, "/readyz").Code, "not ready once shutdown begins")
		wg.Go(func() { assert.Equal(t, http.StatusOK, get(h, "/during-delay").Code) })
		synctest.Wait()
		assert.Len(t, g.entered, 2, "a request during the delay is served")

		time.Sleep(5 * time.Second)
		synctest.Wait()
		admitted := bh.Metrics().Admitted
		rec := get(h, "/after-delay")
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "close", rec.Header().Get("Connection"))
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
		assert.Equal(t, "shutting down\n", rec.Body.String())
		assert.Equal(t, admitted, bh.Metrics().Admitted, "a refused request never reaches the gate")

		select {
		case err := <-stopped:
			t.Fatalf("shutdown ended (%v) with requests in flight", err)
		default:
		}
		assert.Equal(t, 2, coord.ActiveConnections())
		close(g.release)
		wg.Wait()
		assert.Equal(t, http.StatusOK, inflight.Code, "the request in flight finishes")
		require.NoError(t, <-stopped)
	})
}

// A handler's panic goes on up to the caller, as without the middleware,
// after the coordinator's guard and the gate's slot are given back.
func TestPanicGivesBackTheGuardAndTheSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		coord, err := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{})
		require.NoError(t, err)
		bh := newBulkhead(t, bulkhead.Config{MaxConcurrent: 1})
		h := protect(t, HandlerConfig{Coordinator: coord, Gate: bh},
			http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
		assert.PanicsWithValue(t, "boom", func() { get(h, "/") })
		assert.Equal(t, 0, coord.ActiveConnections(), "the guard is released")
		assert.Equal(t, 0, bh.Metrics().InFlight, "the slot is given back")
		require.NoError(t, coord.Stop(context.Background()), "nothing is left to drain")
	})
}

// A gate that has stopped refuses every request at once: 503, and the
// handler does not run.
func TestStoppedGateRefusesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh := newBulkhead(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 5})
		require.NoError(t, bh.Stop(context.Background()))
		ran := false
		h := protect(t, HandlerConfig{Gate: bh}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }))
		start := time.Now()
		rec := get(h, "/")
		assert.Zero(t, time.Since(start), "refused without waiting")
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
		assert.Contains(t, rec.Body.String(), resilience.ErrStopped.Error())
		assert.False(t, ran)
	})
}
