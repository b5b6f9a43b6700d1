package limit

import (
	"sync/atomic"
	"time"
)

// Reserve takes the next permit now and returns how long to wait before
// using it: 0 when it is available at once. cancel gives the permit back
// (when no later caller has reserved one after it) if the caller will not
// use it; calling it more than once does nothing. A reservation
// counts in Metrics.Allowed, cancelled or not. After [Rate.Stop],
// Reserve returns [resilience.ErrStopped] and takes nothing. Unlike
// [Rate.Wait], Reserve never refuses: a caller that cannot wait that long
// should cancel.
func (r *Rate) Reserve() (delay time.Duration, cancel func(), err error) {
	if r.stopped.Load() {
		return 0, nil, r.stopErr
	}
	now := int64(time.Since(r.epoch))
	tat, at, _ := r.reserve(now, time.Time{}, false)
	r.counts.stripe().allowed.Add(1)
	var cancelled atomic.Bool
	return time.Duration(at - now), func() {
		if cancelled.CompareAndSwap(false, true) {
			r.tat.CompareAndSwap(tat, tat-r.interval)
		}
	}, nil
}
