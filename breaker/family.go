package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// Defaults applied to zero [FamilyConfig] fields.
const (
	defaultIdleTimeout = 5 * time.Minute
	defaultMaxKeys     = 100_000
)

// FamilyConfig configures [NewFamily]. Every zero field means the
// documented default.
type FamilyConfig struct {
	// Breaker configures every breaker of the family; the breakers share
	// it. Its Shards field defaults to 1 here, whatever the number of
	// processors, so that an idle key's counters take 128 bytes: processors
	// without a slot of their own count with atomic adds in a shared one.
	// A family whose hot keys are called from many processors at once may
	// raise it, at 64 bytes per slot per key.
	// Each breaker is named after its key (fmt.Sprint of it when the key
	// is not a string), in its events and refusals. Config.Events, if
	// set, receives the events of every key.
	Breaker Config
	// IdleTimeout is how long a closed breaker must go unused before it is
	// evicted: it is evicted after between IdleTimeout and 1.5 × IdleTimeout
	// without a call. Default 5 minutes.
	IdleTimeout time.Duration
	// MaxKeys caps the number of breakers. A new key beyond it evicts the
	// least recently used closed breaker (approximately: the oldest of a
	// sample), or is refused with [resilience.ErrFull] if none is closed.
	// Default 100,000.
	MaxKeys int
}

// familyShards is a family's default Config.Shards: many keys, each
// rarely called from several processors at once.
const familyShards = 1

// dead marks an evicted entry's seen epoch: a caller that finds it looks
// the key up again.
const dead = math.MaxUint64

// entry is one key's breaker and the sweep epoch it was last used in.
type entry[K comparable] struct {
	key  K
	hash uint64 // of key, set by the index before the entry is published
	b    *Breaker
	seen atomic.Uint64
}

// famMsg is the family actor's closed set of messages.
type famMsg uint8

const (
	famStart famMsg = iota // schedule the first sweep
	famSweep               // timer: advance the epoch and evict idle keys
)

// Family is a set of breakers, one per key (a host, a tenant, a model),
// created on first use with one shared configuration. It is safe for
// concurrent use; create it with [NewFamily] (there is no useful zero
// value) and call [Family.Stop] when done. Callers look the key's breaker
// up with [Family.For] and call through it.
//
// A key costs memory, not a goroutine or a timer, whatever its window:
// its breaker starts an actor only when it trips (with a failure-rate
// window, when a call fails), and loses it when evicted. One actor per family sweeps
// out idle keys on a timer. Lookups take no lock and write nothing (but
// a word per key once per sweep interval); creating and evicting keys
// take a mutex.
type Family[K comparable] struct {
	// The fields a call reads come first, to share a cache line.
	idx   index[K] // key → entry; written under mu
	epoch atomic.Uint64

	cfg      FamilyConfig
	interval time.Duration
	janitor  *actor.Actor[famMsg]
	full     error // the refusal at the cap
	stopErr  error // the refusal after Stop

	mu       sync.Mutex // guards creation, eviction and the fields below
	stopped  bool
	cands    []candidate[K]                            // eviction candidates, oldest first
	evicted  []*Breaker                                // evicted, to stop once mu is released
	stopping map[*Breaker]struct{}                     // evicted, perhaps still exiting
	stats    struct{ created, idle, lru, full uint64 } // lifetime counters
	// halt stops an evicted breaker without waiting for it.
	halt func(*Breaker)

	nKeys atomic.Int64 // n, readable without the mutex
}

// candidate is a key the cap may evict, with the epoch it was seen in
// when the candidate list was built: if that changed, it was used since.
type candidate[K comparable] struct {
	e    *entry[K]
	seen uint64
}

// NewFamily returns an empty family, or a [*resilience.ConfigError]
// naming the first invalid field. It starts the family's sweeping actor.
func NewFamily[K comparable](cfg FamilyConfig) (*Family[K], error) {
	switch {
	case cfg.IdleTimeout < 0:
		return nil, familyErr("IdleTimeout", "must not be negative")
	case cfg.MaxKeys < 0:
		return nil, familyErr("MaxKeys", "must not be negative")
	}
	if cfg.Breaker.Shards == 0 {
		cfg.Breaker.Shards = familyShards
	}
	bc, err := cfg.Breaker.withDefaults()
	if err != nil {
		var ce *resilience.ConfigError
		if errors.As(err, &ce) {
			return nil, familyErr("Breaker."+strings.TrimPrefix(ce.Field, "breaker.Config."), ce.Reason)
		}
		return nil, err
	}
	cfg.Breaker = bc
	cfg.IdleTimeout = or(cfg.IdleTimeout, defaultIdleTimeout)
	cfg.MaxKeys = or(cfg.MaxKeys, defaultMaxKeys)
	f := &Family[K]{cfg: cfg, interval: max(cfg.IdleTimeout/2, 1), halt: signalStop, stopping: map[*Breaker]struct{}{},
		full: refusal(bc.Name, resilience.ErrFull, time.Time{}), stopErr: stoppedRefusal(bc.Name, nil)}
	f.idx.init()
	a, err := actor.Spawn(actor.Config{Name: bc.Name + " family", Mailbox: 1, DiscardOnStop: true},
		func() actor.Behavior[famMsg] { return janitor[K]{f} })
	if err != nil {
		return nil, err
	}
	f.janitor = a
	_ = a.Tell(famStart) // the mailbox is empty: it fits
	return f, nil
}

