package breaker

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// index is a family's key → entry table: open addressing with linear
// probing over a slice of atomic pointers. Readers take no lock and write
// nothing: they load the current table and probe it. Writers (insert,
// remove, reset) must hold the family's mutex; they change slots with
// atomic stores and replace the whole table, atomically, when it needs
// to grow or shed its tombstones.
//
// Why not sync.Map: a lookup through it hashes and compares the key
// through an interface and walks a trie; here it is one maphash of the
// key, one or two slot loads and a key comparison, which halves the cost
// of a keyed call (see benchmarks/README_keyed.md). It also takes about
// a third of the memory per key.
//
// A reader racing with a writer sees either the old or the new slot. It
// may miss a key inserted meanwhile (into a slot it passed, or into a
// table it did not load); the family then looks again under the mutex.
type index[K comparable] struct {
	seed maphash.Seed
	tomb *entry[K] // marks a removed key's slot: probes go on past it
	cur  atomic.Pointer[table[K]]
	live int // keys in cur; writers only
	used int // live keys and tombstones in cur; writers only
}

// table is one generation of the index. Its size is a power of two.
type table[K comparable] struct {
	slots []atomic.Pointer[entry[K]]
	mask  uint64
}

// init prepares an empty index.
func (x *index[K]) init() {
	x.seed, x.tomb = maphash.MakeSeed(), new(entry[K])
	x.cur.Store(newTable[K](16))
}

func newTable[K comparable](n int) *table[K] {
	return &table[K]{slots: make([]atomic.Pointer[entry[K]], n), mask: uint64(n - 1)}
}

// load returns key's entry, or nil. It is safe with concurrent writers.
func (x *index[K]) load(key K) *entry[K] {
	t, h := x.cur.Load(), maphash.Comparable(x.seed, key)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i].Load()
		if e == nil {
			return nil
		}
		// Comparing the stored hash first skips the key comparison for
		// most other keys on the probe path. The tombstone's hash is 0,
		// which a real key's may also be, hence the tombstone check.
		if e.hash == h && e != x.tomb && e.key == key {
			return e
		}
	}
}

// insert adds e, whose key is absent. The caller holds the family mutex.
func (x *index[K]) insert(e *entry[K]) {
	t := x.cur.Load()
	if (x.used+1)*4 > len(t.slots)*3 {
		t = x.rebuild()
	}
	e.hash = maphash.Comparable(x.seed, e.key)
	for i := e.hash & t.mask; ; i = (i + 1) & t.mask {
		old := t.slots[i].Load()
		if old == nil || old == x.tomb {
			if old == nil {
				x.used++
			}
			t.slots[i].Store(e)
			x.live++
			return
		}
	}
}

// remove takes e out of the index, leaving a tombstone. The caller holds
// the family mutex.
func (x *index[K]) remove(e *entry[K]) {
	t := x.cur.Load()
	for i := e.hash & t.mask; ; i = (i + 1) & t.mask {
		old := t.slots[i].Load()
		if old == nil {
			return
		}
		if old == e {
			t.slots[i].Store(x.tomb)
			x.live--
			return
		}
	}
}

// rebuild replaces the table with one twice the size of the live keys
// (at least 16), without tombstones, and returns it.
func (x *index[K]) rebuild() *table[K] {
	n := 1 << bits.Len(uint(max(16, 2*(x.live+1))-1))
	t := newTable[K](n)
	x.each(func(e *entry[K]) {
		for i := e.hash & t.mask; ; i = (i + 1) & t.mask {
			if t.slots[i].Load() == nil {
				t.slots[i].Store(e)
				break
			}
		}
	})
	x.used = x.live
	x.cur.Store(t)
	return t
}

// reset empties the index. The caller holds the family mutex.
func (x *index[K]) reset() {
	x.cur.Store(newTable[K](16))
	x.live, x.used = 0, 0
}

// each calls f with every key's entry in the current table. It is safe
// with concurrent writers, and then may or may not see their changes.
func (x *index[K]) each(f func(*entry[K])) {
	t := x.cur.Load()
	for i := range t.slots {
		if e := t.slots[i].Load(); e != nil && e != x.tomb {
			f(e)
		}
	}
}
