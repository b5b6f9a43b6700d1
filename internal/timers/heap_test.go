package timers

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// The shard heap under random pushes, removals from anywhere, and pops of
// the earliest: every call knows its own index, the heap order holds, and
// pops come out in deadline order.
func TestShardHeapProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var sh shard
		var live []*Call
		for range rapid.IntRange(1, 200).Draw(t, "steps") {
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				c := &Call{when: rapid.Int64Range(0, 50).Draw(t, "when"), index: -1}
				sh.push(c)
				live = append(live, c)
			case 1:
				if len(live) == 0 {
					continue
				}
				i := rapid.IntRange(0, len(live)-1).Draw(t, "victim")
				c := live[i]
				if got := sh.remove(int(c.index)); got != c {
					t.Fatalf("remove(%d) returned another call", i)
				}
				live = slices.Delete(live, i, i+1)
			case 2:
				if len(live) == 0 {
					continue
				}
				earliest := slices.MinFunc(live, func(a, b *Call) int { return int(a.when - b.when) })
				c := sh.remove(0)
				if c.when != earliest.when {
					t.Fatalf("popped deadline %d, earliest is %d", c.when, earliest.when)
				}
				live = slices.DeleteFunc(live, func(x *Call) bool { return x == c })
			}
			checkHeap(t, &sh, len(live))
		}
	})
}

func checkHeap(t *rapid.T, sh *shard, n int) {
	if len(sh.heap) != n {
		t.Fatalf("heap holds %d calls, want %d", len(sh.heap), n)
	}
	for i, s := range sh.heap {
		if int(s.c.index) != i {
			t.Fatalf("call at %d thinks it is at %d", i, s.c.index)
		}
		if s.when != s.c.when {
			t.Fatalf("slot %d caches deadline %d, call has %d", i, s.when, s.c.when)
		}
		if p := (i - 1) / 2; i > 0 && sh.heap[p].when > s.when {
			t.Fatalf("heap order broken at %d", i)
		}
	}
}
