package main

import "time"

// explainPasses says in numbers why two figures of the whole-pass table
// favour the gateway without the library, which a reader would otherwise
// take for a flaw.
func explainPasses(con *console, w, wo passResult) {
	users := "users"
	a, b := tally(w.samples, users), tally(wo.samples, users)
	con.printf("\n  why %s's p99 is higher with the library: %s fails %.0f%% of requests at random; the library retries them\n"+
		"    after a short jittered backoff, so they end ok but later (%d ok of %d, against %d of %d without, where the\n"+
		"    failures are answered fast as errors and never reach the p99). The p99 of ok answers only: %s with, %s without.\n",
		users, users, baseline(users).ErrorRate*100, a.ok, a.n, b.ok, b.n, ms(okP99(w.samples, users)), ms(okP99(wo.samples, users)))
	late := lateFastFails(w)
	con.printf("  why %s has fewer ok with the library: after the upstream recovered, its breaker stayed open until its\n"+
		"    open timeout (500 ms) ran out and a probe succeeded, refusing %d requests at once that a plain client would\n"+
		"    have got through; that is the price of not sending a dead upstream any traffic during the outage.\n",
		outageUpstream, late)
}

// okP99 is the p99 latency of a route's requests that ended ok.
func okP99(samples []sample, route string) time.Duration {
	var lat []time.Duration
	for _, s := range samples {
		if s.route == route && s.err == nil && s.outcome == outcomeOK {
			lat = append(lat, s.latency)
		}
	}
	return percentile(lat, 0.99)
}

// lateFastFails counts the outage route's requests refused by the open
// breaker after the upstream had recovered.
func lateFastFails(p passResult) int {
	n := 0
	for _, s := range p.samples {
		if s.route == outageUpstream && s.outcome == outcomeFastFail && !s.start.Before(p.to) {
			n++
		}
	}
	return n
}
