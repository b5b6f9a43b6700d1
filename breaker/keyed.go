package breaker

import (
	"context"
	"errors"
)

// ExecuteKey runs fn through the breaker for key in f, creating it on
// first use, exactly as [Execute] runs it through a single breaker. It
// also returns [ErrFull] or [ErrStopped] from [Family.For]. For a key
// already present and closed it takes no lock and does not allocate.
//
// Unlike calling Execute on the breaker For returned, it never fails with
// ErrStopped because the key was evicted meanwhile: it reads the key's
// state once, and a call admitted by that state runs even if the key is
// evicted while it does (its result then goes to the evicted breaker); a
// key evicted while its actor was admitting a half-open probe is looked up
// again, before fn runs.
func ExecuteKey[K comparable, T any](ctx context.Context, f *Family[K], key K, fn func(context.Context) (T, error)) (T, error) {
	if e, s := f.hot(key); e != nil {
		return executeFrom(ctx, e.b, s, fn)
	}
	e, s, err := f.admit(key)
	switch {
	case err != nil:
		var zero T
		return zero, err
	case !direct(s):
		return executeProbe(ctx, f, key, e, s, fn)
	}
	return executeFrom(ctx, e.b, s, fn)
}

// Call is [ExecuteKey] for a function that returns only an error.
func (f *Family[K]) Call(ctx context.Context, key K, fn func(context.Context) error) error {
	if e, s := f.hot(key); e != nil {
		return callFrom(ctx, e.b, s, fn)
	}
	e, s, err := f.admit(key)
	switch {
	case err != nil:
		return err
	case !direct(s):
		_, err := executeProbe(ctx, f, key, e, s, errOnly(fn))
		return err
	}
	return callFrom(ctx, e.b, s, fn)
}

// executeProbe is the keyed call for a state that needs the actor's
// permission (half-open, or slow-call timing): it gets that permission,
// looking the key up again if it was evicted meanwhile, then runs fn.
func executeProbe[K comparable, T any](ctx context.Context, f *Family[K], key K, e *entry[K], s *snapshot, fn func(context.Context) (T, error)) (T, error) {
	e, s, p, held, err := f.admitProbe(ctx, key, e, s)
	switch {
	case err != nil:
		var zero T
		return zero, err
	case held:
		return runWith(ctx, e.b, p, fn)
	}
	return executeFrom(ctx, e.b, s, fn)
}

// direct reports whether a call under s needs no permission from the actor:
// the closed fast path, an open rejection, or a stopped breaker.
func direct(s *snapshot) bool { return s.pass || s.reject || s.stopped }

// admitProbe asks e's actor to admit a call under s (half-open, or closed
// with slow-call timing); held reports that permit p was granted. A key
// evicted between its lookup and the actor's answer (acquire then says
// ErrStopped and the entry is dead) is looked up again: fn has not run.
func (f *Family[K]) admitProbe(ctx context.Context, key K, e *entry[K], s *snapshot) (*entry[K], *snapshot, permit, bool, error) {
	for {
		p, err := e.b.acquireCtx(ctx, s)
		if !errors.Is(err, ErrStopped) || e.seen.Load() != dead {
			return e, s, p, err == nil, err
		}
		if e, s, err = f.admit(key); err != nil || direct(s) {
			return e, s, permit{}, false, err
		}
	}
}

// hot is the fast path of admit: key's entry and its closed snapshot when
// the key is present, already touched in this epoch and closed, else nil.
// It writes nothing; admit covers every other case.
func (f *Family[K]) hot(key K) (*entry[K], *snapshot) {
	e := f.idx.load(key)
	if e == nil {
		return nil, nil
	}
	if seen := e.seen.Load(); seen == dead || seen < f.epoch.Load() {
		return nil, nil
	}
	if s := e.b.snap.Load(); s.pass {
		return e, s
	}
	return nil, nil
}

// admit returns key's entry and the snapshot the call will run under:
// one that is not stopped, unless the user stopped the breaker.
func (f *Family[K]) admit(key K) (*entry[K], *snapshot, error) {
	for {
		e, err := f.lookup(key)
		if err != nil {
			return nil, nil, err
		}
		s := e.b.snap.Load()
		if !s.stopped || e.seen.Load() != dead {
			return e, s, nil
		}
		// Evicted after lookup touched it: look again.
	}
}

// Len returns the number of keys (breakers) the family holds now.
func (f *Family[K]) Len() int { return int(f.nKeys.Load()) }

// FamilyMetrics are a family's lifetime counters and current size.
type FamilyMetrics struct {
	Keys        int    // breakers held now
	Created     uint64 // breakers created for new keys
	EvictedIdle uint64 // closed breakers evicted after IdleTimeout unused
	EvictedLRU  uint64 // closed breakers evicted to make room under MaxKeys
	Full        uint64 // new keys refused with ErrFull
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

// Stop stops the sweeping actor and every breaker of the family, and
// waits for their goroutines to exit, or for ctx. Afterwards For returns
// [ErrStopped] for every key, and so do calls on breakers obtained before.
// Calls in flight are not waited for (as with [Breaker.Stop]). It returns
// ctx.Err() if ctx ended first (the goroutines then finish exiting in the
// background), or the sweeping actor's [*resilience.PanicError] if it failed.
// Stop is idempotent. The breakers are stopped after the family's lock is
// released, so a breaker slow to stop never holds up other callers.
func (f *Family[K]) Stop(ctx context.Context) error {
	_ = f.janitor.Stop(cancelled) // signal; waited for below
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
	waits := make([]*Breaker, 0, len(f.stopping))
	for b := range f.stopping {
		waits = append(waits, b)
	}
	f.unlock()
	for _, b := range waits {
		if err := b.Stop(ctx); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	select {
	case <-f.janitor.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	return f.janitor.Err()
}
