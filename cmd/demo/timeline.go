package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"time"
)

// writeTimeline writes the scenario's raw data as CSV, one row per
// request, breaker state change and outage edge, for plotting (see
// docs/demo-plots). Times are seconds since the pass began.
//
//	pass,kind,t,route,latency_ms,outcome,state
func writeTimeline(path string, res *result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"pass", "kind", "t", "route", "latency_ms", "outcome", "state"})
	for _, p := range []passResult{res.with, res.without} {
		sec := func(t time.Time) string { return strconv.FormatFloat(t.Sub(p.start).Seconds(), 'f', 4, 64) }
		_ = w.Write([]string{p.name, "outage_start", sec(p.from), outageUpstream, "", "", ""})
		_ = w.Write([]string{p.name, "outage_end", sec(p.to), outageUpstream, "", "", ""})
		for _, s := range p.samples {
			lat := strconv.FormatFloat(float64(s.latency)/1e6, 'f', 3, 64)
			outcome := s.outcome
			if s.err != nil {
				outcome = "unanswered"
			}
			_ = w.Write([]string{p.name, "request", sec(s.start), s.route, lat, outcome, ""})
		}
		for _, ev := range p.events {
			_ = w.Write([]string{p.name, "breaker", sec(ev.At), ev.Name, "", "", ev.To.String()})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		_ = f.Close()
		return fmt.Errorf("timeline: %w", err)
	}
	return f.Close()
}
