package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/llm-research-lab/resilience/breaker"
)

// report prints, once a second until ctx ends, a line per upstream about
// the requests that finished in that second.
func (s *system) report(ctx context.Context, con *console, rec *recorder, g *gateway) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	seen := 0
	last := map[string]int64{}
	for name, u := range s.ups {
		last[name] = u.received.Load()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var batch []sample
		batch, seen = rec.since(seen)
		for _, name := range upstreamNames {
			n := s.ups[name].received.Load()
			state := "-"
			if g.resilient {
				state = g.backends[name].breaker.State().String()
			}
			st := tally(batch, name)
			con.stampf("%-8s %-9s req %3d  ok %3d  fast-fail %3d  timeout %3d  error %3d  p50 %7s  p99 %7s  upstream saw %3d\n",
				name, state, st.n, st.ok, st.fast, st.timeout, st.errs, ms(st.p50), ms(st.p99), n-last[name])
			last[name] = n
		}
	}
}

// stats summarise a set of samples.
type stats struct {
	n, ok, fast, timeout, errs, unanswered int
	p50, p99, max                          time.Duration
}

// tally summarises the samples of one route.
func tally(samples []sample, route string) stats {
	var st stats
	var lat []time.Duration
	for _, s := range samples {
		if s.route != route {
			continue
		}
		st.n++
		switch {
		case s.err != nil:
			st.unanswered++
		case s.outcome == outcomeOK:
			st.ok++
		case s.outcome == outcomeFastFail:
			st.fast++
		case s.outcome == outcomeTimeout:
			st.timeout++
		default:
			st.errs++
		}
		lat = append(lat, s.latency)
	}
	st.p50, st.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	if len(lat) > 0 {
		st.max = slices.Max(lat)
	}
	return st
}

// during keeps the samples of requests that started in [from, to).
func during(samples []sample, from, to time.Time) []sample {
	var out []sample
	for _, s := range samples {
		if !s.start.Before(from) && s.start.Before(to) {
			out = append(out, s)
		}
	}
	return out
}

// percentile is the nearest-rank q-quantile of d; zero for no data.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// ms formats a latency compactly.
func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// outageTimeout is the limit of the route whose upstream goes down: the
// no-library client's timeout, which its requests sit out.
func outageTimeout() time.Duration {
	for _, r := range defaultRoutes() {
		if r.Name == outageUpstream {
			return r.Limit
		}
	}
	return 0
}

// printSummary prints the side-by-side comparison and the checks.
func printSummary(con *console, res *result) {
	w, wo := res.with, res.without
	ow := tally(during(w.samples, w.from, w.to), outageUpstream)
	oo := tally(during(wo.samples, wo.from, wo.to), outageUpstream)
	con.printf("\n== summary: the %s outage (%v), requests that started during it\n", outageUpstream, w.to.Sub(w.from).Round(100*time.Millisecond))
	con.printf("  %-34s %14s %14s\n", "", "with library", "without")
	row := func(label string, a, b any) { con.printf("  %-34s %14v %14v\n", label, a, b) }
	row("requests to /api/"+outageUpstream, ow.n, oo.n)
	row("answered", ow.n-ow.unanswered, oo.n-oo.unanswered)
	row("p50 latency", ms(ow.p50), ms(oo.p50))
	row("p99 latency", ms(ow.p99), ms(oo.p99))
	row("max latency", ms(ow.max), ms(oo.max))
	row("fast-fails (503 + Retry-After)", ow.fast, oo.fast)
	row("timeouts (504)", ow.timeout, oo.timeout)
	row("requests the upstream received", w.outageLoad, wo.outageLoad)
	con.printf("  (the route's timeout is %v; other routes kept working in both runs)\n", outageTimeout())

	con.printf("\n== whole passes\n")
	for _, name := range upstreamNames {
		a, b := tally(w.samples, name), tally(wo.samples, name)
		con.printf("  %-8s with: %4d req, %4d ok, p99 %7s   without: %4d req, %4d ok, p99 %7s\n",
			name, a.n, a.ok, ms(a.p99), b.n, b.ok, ms(b.p99))
	}
	con.printf("  retries (with library): ")
	for _, name := range upstreamNames {
		con.printf("%s %d extra of %d allowed  ", name, extraLoad(w, name), budgetBound(w, name))
	}
	explainPasses(con, w, wo)
	con.printf("\n== jobs over channels (with library): a settlement job to %s every 50 ms, through resilience.Submit\n", outageUpstream)
	con.printf("  %v\n", w.jobs)
	con.printf("\n\n== checks\n")
	for _, c := range res.checks() {
		mark := "ok  "
		if c.err != nil {
			mark = "FAIL"
		}
		con.printf("  %s %s\n", mark, c.name)
		if c.err != nil {
			con.printf("       %v\n", c.err)
		}
	}
}

