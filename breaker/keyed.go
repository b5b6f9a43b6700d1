package breaker

import (
	"context"
)

// Len returns the number of keys (breakers) the family holds now.
func (f *Family[K]) Len() int { return int(f.nKeys.Load()) }

// FamilyMetrics are a family's lifetime counters and current size.
type FamilyMetrics struct {
	Keys        int    // breakers held now
	Created     uint64 // breakers created for new keys
	EvictedIdle uint64 // closed breakers evicted after IdleTimeout unused
	EvictedLRU  uint64 // closed breakers evicted to make room under MaxKeys
	Full        uint64 // new keys refused with resilience.ErrFull
}

// Metrics returns the family's counters. The per-key counters are in each
// breaker's [Breaker.Metrics].
func (f *Family[K]) Metrics() FamilyMetrics {
	f.mu.Lock()
	defer f.mu.Unlock()
	return FamilyMetrics{
		Keys: f.idx.live, Created: f.stats.created,
		EvictedIdle: f.stats.idle, EvictedLRU: f.stats.lru, Full: f.stats.full,
	}
}

// Start makes f ready for calls. [NewFamily] starts the family's sweeping
// actor and each key's breaker starts its own goroutine on first need, so
// Start does nothing but report a stopped family
// ([resilience.ErrStopped]). It is idempotent.
func (f *Family[K]) Start(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return f.stopErr
	}
	return nil
}

// Stop stops every breaker of the family and the sweeping actor, and waits
// for their goroutines to exit, or for ctx. Afterwards For refuses every
// key with [resilience.ErrStopped], and calls on breakers obtained before
// are refused the same way. Calls in flight are not waited for (as with
// [Breaker.Stop]). It returns ctx.Err() if ctx ended first (the goroutines
// then finish exiting in the background, and [Family.Done] is closed when
// they have), or the sweeping actor's failure. Stop is idempotent. The
// breakers are stopped after the family's lock is released, so a breaker
// slow to stop never holds up other callers.
func (f *Family[K]) Stop(ctx context.Context) error {
	f.mu.Lock()
	if !f.stopped {
		f.stopped = true
		f.idx.each(func(e *entry[K]) {
			e.seen.Store(dead)
			f.retire(e.b)
		})
		f.idx.reset()
		f.cands = nil
		f.nKeys.Store(0)
	}
	f.unlock()
	// Every breaker has been told to stop: the janitor's last step waits
	// for their actors.
	_ = f.janitor.Stop(cancelled)
	select {
	case <-f.janitor.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	return f.janitor.Err()
}

// Done returns a channel that is closed once f has stopped and every
// goroutine it started (its sweeper, its breakers' actors) has exited.
func (f *Family[K]) Done() <-chan struct{} { return f.janitor.Done() }

// Err returns nil while f runs and after a clean stop, and the sweeping
// actor's failure if it failed.
func (f *Family[K]) Err() error { return f.janitor.Err() }
