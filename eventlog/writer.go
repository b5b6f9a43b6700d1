package eventlog

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/hedge"
	"github.com/llm-research-lab/resilience/retry"
)

// writer turns events into records on the Log's goroutine; it is owned by
// that goroutine alone.
type writer struct {
	l     *Log
	win   windows
	next  time.Time // when the earliest window with suppressed records ends
	dirty bool      // next changed since the timer was last set
}

// breaker writes a breaker's state change.
func (w *writer) breaker(ev breaker.Event) {
	level := slog.LevelInfo
	if ev.To == breaker.Open {
		level = slog.LevelWarn
	}
	at := ev.At
	if at.IsZero() {
		at = time.Now()
	}
	w.write(source{"breaker", ev.Name}, at, level, "breaker state changed",
		slog.String("breaker", ev.Name), slog.String("from", ev.From.String()),
		slog.String("to", ev.To.String()), slog.String("reason", ev.Reason),
		slog.Uint64("generation", ev.Generation))
}

// retry writes a retry of the policy named name.
func (w *writer) retry(name string, ev retry.Event) {
	level, msg := slog.LevelInfo, "retrying"
	if errors.Is(ev.Err, resilience.ErrRejected) {
		level, msg = slog.LevelWarn, "retrying a rejected attempt"
	}
	errText := ""
	if ev.Err != nil {
		errText = ev.Err.Error()
	}
	w.write(source{"retry", name}, time.Now(), level, msg,
		slog.String("retry", name), slog.Int("attempt", ev.Attempt),
		slog.Duration("delay", ev.Delay), slog.String("error", errText))
}

// hedge writes an extra attempt a hedging policy started.
func (w *writer) hedge(ev hedge.Event) {
	errText := ""
	if ev.Err != nil {
		errText = ev.Err.Error()
	}
	w.write(source{"hedge", ev.Name}, time.Now(), slog.LevelInfo, "hedging",
		slog.String("hedge", ev.Name), slog.Int("attempt", ev.Attempt),
		slog.Duration("delay", ev.Delay), slog.String("error", errText))
}

// write hands one record to the handler if its source is within its
// burst, and reports the source's last window if it just ended with
// records suppressed.
func (w *writer) write(src source, at time.Time, level slog.Level, msg string, attrs ...slog.Attr) {
	ok, ended := w.win.admit(src, at)
	if ended > 0 {
		w.summary(src, ended, at)
	}
	if !ok {
		w.l.suppressed.Add(1)
		if end := w.win.lookup(src, at).start.Add(w.win.interval); w.next.IsZero() || end.Before(w.next) {
			w.next, w.dirty = end, true
		}
		return
	}
	w.handle(at, level, msg, attrs)
}

// summary reports that n records of src were suppressed.
func (w *writer) summary(src source, n int, at time.Time) {
	w.handle(at, slog.LevelWarn, "log records suppressed", []slog.Attr{
		slog.String(src.kind, src.name), slog.Int("suppressed", n),
		slog.Duration("interval", w.win.interval)})
}

// handle passes the record to the Logger's handler, recovering and
// counting a panic.
func (w *writer) handle(at time.Time, level slog.Level, msg string, attrs []slog.Attr) {
	defer func() {
		if recover() != nil {
			w.l.panics.Add(1)
		}
	}()
	ctx := context.Background()
	h := w.l.cfg.Logger.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(at, level, msg, 0)
	r.AddAttrs(attrs...)
	w.l.logged.Add(1)
	_ = h.Handle(ctx, r)
}

// flush reports the windows that ended with records suppressed (all of
// them when all is set) and notes when the next one ends.
func (w *writer) flush(all bool) {
	now := time.Now()
	w.next = w.win.due(now, func(src source, n int) { w.summary(src, n, now) }, all)
	w.dirty = true
}

// arm sets the timer for the next window to report, if that changed.
func (w *writer) arm(t *time.Timer) {
	if !w.dirty {
		return
	}
	w.dirty = false
	if w.next.IsZero() {
		t.Stop()
		return
	}
	t.Reset(time.Until(w.next))
}

// drain writes the events already waiting in the channels, at most a
// channel's capacity from each, so senders that keep sending cannot hold
// it.
func (w *writer) drain(breakers chan breaker.Event, hedges chan hedge.Event, retries []namedRetry) {
	drain(breakers, w.breaker)
	drain(hedges, w.hedge)
	for _, r := range retries {
		drain(r.ch, func(ev retry.Event) { w.retry(r.name, ev) })
	}
}

// drain passes up to cap(ch) events waiting in ch to write.
func drain[E any](ch chan E, write func(E)) {
	for range cap(ch) {
		select {
		case ev := <-ch:
			write(ev)
		default:
			return
		}
	}
}