// extraLoad is what an upstream received beyond the gateway's first
// attempts: the load its retries added.
func extraLoad(p passResult, name string) int64 { return p.received[name] - p.firsts[name] }

// budgetBound is what the retry budget allows: its 10 tokens plus 0.1
// per successful call.
func budgetBound(p passResult, name string) int64 { return 10 + p.oks[name]/10 }

// check is one named claim about the run.
type check struct {
	name      string
	invariant bool // breaking it makes the demo exit non-zero
	err       error
}

// checks evaluates the demo's claims. The invariants (every request
// answered, a bounded shutdown) fail the run; the others describe what
// the library achieved and are asserted by the end-to-end test.
func (r *result) checks() []check {
	limit := outageTimeout()
	ow := tally(during(r.with.samples, r.with.from, r.with.to), outageUpstream)
	oo := tally(during(r.without.samples, r.without.from, r.without.to), outageUpstream)
	cs := []check{
		{"every request got an answer", true, answered(r.with, r.without)},
		{"shutdown finished within its grace period", true, r.shutdown.failed()},
		{"the breaker opened during the outage", false, opened(r.with)},
		{"the breaker closed after the recovery", false, closedAfter(r.with)},
		{fmt.Sprintf("with the library, p99 during the outage ≤ %v (a tenth of the timeout)", limit/10), false,
			atMost(ow.p99, limit/10)},
		{fmt.Sprintf("without it, p99 during the outage is at the timeout (≥ %v)", limit*9/10), false,
			atMost(limit*9/10, oo.p99)},
		{"retries stayed within the retry budget", false, withinBudget(r.with)},
		{"every settlement job accepted got exactly one answer", true, jobsAnswered(r.with.jobs)},
	}
	return cs
}

// failures joins the failed invariants.
func (r *result) failures() error {
	var errs []error
	for _, c := range r.checks() {
		if c.invariant && c.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, c.err))
		}
	}
	return errors.Join(errs...)
}

func jobsAnswered(j jobStats) error {
	if lost := j.submitted - j.answered(); lost != 0 {
		return fmt.Errorf("%d of %d accepted jobs had no answer", lost, j.submitted)
	}
	return nil
}

func answered(passes ...passResult) error {
	var errs []error
	for _, p := range passes {
		for _, s := range p.samples {
			if s.err != nil {
				errs = append(errs, fmt.Errorf("%s: GET /api/%s at +%v: %w", p.name, s.route, s.start.Sub(p.start).Round(time.Millisecond), s.err))
			}
		}
	}
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("and %d more", len(errs)-3))
	}
	return errors.Join(errs...)
}

func opened(p passResult) error {
	for _, ev := range p.events {
		if ev.Name == outageUpstream && ev.To == breaker.Open && !ev.At.Before(p.from) && ev.At.Before(p.to) {
			return nil
		}
	}
	return fmt.Errorf("no %s breaker opening between +%v and +%v", outageUpstream, p.from.Sub(p.start), p.to.Sub(p.start))
}

func closedAfter(p passResult) error {
	for _, ev := range p.events {
		if ev.Name == outageUpstream && ev.To == breaker.Closed && !ev.At.Before(p.to) && p.final[outageUpstream] == breaker.Closed {
			return nil
		}
	}
	return fmt.Errorf("the %s breaker did not close after +%v (it ends %s)", outageUpstream, p.to.Sub(p.start), p.final[outageUpstream])
}

func atMost(got, bound time.Duration) error {
	if got > bound {
		return fmt.Errorf("%v > %v", got, bound)
	}
	return nil
}

func withinBudget(p passResult) error {
	var errs []error
	for _, name := range upstreamNames {
		if extra, bound := extraLoad(p, name), budgetBound(p, name); extra > bound {
			errs = append(errs, fmt.Errorf("%s received %d requests beyond first attempts, budget allows %d", name, extra, bound))
		}
	}
	return errors.Join(errs...)
}

// printShutdown prints the shutdown report.
func printShutdown(con *console, rep shutdownReport) {
	con.printf("\n== shutdown through the tree (must finish within %v: propagation delay %v, grace %v)\n", rep.limit, rep.limit-rep.grace, rep.grace)
	con.printf("  readiness → 503, new requests refused; %d request(s) in flight drained\n", rep.inflight)
	for _, s := range rep.stops {
		status := "stopped"
		if s.err != nil {
			status = "FAILED: " + s.err.Error()
		}
		con.printf("  %-26s %-8s %s\n", s.name, ms(s.elapsed), status)
	}
	con.printf("  hook close-idle-connections ran\n")
	result := "clean"
	if rep.err != nil {
		result = rep.err.Error()
	}
	con.printf("  finished in %v: %s\n", ms(rep.elapsed), result)
}
