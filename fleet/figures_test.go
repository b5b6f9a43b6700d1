package fleet

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// The figures of docs/fleet.md, measured against a real redis-server in
// real time. TestFigures checks them; BenchmarkFleetFigures reports them
// as benchmark metrics.

// scriptCommands are the commands only the fleet's scripts run: they count
// in INFO commandstats but are not round trips.
var scriptCommands = map[string]bool{"hgetall": true, "hset": true, "hmget": true, "get": true, "set": true,
	"del": true, "pexpire": true, "publish": true, "hdel": true, "time": true, "info": true}

// clientOps returns the commands clients sent, from INFO commandstats.
func clientOps(t testing.TB, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
		if !ok || scriptCommands[name] {
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		v, _ := strconv.ParseInt(calls, 10, 64)
		n += v
	}
	return n
}

// opsPer1k runs n replicas calling a healthy dependency at perSecond each
// for d, and returns the Redis operations per 1000 calls.
func opsPer1k(t testing.TB, n int, perSecond float64, d time.Duration) float64 {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	var brs []*Breaker
	for range n {
		a := newAgent(t, srv, Config{Namespace: "test"}) // default cadence
		b, err := a.Breaker("payments", newLocal(t, breaker.Config{}))
		if err != nil {
			t.Fatal(err)
		}
		brs = append(brs, b)
		eventually(t, 2*time.Second, "first flush", func() bool { return a.Metrics().Flushes > 0 })
	}
	before := clientOps(t, rdb)
	var wg sync.WaitGroup
	var mu sync.Mutex
	calls := 0
	for _, b := range brs {
		wg.Go(func() {
			tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
			defer tick.Stop()
			k := 0
			for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
				_ = b.Run(context.Background(), ok)
				k++
			}
			mu.Lock()
			calls += k
			mu.Unlock()
		})
	}
	wg.Wait()
	ops := clientOps(t, rdb) - before
	return float64(ops) * 1000 / float64(calls)
}

// propagation trips `trips` dependencies, each by three of n replicas, and
// returns how long after each trip (Redis time) every replica saw it, in
// milliseconds, sorted.
func propagation(t testing.TB, n, trips int) []float64 {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	cfg := fastConfig()
	cfg.QuietInterval = 200 * time.Millisecond
	cfg.OpenTimeout = time.Minute
	events := make([]chan Event, n)
	brs := make([][]*Breaker, n) // [replica][dependency]
	for r := range n {
		events[r] = make(chan Event, 4*trips+16)
		c := cfg
		c.Events = events[r]
		a := newAgent(t, srv, c)
		for i := range trips {
			b, err := a.Breaker("dep-"+strconv.Itoa(i), newLocal(t, breaker.Config{FailureThreshold: 1 << 30}))
			if err != nil {
				t.Fatal(err)
			}
			brs[r] = append(brs[r], b)
		}
	}
	time.Sleep(2 * cfg.QuietInterval) // every replica active on every dependency: a settling period, not a sync point
	var ms []float64
	seen := make([]map[string]time.Time, n)
	for r := range seen {
		seen[r] = map[string]time.Time{}
	}
	for i := range trips {
		name := "dep-" + strconv.Itoa(i)
		// Three replicas fail: the quorum of ten is max(2, ⌈0.25 × 10⌉).
		for start := time.Now(); brs[0][i].State() != "fleet open"; {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s did not open", name)
			}
			var wg sync.WaitGroup
			for r := range 3 {
				wg.Go(func() { _ = brs[r][i].Run(context.Background(), fail) })
			}
			wg.Wait()
			time.Sleep(time.Millisecond)
		}
		u, err := rdb.HGet(context.Background(), newKeys("test", hasher{cfg.Secret}.label("dependency", name)).state, "u").Int64()
		if err != nil {
			t.Fatal(err)
		}
		tripped := time.UnixMilli(u - cfg.OpenTimeout.Milliseconds())
		for r := range n {
			deadline := time.After(2 * time.Second)
			for seen[r][name].IsZero() {
				select {
				case e := <-events[r]:
					if e.Change == "fleet open" {
						seen[r][e.Name] = e.At
					}
				case <-deadline:
					t.Fatalf("replica %d never saw %s open", r, name)
				}
			}
			ms = append(ms, float64(seen[r][name].Sub(tripped))/float64(time.Millisecond))
		}
	}
	slices.Sort(ms)
	return ms
}

