package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/llm-research-lab/resilience/breaker"
)

// console serialises the demo's output, which comes from the reporter,
// the fault script and the breaker watchers, and stamps it with the time
// since the current pass began.
type console struct {
	mu     sync.Mutex
	w      io.Writer
	origin time.Time
}

func (c *console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, format, args...)
}

// stampf prints a line prefixed with the time since the pass began.
func (c *console) stampf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, "%5.1fs  ", time.Since(c.origin).Seconds())
	fmt.Fprintf(c.w, format, args...)
}

// restart makes now the origin of the timestamps.
func (c *console) restart(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.origin = now
}

// eventLog records breaker state changes and prints them as they happen.
type eventLog struct {
	mu     sync.Mutex
	con    *console
	events []breaker.Event
}

func (l *eventLog) add(ev breaker.Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	l.con.stampf("  ⇢ breaker %-8s %s → %s (%s)\n", ev.Name, ev.From, ev.To, ev.Reason)
}

// between returns the events in [from, to).
func (l *eventLog) between(from, to time.Time) []breaker.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []breaker.Event
	for _, ev := range l.events {
		if !ev.At.Before(from) && ev.At.Before(to) {
			out = append(out, ev)
		}
	}
	return out
}
