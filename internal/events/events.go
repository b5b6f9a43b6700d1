// Package events holds the one rule every component follows when it
// publishes an event on the channel its Config.Events names: the send
// never blocks; a full channel drops the event and counts the drop.
package events

import "sync/atomic"

// Send sends ev on ch without blocking. A nil ch sends nothing; a full one
// drops ev and adds one to dropped.
func Send[E any](ch chan<- E, ev E, dropped *atomic.Uint64) {
	if ch == nil {
		return
	}
	select {
	case ch <- ev:
	default:
		dropped.Add(1)
	}
}
