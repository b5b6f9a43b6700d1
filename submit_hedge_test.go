package resilience_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/hedge"
	"github.com/llm-research-lab/resilience/retry"
)

// submitHedged submits one job whose primary stalls and whose hedge
// answers, through a bulkhead of the given size, and returns its result
// and the most attempts that ran at once.
func submitHedged(t *testing.T, slots int) (resilience.Result[string], int32, bulkhead.Metrics) {
	b, err := bulkhead.New(bulkhead.Config{MaxConcurrent: slots})
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Stop(context.Background())) }()
	h := newHedge(t, hedge.Config{Delay: 10 * time.Millisecond})
	p := &resilience.Pipeline{Retry: h, Bulkhead: b}
	var running, most atomic.Int32
	out := make(chan resilience.Result[string], 1)
	require.NoError(t, resilience.Submit(t.Context(), p, func(ctx context.Context) (string, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if resilience.Attempt(ctx) == 1 {
			return "primary", sleepCtx(ctx, 50*time.Millisecond)
		}
		return "hedge", nil
	}, out))
	r := <-out
	return r, most.Load(), b.Metrics()
}

func TestSubmitGivesAHedgeASlotOfItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, most, m := submitHedged(t, 2)
		require.NoError(t, r.Err)
		assert.Equal(t, "hedge", r.Value)
		assert.Equal(t, int32(2), most)
		assert.Equal(t, uint64(2), m.Admitted, "the job's slot, then the hedge's own")
		assert.Zero(t, m.InFlight)
	})
}

func TestSubmitNeverLetsAHedgeExceedTheBulkhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, most, m := submitHedged(t, 1)
		require.NoError(t, r.Err)
		assert.Equal(t, "primary", r.Value, "the hedge found no slot, so the primary answers")
		assert.Equal(t, int32(1), most, "one attempt at a time in a bulkhead of one")
		assert.Equal(t, uint64(1), m.Rejected)
	})
}

func TestSubmitReleasesTheValuesOfARetrysEarlierAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
		require.NoError(t, err)
		defer func() { require.NoError(t, b.Stop(context.Background())) }()
		r, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Millisecond, Jitter: retry.NoJitter})
		require.NoError(t, err)
		var cs conns
		out := make(chan resilience.Result[conn], 1)
		require.NoError(t, resilience.Submit(t.Context(), &resilience.Pipeline{Retry: r, Bulkhead: b},
			func(ctx context.Context) (conn, error) {
				n := resilience.Attempt(ctx)
				if n < 3 {
					return cs.open(n), errors.New("503")
				}
				return cs.open(n), nil
			}, out))
		res := <-out
		require.NoError(t, res.Err)
		assert.Equal(t, 3, res.Value.id)
		assert.Equal(t, map[int]int32{1: 1, 2: 1, 3: 0}, cs.releases())
	})
}