// memoryPerDependency runs n replicas with a breaker and a budget on one
// dependency over a full window, and returns the bytes its keys take.
func memoryPerDependency(t testing.TB, n int) int64 {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	cfg := fastConfig()
	var brs []*Breaker
	var buds []*Budget
	for range n {
		a := newAgent(t, srv, cfg)
		b, err := a.Breaker("payments", newLocal(t, breaker.Config{}))
		if err != nil {
			t.Fatal(err)
		}
		bud, _ := a.Budget("payments", 0.2)
		brs, buds = append(brs, b), append(buds, bud)
	}
	var wg sync.WaitGroup
	for i, b := range brs {
		wg.Go(func() {
			for end := time.Now().Add(cfg.Window + cfg.Window/2); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				_ = b.Run(context.Background(), ok)
				buds[i].Done(true)
				buds[i].Retry()
			}
		})
	}
	wg.Wait()
	label := hasher{cfg.Secret}.label("dependency", "payments")
	keys, err := rdb.Keys(context.Background(), "*{"+label+"}*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	var total int64
	for _, k := range keys {
		total += rdb.MemoryUsage(context.Background(), k).Val()
	}
	return total
}

func p99(sorted []float64) float64 {
	return sorted[int(math.Ceil(0.99*float64(len(sorted))))-1]
}

func TestFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("measures in real time for about 30s")
	}
	t.Run("ops", func(t *testing.T) {
		for _, n := range []int{1, 10} {
			ops := opsPer1k(t, n, 25, 6*time.Second)
			t.Logf("%d replicas at 25 calls/s: %.1f Redis ops per 1000 calls", n, ops)
			if ops > 20 {
				t.Errorf("%d replicas: %.1f ops per 1000 calls, want at most 20", n, ops)
			}
		}
	})
	t.Run("propagation", func(t *testing.T) {
		ms := propagation(t, 10, 10)
		t.Logf("open propagation to 10 replicas: p50 %.1f ms, p99 %.1f ms, max %.1f ms", ms[len(ms)/2], p99(ms), ms[len(ms)-1])
		if p99(ms) > 100 {
			t.Errorf("p99 propagation %.1f ms, want at most 100", p99(ms))
		}
	})
	t.Run("hang", func(t *testing.T) {
		before, during := hangLatency(t)
		t.Logf("p99 call latency: %.1f µs before, %.1f µs while Redis hangs", before, during)
		if during > 100_000 { // generous: a call never waits for Redis
			t.Errorf("p99 %.1f µs while Redis hangs", during)
		}
	})
	t.Run("memory", func(t *testing.T) {
		bytes := memoryPerDependency(t, 10)
		t.Logf("one dependency at 10 replicas: %d bytes in Redis", bytes)
		if bytes > 4096 {
			t.Errorf("%d bytes per dependency, want at most 4096", bytes)
		}
	})
}

// hangLatency has three replicas call a healthy dependency before and
// while Redis hangs (SIGSTOP), and returns each phase's p99 call latency
// in microseconds. Any caller error fails tb.
func hangLatency(tb testing.TB) (before, during float64) {
	srv := redistest.Start(tb)
	agents, brs := replicasTB(tb, srv, 3, fastConfig())
	var phase atomic.Int32
	lat := [2][]float64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var errs atomic.Int64
	for _, b := range brs {
		wg.Go(func() {
			var mine [2][]float64
			defer func() {
				mu.Lock()
				lat[0], lat[1] = append(lat[0], mine[0]...), append(lat[1], mine[1]...)
				mu.Unlock()
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := phase.Load()
				start := time.Now()
				if err := b.Run(context.Background(), ok); err != nil {
					errs.Add(1)
				}
				mine[p] = append(mine[p], float64(time.Since(start))/float64(time.Microsecond))
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // the healthy phase's length, not a sync point
	srv.Pause()
	phase.Store(1)
	eventually(tb, 3*time.Second, "agents degrade", allConnected(agents, false))
	time.Sleep(time.Second) // the hang's length
	srv.Resume()
	close(stop)
	wg.Wait()
	if errs.Load() != 0 {
		tb.Fatalf("%d callers saw an error while Redis hung", errs.Load())
	}
	slices.Sort(lat[0])
	slices.Sort(lat[1])
	return p99(lat[0]), p99(lat[1])
}