// familyErr reports an invalid FamilyConfig field.
func familyErr(field, reason string) error {
	return &resilience.ConfigError{Field: "breaker.FamilyConfig." + field, Reason: reason}
}

// janitor is the family actor's behaviour: a sweep every interval. It owns
// the timer; the sweep itself shares the map with callers through the
// family's mutex. When the family stops, it waits for the actors of the
// breakers the family stopped, so its exit (the family's Done) means every
// goroutine of the family has exited.
type janitor[K comparable] struct{ f *Family[K] }

// Receive sweeps, and schedules the next sweep.
func (j janitor[K]) Receive(self *actor.Self[famMsg], m famMsg) {
	if m == famSweep {
		j.f.sweep()
	}
	self.Schedule(j.f.interval, famSweep)
}

// Stopped waits for the stopped breakers' actors to exit. They have been
// told to stop and run no user code, so the wait is short.
func (j janitor[K]) Stopped(error) {
	j.f.mu.Lock()
	var waits []*actor.Actor[msg]
	for b := range j.f.stopping {
		if a := b.act.Load(); a != nil {
			waits = append(waits, a)
		}
	}
	j.f.mu.Unlock()
	for _, a := range waits {
		<-a.Done()
	}
}

// For returns the breaker for key, creating it on first use. It refuses
// with [resilience.ErrFull] when the cap is reached and nothing may be
// evicted, and with [resilience.ErrStopped] after [Family.Stop]. For a key
// already present it takes no lock, does not allocate and writes nothing
// (but one word per key once per sweep interval).
//
// Look the breaker up for each call: a lookup is what keeps the key in
// use. A handle kept across calls stays usable: once its key is evicted
// as idle, each call on it (Run, Allow, [resilience.Do]) goes on with the
// key's current breaker, created afresh if need be, at the cost of one
// lookup. Calls on it after Family.Stop are refused with ErrStopped.
func (f *Family[K]) For(key K) (*Breaker, error) {
	e, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	return e.b, nil
}

// lookup returns key's live entry, touched in the current epoch.
func (f *Family[K]) lookup(key K) (*entry[K], error) {
	for {
		e := f.idx.load(key)
		if e == nil {
			return f.create(key)
		}
		if f.touch(e) {
			return e, nil
		}
		// Evicted between the load and the touch: look again.
	}
}

// touch records that e is used in the current epoch, unless it has been
// evicted. It writes only the first time in an epoch, and never moves
// seen back (a caller that read the epoch just before the sweep bumped
// it must not undo a newer touch).
func (f *Family[K]) touch(e *entry[K]) bool {
	ep := f.epoch.Load()
	for {
		s := e.seen.Load()
		switch {
		case s == dead:
			return false
		case s >= ep:
			return true
		case e.seen.CompareAndSwap(s, ep):
			return true
		}
	}
}

// create adds key's breaker, evicting one at the cap.
func (f *Family[K]) create(key K) (*entry[K], error) {
	f.mu.Lock()
	defer f.unlock()
	if f.stopped {
		return nil, f.stopErr
	}
	if e := f.idx.load(key); e != nil { // created meanwhile; never dead under mu
		f.touch(e)
		return e, nil
	}
	if f.idx.live >= f.cfg.MaxKeys && !f.evictLRU() {
		f.stats.full++
		return nil, f.full
	}
	name, ok := any(key).(string)
	if !ok {
		name = fmt.Sprint(key)
	}
	// Every key shares the family's Config (validated by NewFamily).
	e := &entry[K]{key: key, b: newBreaker(&f.cfg.Breaker, name)}
	e.seen.Store(f.epoch.Load())
	f.idx.insert(e)
	f.nKeys.Store(int64(f.idx.live))
	f.stats.created++
	return e, nil
}

// evictable reports whether e's breaker holds no state worth keeping:
// closed and not held by ForceClose.
func evictable[K comparable](e *entry[K]) bool {
	s := e.b.snap.Load()
	return s.state == Closed && !s.forced && !s.stopped
}

// evict removes e if it is still evictable and was last seen in epoch
// seen. The caller holds mu.
func (f *Family[K]) evict(e *entry[K], seen uint64) bool {
	if !evictable(e) || !e.seen.CompareAndSwap(seen, dead) {
		return false
	}
	key := e.key
	e.b.mu.Lock()
	e.b.next = func() (*Breaker, error) { return f.For(key) }
	e.b.mu.Unlock()
	f.idx.remove(e)
	f.nKeys.Store(int64(f.idx.live))
	f.retire(e.b)
	return true
}

// retire queues an evicted breaker to be stopped once mu is released, and
// keeps it until it has exited, so Stop can wait for it. The caller holds
// mu.
func (f *Family[K]) retire(b *Breaker) {
	f.evicted = append(f.evicted, b)
	f.stopping[b] = struct{}{}
}

