package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// report writes the comparison table and the fleet's story.
func report(w io.Writer, local, fleet map[string]int, s *story) {
	fmt.Fprintf(w, "three replicas, one upstream down for %v\n\n", outage)
	fmt.Fprintf(w, "calls that reached the dead upstream\n")
	fmt.Fprintf(w, "%-8s %-9s %-15s %s\n", "replica", "calls/s", "local breakers", "fleet breakers")
	var lt, ft int
	for _, r := range replicas {
		fmt.Fprintf(w, "%-8s %-9d %-15d %d\n", r.name, int(time.Second/r.every), local[r.name], fleet[r.name])
		lt, ft = lt+local[r.name], ft+fleet[r.name]
	}
	fmt.Fprintf(w, "%-8s %-9s %-15d %d\n\n", "total", "", lt, ft)
	fmt.Fprintf(w, "fleet: opened on quorum %s after the upstream died\n", ms(s.opened))
	latest := time.Duration(0)
	for _, r := range replicas {
		at, ok := s.refused[r.name]
		if !ok {
			fmt.Fprintf(w, "  %s never saw the open\n", r.name)
			continue
		}
		fmt.Fprintf(w, "  %s refusing from %s\n", r.name, ms(at))
		latest = max(latest, at-s.opened)
	}
	fmt.Fprintf(w, "  every replica refusing within %dms of the open\n", latest.Milliseconds())
	slices.SortFunc(s.owners, func(a, b owner) int { return int(a.at - b.at) })
	for i, o := range s.owners {
		fmt.Fprintf(w, "  half-open %d: probe owner %s at %s\n", i+1, o.replica, ms(o.at))
	}
	fmt.Fprintf(w, "  upstream back at %s; fleet closed at %s\n", ms(outage), ms(s.closed))
}

func ms(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("+%dms", d.Milliseconds())
}
