package bulkhead

import (
	"container/heap"
	"time"
)

// delayHeap holds the jobs waiting out a delay, earliest end first, so
// that one runtime timer, aimed at the earliest, serves them all: a
// waiting job costs its waiter and a heap entry, no goroutine and no timer
// of its own.
type delayHeap []*waiter

func (h delayHeap) Len() int           { return len(h) }
func (h delayHeap) Less(i, k int) bool { return h[i].when < h[k].when }
func (h delayHeap) Swap(i, k int) {
	h[i], h[k] = h[k], h[i]
	h[i].index, h[k].index = int32(i), int32(k)
}

// Push adds a waiter; use heap.Push.
func (h *delayHeap) Push(x any) {
	w := x.(*waiter)
	w.index = int32(len(*h))
	*h = append(*h, w)
}

// Pop removes the last waiter; use heap.Pop.
func (h *delayHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}

// undelayLocked takes a withdrawn job out of the heap, if still there.
func (b *Bulkhead) undelayLocked(w *waiter) {
	if w.index < 0 {
		return
	}
	first := w.index == 0
	heap.Remove(&b.delays, int(w.index))
	if first {
		b.aimLocked()
	}
}

// aimLocked points the timer at the earliest delay, or leaves it stopped
// when there is none. fires counts the callback that may still run: a
// stopped pending one is uncounted here, one already running uncounts
// itself.
func (b *Bulkhead) aimLocked() {
	if b.armed {
		if b.timer.Stop() {
			b.fires.Done()
		}
		b.armed = false
	}
	if len(b.delays) == 0 {
		return
	}
	d := b.delays[0].when - time.Since(b.epoch)
	b.fires.Add(1)
	b.armed = true
	if b.timer == nil {
		b.timer = time.AfterFunc(d, b.delaysOver)
		return
	}
	b.timer.Reset(d)
}

// delaysOver moves the jobs whose delay is over to the queue, unless
// their context answered them first, and aims the timer at the next.
func (b *Bulkhead) delaysOver() {
	defer b.fires.Done()
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Since(b.epoch)
	for len(b.delays) > 0 && b.delays[0].when <= now {
		w := heap.Pop(&b.delays).(*waiter)
		if !w.state.CompareAndSwap(delaying, queued) {
			continue // withdrawn; its withdrawer finds it out of the heap
		}
		b.delayed.Add(-1)
		b.compactLocked()
		b.queue = append(b.queue, w)
		b.waiting.Add(1)
	}
	b.grantLocked()
	b.aimLocked()
}