// unlock releases mu, then stops the breakers evicted while it was held
// (a breaker slow to stop never holds up the family's other keys), and
// forgets those that have already exited.
func (f *Family[K]) unlock() {
	evicted := f.evicted
	f.evicted = nil
	f.mu.Unlock()
	if len(evicted) == 0 {
		return
	}
	for _, b := range evicted {
		f.halt(b)
	}
	f.mu.Lock()
	for _, b := range evicted {
		if exited(b) {
			delete(f.stopping, b)
		}
	}
	f.mu.Unlock()
}

// signalStop stops b without waiting: a later call on it goes on with the
// key's current breaker instead of starting an actor nobody owns, and its
// actor, if any, exits in the background.
func signalStop(b *Breaker) { _ = b.Stop(cancelled) }

// exited reports whether b is stopped and has no actor still running.
func exited(b *Breaker) bool {
	if !b.snap.Load().stopped {
		return false
	}
	a := b.act.Load()
	if a == nil {
		return true
	}
	select {
	case <-a.Done():
		return true
	default:
		return false
	}
}

// cancelled is a context that is already done: Stop with it signals and
// returns at once. (Its cancel function has been called: nothing leaks.)
var cancelled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// candidatesKept is how many of the least recently used keys one scan
// remembers for the cap to evict.
const candidatesKept = 64

// evictLRU evicts the least recently used evictable key it can find. It
// tries the remembered candidates, then rescans; a candidate whose entry
// was used after the scan that found it is passed over, since a key the
// cap evicts should be one nobody is using. If callers used every fresh
// candidate in the meantime (each key is written once per epoch, and the
// sweep may advance the epoch at any time), it evicts the oldest of them
// anyway: ErrFull is only for a family where no key may be evicted. The
// caller holds mu.
func (f *Family[K]) evictLRU() bool {
	for pass := 0; pass < 2; pass++ {
		for len(f.cands) > 0 {
			c := f.cands[0]
			f.cands = f.cands[1:]
			if f.evict(c.e, c.seen) {
				f.stats.lru++
				return true
			}
		}
		f.cands = f.scan(f.cands[:0])
	}
	for _, c := range f.cands {
		if f.evictUsed(c.e) {
			f.cands = f.cands[:0]
			f.stats.lru++
			return true
		}
	}
	return false
}

// evictUsed evicts e if it is still evictable, whenever it was last used.
// The caller holds mu.
func (f *Family[K]) evictUsed(e *entry[K]) bool {
	for {
		s := e.seen.Load()
		if s == dead {
			return false
		}
		if f.evict(e, s) {
			return true
		}
		if !evictable(e) {
			return false
		}
	}
}

// scan returns up to candidatesKept evictable keys, least recently used
// first. It visits every key: O(n), paid only at the cap, once per
// candidatesKept evictions.
func (f *Family[K]) scan(out []candidate[K]) []candidate[K] {
	f.idx.each(func(e *entry[K]) {
		s := e.seen.Load()
		if s == dead || !evictable(e) {
			return
		}
		c := candidate[K]{e: e, seen: s}
		if len(out) < candidatesKept {
			out = append(out, c)
		} else if i := newestIndex(out); s < out[i].seen {
			out[i] = c
		}
	})
	sortBySeen(out)
	return out
}

// newestIndex returns the index of the most recently seen candidate.
func newestIndex[K comparable](cs []candidate[K]) int {
	j := 0
	for i := range cs {
		if cs[i].seen > cs[j].seen {
			j = i
		}
	}
	return j
}

// sortBySeen orders cs oldest first (insertion sort: len ≤ candidatesKept).
func sortBySeen[K comparable](cs []candidate[K]) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].seen < cs[j-1].seen; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// idleEpochs is how many epochs a key must have gone unused before the
// sweep evicts it: with one epoch per IdleTimeout/2, a key last used in
// epoch k is evicted by the sweep that starts epoch k+3, between
// IdleTimeout and 1.5 × IdleTimeout after its last use.
const idleEpochs = 3

// sweep starts a new epoch and evicts the keys that went unused for the
// last idleEpochs of them. It runs on the family actor. The map is
// scanned without the mutex; evictions take it in small batches so that
// creating keys is never held up for long.
func (f *Family[K]) sweep() {
	ep := f.epoch.Add(1)
	if ep < idleEpochs {
		f.prune()
		return
	}
	var batch []candidate[K]
	flush := func() {
		f.mu.Lock()
		for _, c := range batch {
			if f.evict(c.e, c.seen) {
				f.stats.idle++
			}
		}
		f.unlock()
		batch = batch[:0]
	}
	f.idx.each(func(e *entry[K]) {
		if s := e.seen.Load(); s <= ep-idleEpochs && evictable(e) {
			batch = append(batch, candidate[K]{e: e, seen: s})
			if len(batch) == 256 {
				flush()
			}
		}
	})
	flush()
	f.prune()
}

// prune forgets the evicted breakers that have stopped and exited.
func (f *Family[K]) prune() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for b := range f.stopping {
		if exited(b) {
			delete(f.stopping, b)
		}
	}
}
