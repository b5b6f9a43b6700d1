package limit_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience/limit"
)

var plotFile = flag.String("plot", "", "write the adaptive simulation's series to this CSV file")

// upstream is a simulated dependency: a call takes base, give or take
// 20%, while at most knee calls are in flight; beyond, each extra call in
// flight adds 15% of base to the calls that start then (contention:
// locks, caches, GC).
type upstream struct {
	base     time.Duration
	knee     atomic.Int64
	inFlight atomic.Int64
	mu       sync.Mutex
	rng      *rand.Rand
}

func newUpstream(base time.Duration) *upstream {
	return &upstream{base: base, rng: rand.New(rand.NewPCG(7, 11))}
}

func (u *upstream) call() {
	n := u.inFlight.Add(1)
	defer u.inFlight.Add(-1)
	extra := max(0, n-u.knee.Load())
	u.mu.Lock()
	noise := 0.8 + 0.4*u.rng.Float64()
	u.mu.Unlock()
	d := u.base + time.Duration(extra)*u.base*15/100
	time.Sleep(time.Duration(noise * float64(d)))
}

// phase is a stretch of the simulation with one offered load and knee.
type phase struct {
	name    string
	length  time.Duration
	perSec  int // calls offered a second, open loop
	knee    int64
	skip    time.Duration   // settling time, left out of the figures
	latency []time.Duration // of the upstream calls
	total   []time.Duration // from arrival: the wait in line and the call
	limits  []int
	offered int
	refused int
}

