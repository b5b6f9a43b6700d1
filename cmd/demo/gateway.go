package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/lifecycle"
	"github.com/llm-research-lab/resilience/retry"
)

// route is one gateway route: the upstream it calls, how long the whole
// request may take, how long one attempt may take, and how many attempts
// it gets.
type route struct {
	Name     string        // short name, also the attempt operation's prefix
	Pattern  string        // http.ServeMux pattern, the Table's operation
	Upstream string        // upstream name
	Limit    time.Duration // whole request
	Attempt  time.Duration // one upstream attempt
	Attempts int           // attempts, the first included
}

// defaultRoutes are the gateway's routes. Payments is the one whose
// upstream goes down in the scenario; reports is slow and not retried.
func defaultRoutes() []route {
	return []route{
		{"users", "GET /api/users", "users", time.Second, 80 * time.Millisecond, 3},
		{"search", "GET /api/search", "search", time.Second, 150 * time.Millisecond, 3},
		{"payments", "GET /api/payments", "payments", 3 * time.Second, 50 * time.Millisecond, 2},
		{"reports", "GET /api/reports", "search", 5 * time.Second, 4 * time.Second, 1},
	}
}

// attemptOp is the Table operation holding a route's per-attempt limit.
func attemptOp(r route) string { return r.Name + ".attempt" }

// Response outcomes, sent to the client in the X-Outcome header so the
// load driver can count them.
const (
	outcomeOK       = "ok"       // the upstream answered
	outcomeFastFail = "fastfail" // refused at once: breaker open or half-open full
	outcomeTimeout  = "timeout"  // a limit elapsed
	outcomeError    = "error"    // the upstream failed
	outcomeCanceled = "canceled" // the client went away
)

// backend is the gateway's side of one upstream: its breaker (one of the
// gateway's family, keyed by upstream name), its retry budget and the
// counters of attempts that reached the network.
type backend struct {
	name    string
	url     string
	breaker *breaker.Breaker
	budget  *retry.Budget
	firsts  atomic.Int64 // first attempts sent
	retries atomic.Int64 // later attempts sent
	oks     atomic.Int64 // attempts that succeeded
}

// gateway is the HTTP front: with resilient set, every route runs
// retry(breaker(deadline(op))) against its upstream; without, a plain
// http.Client with the route's limit as its timeout.
type gateway struct {
	resilient bool
	table     *deadline.Table
	sched     *deadline.Watchdog      // nil without the library
	breakers  *breaker.Family[string] // one breaker actor per upstream
	changes   chan breaker.Event      // every breaker's state changes, relayed to events
	jobs      *bulkhead.Bulkhead      // nil without the library: runs the settlement jobs
	settle    *settlement             // nil without the library
	backends  map[string]*backend
	order     []string // upstream names, in a stable order
	routes    []route
	transport *http.Transport
	coord     *lifecycle.Coordinator // set before the server starts
	rnd       *lockedRand            // the retry jitter's source
	metrics   *metrics
	events    *eventLog
}

// newGateway builds a gateway for the given upstream URLs. rnd seeds the
// retry jitter.
func newGateway(resilient bool, routes []route, urls map[string]string, names []string, rnd *lockedRand, events *eventLog) (*gateway, error) {
	g := &gateway{
		resilient: resilient, routes: routes, order: names, events: events, rnd: rnd,
		backends:  map[string]*backend{},
		transport: &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second, DisableCompression: true},
	}
	var err error
	if g.table, err = routeTable(routes); err != nil {
		return nil, err
	}
	g.changes = make(chan breaker.Event, 64)
	if g.breakers, err = newBreakers(g.changes); err != nil {
		return nil, err
	}
	for _, name := range names {
		if g.backends[name], err = newBackend(g.breakers, name, urls[name]); err != nil {
			return nil, err
		}
	}
	g.metrics = newMetrics(g)
	if !resilient {
		return g, nil
	}
	if g.sched, err = deadline.New(deadline.Config{Name: "gateway-deadlines"}); err != nil {
		return nil, err
	}
	if g.jobs, g.settle, err = newSettlement(g.backends[outageUpstream], g.transport, g.sched, rnd); err != nil {
		return nil, err
	}
	return g, g.metrics.library(g)
}

