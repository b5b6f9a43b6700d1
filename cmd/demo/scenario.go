package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/llm-research-lab/resilience/breaker"
)

// options are the demo's settings, from its flags.
type options struct {
	serve       bool
	duration    time.Duration // one pass of the scenario
	seed        uint64
	addr        string        // host:port the gateways listen on
	rate        int           // requests per second per route
	grace       time.Duration // shutdown must finish within it
	propagation time.Duration // readiness fails this long before listeners close
	timeline    string        // CSV file for the scenario's raw data, if set
}

func defaultOptions() options {
	return options{duration: 8 * time.Second, seed: 1, addr: "127.0.0.1:0", rate: 40, grace: 5 * time.Second}
}

// The outage of the scenario, as fractions of a pass: the payments
// upstream hangs on every request from outageFrom until outageTo, then
// recovers.
const outageFrom, outageTo = 0.25, 0.6

// passResult is what one pass of the scenario measured.
type passResult struct {
	name       string
	resilient  bool
	start, end time.Time
	from, to   time.Time // the outage
	samples    []sample
	// outageLoad is how many requests the failing upstream received
	// during its outage.
	outageLoad int64
	jobs       jobStats         // the settlement jobs, with the library only
	received   map[string]int64 // requests each upstream received
	firsts     map[string]int64 // first attempts the gateway sent
	retries    map[string]int64 // further attempts the gateway sent
	oks        map[string]int64 // attempts that succeeded
	events     []breaker.Event
	final      map[string]breaker.State
}

// result is the whole scenario: both passes and the shutdown.
type result struct {
	with, without passResult
	shutdown      shutdownReport
}

// scenario runs the scripted scenario twice, with and without the
// library, then shuts everything down through the tree.
func scenario(ctx context.Context, o options, out io.Writer) (*result, error) {
	con := &console{w: out, origin: time.Now()}
	events := &eventLog{con: con}
	sys, err := newSystem(o, true, events)
	if err != nil {
		return nil, err
	}
	if err := sys.start(ctx); err != nil {
		return nil, err
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	printIntro(con, sys, o)

	res := &result{}
	con.printf("\n== pass 1: with the library (retry ∘ breaker ∘ deadline, %s)\n", sys.gwURL)
	res.with = sys.pass(ctx, con, events, client, sys.gw, sys.gwURL, o)
	if ctx.Err() == nil {
		con.printf("\n== pass 2: without it (plain http.Client with the route's timeout, %s)\n", sys.plainURL)
		res.without = sys.pass(ctx, con, events, client, sys.plain, sys.plainURL, o)
	}
	transport.CloseIdleConnections()                  // see system.gatewaySpec: spare connections delay Shutdown
	res.shutdown = sys.shutdown(context.Background()) // bounded by the grace period
	if ctx.Err() != nil {
		printShutdown(con, res.shutdown)
		return nil, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	return res, nil
}

// pass drives load at one gateway through the fault script.
func (s *system) pass(ctx context.Context, con *console, events *eventLog, client *http.Client, g *gateway, url string, o options) passResult {
	for name, u := range s.ups {
		u.set(baseline(name))
	}
	before := s.counters(g)
	var jobsBefore jobStats
	if g.settle != nil {
		jobsBefore = g.settle.stats()
		g.settle.active.Store(true)
	}
	start := time.Now()
	con.restart(start)
	pr := passResult{
		resilient: g.resilient, start: start,
		from: start.Add(time.Duration(float64(o.duration) * outageFrom)),
		to:   start.Add(time.Duration(float64(o.duration) * outageTo)),
	}
	pr.name = "without"
	if g.resilient {
		pr.name = "with library"
	}
	rec := &recorder{}
	ld := &loadDriver{client: client, base: url, routes: upstreamNames, rate: o.rate, rec: rec}
	bg, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { pr.outageLoad = s.script(bg, con, pr.from, pr.to) })
	wg.Go(func() { s.report(bg, con, rec, g) })
	ld.run(ctx, o.duration)
	if g.settle != nil {
		g.settle.active.Store(false)
		g.settle.settled(ctx, 3*time.Second)
	}
	stop()
	wg.Wait()
	pr.end = time.Now()
	pr.samples, _ = rec.since(0)
	after := s.counters(g)
	pr.received, pr.firsts, pr.retries, pr.oks = after.minus(before)
	pr.events = events.between(start, pr.end)
	if g.settle != nil {
		pr.jobs = g.settle.stats().minus(jobsBefore)
	}
	pr.final = map[string]breaker.State{}
	for name, b := range g.backends {
		pr.final[name] = b.breaker.State()
	}
	return pr
}

// script takes the outage upstream down at from and brings it back at
// to; it returns the requests that upstream received in between.
func (s *system) script(ctx context.Context, con *console, from, to time.Time) int64 {
	u := s.ups[outageUpstream]
	defer u.set(baseline(outageUpstream))
	if !sleepUntil(ctx, from) {
		return 0
	}
	n := u.received.Load()
	u.set(faults{Down: true})
	con.stampf("  ▼ %s goes down: every request hangs until its caller gives up\n", outageUpstream)
	if !sleepUntil(ctx, to) {
		return u.received.Load() - n
	}
	n = u.received.Load() - n
	u.set(baseline(outageUpstream))
	con.stampf("  ▲ %s recovers\n", outageUpstream)
	return n
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// counters is a snapshot of the per-upstream counters.
type counters struct{ received, firsts, retries, oks map[string]int64 }

func (s *system) counters(g *gateway) counters {
	c := counters{map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}}
	for _, name := range upstreamNames {
		b := g.backends[name]
		c.received[name] = s.ups[name].received.Load()
		c.firsts[name], c.retries[name], c.oks[name] = b.firsts.Load(), b.retries.Load(), b.oks.Load()
	}
	return c
}

func (c counters) minus(b counters) (received, firsts, retries, oks map[string]int64) {
	sub := func(x, y map[string]int64) map[string]int64 {
		out := map[string]int64{}
		for k := range x {
			out[k] = x[k] - y[k]
		}
		return out
	}
	return sub(c.received, b.received), sub(c.firsts, b.firsts), sub(c.retries, b.retries), sub(c.oks, b.oks)
}

func printIntro(con *console, s *system, o options) {
	con.printf("resilience demo: three upstreams, a gateway built from the library, and the same gateway without it\n")
	for _, name := range upstreamNames {
		con.printf("  upstream %-8s %s  %s\n", name, s.ups[name].URL(), describe(baseline(name)))
	}
	for _, r := range defaultRoutes() {
		con.printf("  route %-18s → %-8s limit %-5v per attempt %-6v attempts %d\n", r.Pattern, r.Upstream, r.Limit, r.Attempt, r.Attempts)
	}
	con.printf("  load: %d req/s on each of /api/users, /api/search, /api/payments for %v per pass; %s is down from %.0f%% to %.0f%% of it\n",
		o.rate, o.duration, outageUpstream, outageFrom*100, outageTo*100)
}

func describe(f faults) string {
	return fmt.Sprintf("latency %v+U(0,%v), errors %.0f%%, hangs %.0f%%", f.Latency, f.Jitter, f.ErrorRate*100, f.HangRate*100)
}