// simulate drives g with open-loop load through the phases and samples
// the limiter every tick. It returns the series for the plot.
func simulate(t *testing.T, g *limit.Adaptive, u *upstream, phases []*phase) [][]string {
	const tick = 100 * time.Millisecond
	var rows [][]string
	var wg sync.WaitGroup
	start := time.Now()
	for _, p := range phases {
		u.knee.Store(p.knee)
		var mu sync.Mutex
		var slice []time.Duration // latencies of calls that ended in this tick
		pStart := time.Now()
		every := time.Second / time.Duration(p.perSec)
		next := pStart.Add(tick)
		for now := pStart; now.Sub(pStart) < p.length; now = time.Now() {
			p.offered++
			settled := now.Sub(pStart) >= p.skip
			wg.Go(func() {
				arrived := time.Now()
				done, err := g.Allow(context.Background())
				if err != nil {
					mu.Lock()
					if settled {
						p.refused++
					}
					mu.Unlock()
					return
				}
				t0 := time.Now()
				u.call()
				done(nil)
				mu.Lock()
				slice = append(slice, time.Since(t0))
				if settled {
					p.latency = append(p.latency, time.Since(t0))
					p.total = append(p.total, time.Since(arrived))
				}
				mu.Unlock()
			})
			time.Sleep(every)
			if !time.Now().Before(next) {
				next = next.Add(tick)
				m := g.Metrics()
				mu.Lock()
				p99 := quantile(slice, 0.99)
				slice = slice[:0]
				mu.Unlock()
				if settled {
					p.limits = append(p.limits, m.Limit)
				}
				rows = append(rows, []string{
					fmt.Sprintf("%.1f", time.Since(start).Seconds()), p.name, fmt.Sprint(p.knee),
					fmt.Sprint(m.Limit), fmt.Sprintf("%.1f", ms(p99)), fmt.Sprint(m.Rejected),
				})
			}
		}
	}
	wg.Wait()
	return rows
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func median(v []int) int {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// simPhases are the simulation's phases: an upstream whose knee is 20
// calls in flight, then 10 (someone else takes half of it), then 20
// again, offered 1.5 × its capacity; then under its capacity.
func simPhases(knee int64) []*phase {
	return []*phase{
		{name: "overload", length: 8 * time.Second, perSec: 3000, knee: knee, skip: 2 * time.Second},
		{name: "half capacity", length: 5 * time.Second, perSec: 3000, knee: knee / 2, skip: 2 * time.Second},
		{name: "capacity back", length: 5 * time.Second, perSec: 3000, knee: knee, skip: 2 * time.Second},
		{name: "light load", length: 3 * time.Second, perSec: 1000, knee: knee, skip: time.Second},
	}
}

// An upstream with a knee at 20 calls in flight and 10 ms calls serves
// 2000 calls a second. Offered 3000 a second, the adaptive limiter finds
// a limit near the knee and keeps p99 latency under 2 × 10 ms, where a
// fixed limit of 40 does not; when half the upstream's capacity goes to
// someone else, it follows the knee down, and back up when that load
// drops; with the load under capacity it admits every call.
func TestAdaptiveSimulation(t *testing.T) {
	const base, knee = 10 * time.Millisecond, 20
	var adaptive, fixed [][]string
	synctest.Test(t, func(t *testing.T) {
		g, err := limit.NewAdaptive(limit.AdaptiveConfig{Name: "upstream", MaxQueue: 2, Window: 100 * time.Millisecond})
		require.NoError(t, err)
		phases := simPhases(knee)
		adaptive = simulate(t, g, newUpstream(base), phases)
		logPhases(t, "adaptive", phases)
		overload, halved, restored, light := phases[0], phases[1], phases[2], phases[3]
		for _, p := range phases[:3] {
			lim := median(p.limits)
			assert.GreaterOrEqual(t, lim, int(p.knee), "%s: the limit stays at or above the knee", p.name)
			assert.LessOrEqual(t, lim, int(p.knee)*3/2, "%s: the limit stays within 1.5 × the knee", p.name)
			assert.LessOrEqual(t, quantile(p.latency, 0.99), 2*base, "%s: p99 within 2 × the unloaded latency", p.name)
		}
		assert.Less(t, median(halved.limits), median(overload.limits), "the limit follows the knee down")
		assert.Greater(t, median(restored.limits), median(halved.limits), "and back up")
		assert.Zero(t, light.refused, "under capacity, no call is refused")
		assert.LessOrEqual(t, quantile(light.latency, 0.99), base*6/5)
	})
	synctest.Test(t, func(t *testing.T) {
		g, err := limit.NewAdaptive(limit.AdaptiveConfig{MinLimit: 2 * knee, MaxLimit: 2 * knee, MaxQueue: 2})
		require.NoError(t, err)
		phases := simPhases(knee)
		fixed = simulate(t, g, newUpstream(base), phases)
		logPhases(t, "fixed 40", phases)
		assert.Greater(t, quantile(phases[0].latency, 0.99), 2*base,
			"a fixed limit of twice the knee lets latency grow past 2 ×")
	})
	if *plotFile != "" {
		writeCSV(t, *plotFile, adaptive, fixed)
	}
}

func logPhases(t *testing.T, name string, phases []*phase) {
	for _, p := range phases {
		t.Logf("%-8s %-13s knee %2d: median limit %2d, p50 %5.1f ms, p99 %5.1f ms (with the wait in line %5.1f ms), refused %4.1f%%",
			name, p.name, p.knee, median(p.limits), ms(quantile(p.latency, 0.5)), ms(quantile(p.latency, 0.99)),
			ms(quantile(p.total, 0.99)), 100*float64(p.refused)/float64(p.offered))
	}
}

// writeCSV writes the two runs' series side by side, one row a tick.
func writeCSV(t *testing.T, path string, adaptive, fixed [][]string) {
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	fmt.Fprintln(f, "seconds,phase,knee,limit,p99_ms,fixed_p99_ms")
	for i, r := range adaptive {
		fixedP99 := ""
		if i < len(fixed) {
			fixedP99 = fixed[i][4]
		}
		fmt.Fprintln(f, strings.Join([]string{r[0], r[1], r[2], r[3], r[4], fixedP99}, ","))
	}
}