// routeTable puts every route's whole-request limit under its pattern and
// its per-attempt limit under attemptOp.
func routeTable(routes []route) (*deadline.Table, error) {
	limits := map[string]time.Duration{}
	for _, r := range routes {
		limits[r.Pattern] = r.Limit
		limits[attemptOp(r)] = r.Attempt
	}
	return deadline.NewTable(time.Second, limits)
}

// newBreakers builds the gateway's breakers: a family with one breaker
// actor per upstream, created on first use of its key, all sending their
// state changes to changes.
func newBreakers(changes chan<- breaker.Event) (*breaker.Family[string], error) {
	return breaker.NewFamily[string](breaker.FamilyConfig{Breaker: breaker.Config{
		Events:              changes,
		FailureThreshold:    5,
		SuccessThreshold:    2,
		OpenTimeout:         500 * time.Millisecond,
		HalfOpenMaxRequests: 1,
		Classify:            classify,
	}})
}

func newBackend(breakers *breaker.Family[string], name, url string) (*backend, error) {
	b, err := breakers.For(name)
	if err != nil {
		return nil, err
	}
	budget, err := retry.NewBudget(10, 0.1)
	if err != nil {
		return nil, err
	}
	return &backend{name: name, url: url, breaker: b, budget: budget}, nil
}

// classify tells the breaker what an attempt's error means: an attempt
// that ran out of its own time or got a 5xx is the upstream's failure; a
// 4xx is the upstream working; the caller giving up is nobody's.
func classify(err error) resilience.Outcome {
	var se *statusError
	switch {
	case errors.Is(err, resilience.ErrTimeout):
		return resilience.Failure
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return resilience.Ignored
	case errors.As(err, &se) && se.code < 500:
		return resilience.Success
	}
	return resilience.Failure
}

// retryable says which attempt errors are worth another attempt: not an
// open or saturated breaker (the gateway fails fast and passes the
// breaker's retry-after to its client), not a 4xx.
func retryable(err error) bool {
	var se *statusError
	switch {
	case errors.Is(err, resilience.ErrOpen):
		return false
	case errors.As(err, &se) && se.code < 500:
		return false
	}
	return true
}

// retryClassify is the retry policy's classifier: a retryable error is a
// Failure, worth another attempt; any other ends the loop at once.
func retryClassify(err error) resilience.Outcome {
	if err == nil {
		return resilience.Success
	}
	if retryable(err) {
		return resilience.Failure
	}
	return resilience.Terminal
}

// statusError is an upstream's non-200 answer.
type statusError struct {
	upstream string
	code     int
}

func (e *statusError) Error() string { return fmt.Sprintf("%s answered %d", e.upstream, e.code) }

// handler returns the gateway's mux: the routes, and in resilient mode
// the operational endpoints.
func (g *gateway) handler() (http.Handler, error) {
	mux := http.NewServeMux()
	mw, err := deadline.Middleware(deadline.HTTPConfig{Table: g.table, Watchdog: g.sched, Status: http.StatusGatewayTimeout})
	if err != nil {
		return nil, err
	}
	for _, rt := range g.routes {
		call, err := g.caller(rt)
		if err != nil {
			return nil, err
		}
		h := g.endpoint(rt, call)
		if g.resilient {
			h = g.track(mw(h))
		}
		mux.Handle(rt.Pattern, h)
	}
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") }))
	mux.Handle("GET /readyz", g.readiness())
	mux.Handle("GET /metrics", g.metrics.handler())
	mux.Handle("GET /debug/breakers", http.HandlerFunc(g.debugBreakers))
	return mux, nil
}

// track holds a lifecycle connection guard for each request, so shutdown
// drains them; before the coordinator exists it passes requests through.
func (g *gateway) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.coord == nil {
			next.ServeHTTP(w, r)
			return
		}
		g.coord.Track(next).ServeHTTP(w, r)
	})
}

