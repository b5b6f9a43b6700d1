package eventlog

import "time"

// maxSources bounds how many sources the Log keeps a window for; beyond
// it, new sources share the overflow window.
const maxSources = 1024

// source identifies what wrote a record: a breaker or a retry policy, by
// name.
type source struct{ kind, name string }

// overflow is the window shared by sources beyond maxSources.
var overflow = source{kind: "other"}

// window counts one source's records in its current interval.
type window struct {
	start      time.Time
	written    int
	suppressed int
}

// windows caps the records of each source per interval.
type windows struct {
	burst    int
	interval time.Duration
	by       map[source]*window
}

// admit reports whether src may write a record at now, counting it either
// way. A window whose interval has ended is rolled over first, and its
// suppressed count, if any, is returned to be reported.
func (w *windows) admit(src source, now time.Time) (ok bool, ended int) {
	win := w.lookup(src, now)
	if now.Sub(win.start) >= w.interval {
		ended = win.suppressed
		*win = window{start: now}
	}
	if win.written < w.burst {
		win.written++
		return true, ended
	}
	win.suppressed++
	return false, ended
}

// lookup returns src's window, making one if needed.
func (w *windows) lookup(src source, now time.Time) *window {
	if win, ok := w.by[src]; ok {
		return win
	}
	if len(w.by) >= maxSources {
		w.prune(now)
	}
	if len(w.by) >= maxSources {
		src = overflow
		if win, ok := w.by[src]; ok {
			return win
		}
	}
	win := &window{start: now}
	w.by[src] = win
	return win
}

// prune forgets the windows whose interval ended with nothing suppressed.
func (w *windows) prune(now time.Time) {
	for src, win := range w.by {
		if win.suppressed == 0 && now.Sub(win.start) >= w.interval {
			delete(w.by, src)
		}
	}
}

// due calls report for every window whose interval ended (every window,
// if all) with records suppressed and forgets it, and returns when the
// next such window ends (zero if none).
func (w *windows) due(now time.Time, report func(source, int), all bool) time.Time {
	var next time.Time
	for src, win := range w.by {
		if win.suppressed == 0 {
			continue
		}
		end := win.start.Add(w.interval)
		if all || !now.Before(end) {
			report(src, win.suppressed)
			delete(w.by, src)
			continue
		}
		if next.IsZero() || end.Before(next) {
			next = end
		}
	}
	return next
}
