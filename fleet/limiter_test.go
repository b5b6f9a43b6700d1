package fleet

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
	"github.com/llm-research-lab/resilience/limit"
)

// limiters starts n agents on srv, each with the fleet limiter cfg, and
// waits until every one holds a lease.
func limiters(t testing.TB, srv *redistest.Server, n int, cfg limit.Config) ([]*Agent, []*Limiter) {
	t.Helper()
	var agents []*Agent
	var ls []*Limiter
	for range n {
		a := newAgent(t, srv, fastConfig())
		l, err := a.Limiter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		agents, ls = append(agents, a), append(ls, l)
	}
	for _, l := range ls {
		eventually(t, 2*time.Second, "first lease", func() bool { return l.fallback.Load() == nil })
	}
	return agents, ls
}

// flood calls Allow on every limiter as fast as it can for d, and returns
// the calls admitted, the time taken and any error other than a rate
// refusal.
func flood(ls []*Limiter, d time.Duration) (admitted int64, took time.Duration, err error) {
	var n atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for _, l := range ls {
		wg.Go(func() {
			for end := start.Add(d); time.Now().Before(end); {
				done, e := l.Allow(context.Background())
				switch {
				case e == nil:
					done(nil)
					n.Add(1)
				case !errors.Is(e, limit.ErrLimited):
					mu.Lock()
					err = e
					mu.Unlock()
				default:
					time.Sleep(100 * time.Microsecond)
				}
			}
		})
	}
	wg.Wait()
	return n.Load(), time.Since(start), err
}

// limiterOvershoot floods three replicas of a 200/s fleet limiter for 2s
// and returns the calls admitted, the time taken and the stated bound.
func limiterOvershoot(t testing.TB) (admitted float64, took time.Duration, bound float64) {
	srv := redistest.Start(t)
	cfg := limit.Config{Name: "search", PerSecond: 200, Burst: 20}
	_, ls := limiters(t, srv, 3, cfg)
	n, took, err := flood(ls, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The largest lease a replica may hold: its lease while it believes
	// itself alone.
	lease := min(float64(cfg.Burst), cfg.PerSecond*2*fastConfig().TroubleInterval.Seconds())
	bound = cfg.PerSecond*took.Seconds() + float64(cfg.Burst) + float64(len(ls))*lease
	return float64(n), took, bound
}

func TestFleetLimiterHoldsTheRateAcrossReplicas(t *testing.T) {
	admitted, took, bound := limiterOvershoot(t)
	t.Logf("admitted %.0f in %v: %.1f/s for a rate of 200/s; bound %.0f", admitted, took, admitted/took.Seconds(), bound)
	if admitted > bound {
		t.Fatalf("the fleet admitted %.0f calls, more than its bound %.0f", admitted, bound)
	}
	if admitted < 0.7*200*took.Seconds() {
		t.Fatalf("the fleet admitted only %.0f calls in %v at 200/s", admitted, took)
	}
}

func TestFleetLimiterFallsBackToItsShare(t *testing.T) {
	srv := redistest.Start(t)
	cfg := limit.Config{Name: "search", PerSecond: 300, Burst: 30}
	agents, ls := limiters(t, srv, 3, cfg)
	for _, l := range ls { // the replica count each one knows comes with its leases
		eventually(t, 3*time.Second, "replica count", func() bool {
			done, err := l.Allow(context.Background())
			if err == nil {
				done(nil)
			}
			return l.replicas.Load() == 3
		})
	}
	srv.Kill()
	eventually(t, 3*time.Second, "agents degrade", allConnected(agents, false))
	for _, l := range ls {
		eventually(t, 2*time.Second, "local share", func() bool { return l.fallback.Load() != nil })
		if got := l.fallback.Load().Metrics().PerSecond; math.Abs(got-cfg.PerSecond/3) > 0.01 {
			t.Fatalf("fallback rate %v, want %v", got, cfg.PerSecond/3)
		}
	}
	admitted, took, err := flood(ls, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	bound := cfg.PerSecond*took.Seconds() + float64(cfg.Burst)
	t.Logf("degraded: admitted %d in %v, bound %.0f", admitted, took, bound)
	if float64(admitted) > bound {
		t.Fatalf("degraded fleet admitted %d, bound %.0f", admitted, bound)
	}
}

func TestOverLimitFleetCostsRedisNothing(t *testing.T) {
	srv := redistest.Start(t)
	cfg := limit.Config{Name: "search", PerSecond: 2, Burst: 2}
	agents, ls := limiters(t, srv, 2, cfg)
	_, _, _ = flood(ls, 50*time.Millisecond) // drain the bucket
	before := agents[0].Metrics().Leases + agents[1].Metrics().Leases
	var refused int
	for range 10000 {
		if _, err := ls[0].Allow(context.Background()); err != nil {
			refused++
		}
	}
	after := agents[0].Metrics().Leases + agents[1].Metrics().Leases
	if refused < 9990 || after-before > 4 {
		t.Fatalf("%d of 10000 refused with %d leases taken meanwhile", refused, after-before)
	}
}