func (g *gateway) readiness() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.coord == nil {
			_, _ = io.WriteString(w, "ok\n")
			return
		}
		g.coord.Readiness().ServeHTTP(w, r)
	})
}

// callFunc calls a route's upstream with the request's query.
type callFunc func(ctx context.Context, query string) ([]byte, error)

// caller builds the call path of one route.
func (g *gateway) caller(rt route) (callFunc, error) {
	b := g.backends[rt.Upstream]
	if b == nil {
		return nil, fmt.Errorf("route %s: unknown upstream %q", rt.Name, rt.Upstream)
	}
	if !g.resilient {
		client := &http.Client{Timeout: rt.Limit, Transport: g.transport}
		return func(ctx context.Context, query string) ([]byte, error) {
			return fetch(ctx, client, b, query, 1)
		}, nil
	}
	r, err := retry.New(retry.Config{
		MaxAttempts:  rt.Attempts,
		InitialDelay: 10 * time.Millisecond,
		MaxDelay:     200 * time.Millisecond,
		Jitter:       retry.DecorrelatedJitter,
		Budget:       b.budget,
		Classify:     retryClassify,
		Rand:         g.rnd,
	})
	if err != nil {
		return nil, err
	}
	if err := g.metrics.lib.Retry("route-"+rt.Name, r); err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &deadline.Transport{Base: g.transport}}
	// One pipeline per route, in the library's fixed order: retry, then
	// the upstream's breaker (which judges each attempt), then the
	// attempt's own timeout.
	p := &resilience.Pipeline{
		Name:           attemptOp(rt),
		Retry:          r,
		Breaker:        b.breaker,
		AttemptTimeout: g.table.Limit(attemptOp(rt)),
		Timer:          g.sched,
	}
	return func(ctx context.Context, query string) ([]byte, error) {
		return resilience.Do(ctx, p, func(ctx context.Context) ([]byte, error) {
			return fetch(ctx, client, b, query, resilience.Attempt(ctx))
		})
	}, nil
}

// fetch makes one attempt: a GET of the upstream with the query.
func fetch(ctx context.Context, client *http.Client, b *backend, query string, attempt int) ([]byte, error) {
	u := b.url + "/"
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if attempt == 1 {
		b.firsts.Add(1)
	} else {
		b.retries.Add(1)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{upstream: b.name, code: resp.StatusCode}
	}
	b.oks.Add(1)
	return body, nil
}

// endpoint answers a route's requests with call, mapping its error to a
// status in one place (reply).
func (g *gateway) endpoint(rt route, call callFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		body, err := call(r.Context(), r.URL.RawQuery)
		outcome := reply(w, body, err)
		g.metrics.observe(rt.Name, outcome, time.Since(start))
	})
}

// reply writes the answer for a call's result and returns its outcome.
func reply(w http.ResponseWriter, body []byte, err error) string {
	status, outcome, after := verdict(err)
	w.Header().Set("X-Outcome", outcome)
	if after > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((after+time.Second-1)/time.Second)))
	}
	if err == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return outcome
	}
	http.Error(w, err.Error(), status)
	return outcome
}

// verdict maps a call's error to a status, an outcome and, for an open
// breaker, how long the client should wait. A retry loop's error is
// judged by its last attempt.
func verdict(err error) (status int, outcome string, after time.Duration) {
	if err == nil {
		return http.StatusOK, outcomeOK, 0
	}
	last := err
	var re *retry.Error
	if errors.As(err, &re) && re.Last != nil {
		last = re.Last
	}
	var oe *resilience.RejectedError
	var ne net.Error
	switch {
	case errors.As(last, &oe) && errors.Is(oe, resilience.ErrOpen): // open, or half-open and full
		return http.StatusServiceUnavailable, outcomeFastFail, max(oe.RetryAfter(), time.Second)
	case errors.Is(last, resilience.ErrTimeout), errors.Is(last, context.DeadlineExceeded),
		errors.As(last, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout, outcomeTimeout, 0
	case errors.Is(last, context.Canceled):
		return http.StatusServiceUnavailable, outcomeCanceled, 0
	}
	return http.StatusBadGateway, outcomeError, 0
}
