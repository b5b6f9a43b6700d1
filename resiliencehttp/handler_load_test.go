package resiliencehttp

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
)

// Random arrivals and handler durations, some past the route's limit,
// against a bulkhead of capacity slots: no more than capacity handlers ever
// run at once (a handler past its limit keeps its slot until it returns),
// every request gets exactly one of the three answers, and the counts
// agree with the bulkhead's.
func TestRandomLoadNeverRunsMoreThanTheLimit(t *testing.T) {
	for seed := range uint64(5) {
		synctest.Test(t, func(t *testing.T) {
			const capacity, requests = 4, 300
			const limit = 50 * time.Millisecond
			r := rand.New(rand.NewPCG(seed, 16))
			bh := newBulkhead(t, bulkhead.Config{MaxConcurrent: capacity})
			var running, peak, ran atomic.Int64
			h := protect(t, HandlerConfig{Gate: bh, Timeout: deadline.HTTPConfig{Table: table(t, limit, nil)}},
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n := running.Add(1)
					defer running.Add(-1)
					ran.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					work, _ := time.ParseDuration(r.URL.Query().Get("work"))
					time.Sleep(work) // ignores its context: the worst case for the slot
					_, _ = w.Write([]byte("done"))
				}))

			var ok200, shed, late atomic.Int64
			var wg sync.WaitGroup
			for range requests {
				start := time.Duration(r.IntN(500)) * time.Millisecond
				work := time.Duration(r.IntN(80)) * time.Millisecond
				wg.Go(func() {
					time.Sleep(start)
					rec := get(h, "/?work="+work.String())
					switch {
					case rec.Code == http.StatusOK && work <= limit: // at the limit exactly, either answer is right
						ok200.Add(1)
					case rec.Code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "1":
						shed.Add(1)
					case rec.Code == http.StatusServiceUnavailable && work >= limit:
						late.Add(1)
					default:
						t.Errorf("work %v: status %d, Retry-After %q", work, rec.Code, rec.Header().Get("Retry-After"))
					}
				})
			}
			wg.Wait()
			m := bh.Metrics()
			require.LessOrEqual(t, peak.Load(), int64(capacity), "seed %d: never more handlers than slots", seed)
			assert.Equal(t, int64(requests), ok200.Load()+shed.Load()+late.Load())
			assert.Equal(t, uint64(shed.Load()), m.Rejected, "seed %d: every refusal is the bulkhead's", seed)
			assert.Equal(t, uint64(ran.Load()), m.Admitted, "seed %d: every admitted request ran", seed)
			assert.Positive(t, shed.Load(), "seed %d: the load is high enough to shed", seed)
			assert.Positive(t, late.Load(), "seed %d: some requests ran past their limit", seed)
		})
	}
}
