package breaker

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A time window of D remembers a failure for at least D and forgets it by
// D plus one bucket, wherever in its bucket the failure falls.
func TestTimeWindowCoversItsDuration(t *testing.T) {
	const d = 10 * time.Second
	bucket := d / windowBuckets
	for _, t0 := range []time.Duration{0, 1, bucket / 2, bucket - 1, 7*bucket + 3, time.Hour + bucket/3} {
		w := newTimeWindow(d)
		w.reset(totals{}, t0/2)
		_, failures := w.observe(totals{calls: 1, failures: 1}, t0)
		require.Equal(t, uint64(1), failures, "t0=%v", t0)
		for _, at := range []time.Duration{t0 + bucket, t0 + d/2, t0 + d - 1} {
			_, failures = w.observe(totals{calls: 1, failures: 1}, at)
			assert.Equal(t, uint64(1), failures, "t0=%v: forgotten at t0+%v, younger than D", t0, at-t0)
		}
		_, failures = w.observe(totals{calls: 1, failures: 1}, t0+d+bucket)
		assert.Equal(t, uint64(0), failures, "t0=%v: still remembered at t0+D+bucket", t0)
	}
}

// The time window slides without a timer: the successes since the last
// look are spread over the buckets in between, so those from long ago are
// forgotten and recent ones counted.
func TestTimeWindowSpreadsUnreportedSuccesses(t *testing.T) {
	const d = 10 * time.Second
	w := newTimeWindow(d)
	calls, failed := w.observe(totals{calls: 100}, d/2)
	assert.Equal(t, []uint64{100, 0}, []uint64{calls, failed}, "all within the window")
	calls, failed = w.observe(totals{calls: 1101, failures: 1}, 100*d+d/2)
	assert.Equal(t, uint64(1), failed)
	assert.InDelta(t, 1+1000*11/1001, float64(calls), 2, "only the last 11 of 1001 buckets' share")
	w.reset(totals{calls: 1101, failures: 1}, 100*d+d/2)
	calls, failed = w.observe(totals{calls: 1111, failures: 1}, 100*d+d/2+1)
	assert.Equal(t, []uint64{10, 0}, []uint64{calls, failed}, "after reset the window starts empty")
}

// Through a breaker, in virtual time: a failure still counts just before
// WindowDuration has passed, wherever it fell in its bucket, and no longer
// counts once one more bucket has passed.
func TestTimeWindowBreakerRemembersAFailureForItsDuration(t *testing.T) {
	const d = 10 * time.Second
	boom := errors.New("boom")
	fail := func(context.Context) error { return boom }
	for _, tt := range []struct {
		name      string
		offset    time.Duration // of the first failure, from New
		gap       time.Duration // to the second
		wantState State
	}{
		{"mid-bucket, just under D", d/20 + 1, d - time.Millisecond, Open},
		{"bucket start, just under D", 0, d - time.Nanosecond, Open},
		{"late in the bucket, just under D", d/10 - 1, d - time.Nanosecond, Open},
		{"after D plus a bucket", d / 20, d + d/10, Closed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Two failures in the window open it; one does not.
				b := newTest(t, Config{FailureRate: 1, WindowDuration: d, MinimumCalls: 2})
				ctx := context.Background()
				time.Sleep(tt.offset)
				require.ErrorIs(t, b.Run(ctx, fail), boom)
				synctest.Wait()
				time.Sleep(tt.gap)
				require.ErrorIs(t, b.Run(ctx, fail), boom)
				synctest.Wait()
				assert.Equal(t, tt.wantState, b.State())
			})
		})
	}
}
