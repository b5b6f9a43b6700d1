package breaker

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestGuardStressRandomOutcomesAndStop mixes panics, Goexit, failures,
// timeouts, Submit and Do with a Stop in the middle, on virtual time, and
// checks one answer per job, the concurrency bound and the metrics.
func TestGuardStressRandomOutcomesAndStop(t *testing.T) {
	for seed := range 30 {
		synctest.Test(t, func(t *testing.T) {
			b, _ := New(Config{FailureThreshold: 5, OpenTimeout: time.Millisecond, HalfOpenMaxRequests: 2})
			g, _ := NewGuard[int](b, GuardConfig{MaxConcurrent: 3, MaxQueue: 4})
			var cur, peak atomic.Int64
			var wg sync.WaitGroup
			var answers atomic.Int64
			const N = 400
			for i := range N {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(5))*time.Millisecond)
					defer cancel()
					k := rng.IntN(10)
					fn := func(ctx context.Context) (int, error) {
						n := cur.Add(1)
						for {
							p := peak.Load()
							if n <= p || peak.CompareAndSwap(p, n) {
								break
							}
						}
						defer cur.Add(-1)
						time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
						switch k {
						case 0:
							panic("x")
						case 1:
							runtime.Goexit()
						case 2, 3:
							return 0, errors.New("f")
						}
						return 1, nil
					}
					time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
					if rng.IntN(2) == 0 {
						ch := make(chan Result[int], 2)
						if err := g.Submit(ctx, fn, ch); err != nil && len(ch) != 1 {
							t.Errorf("submit err %v len %d", err, len(ch))
						}
						<-ch
						answers.Add(1)
						time.Sleep(20 * time.Millisecond)
						if len(ch) != 0 {
							t.Errorf("answered twice")
						}
					} else {
						done := make(chan struct{})
						go func() {
							defer close(done)
							defer func() { // Do raises fn's panic in its caller
								if r := recover(); r != nil {
									answers.Add(1)
								}
							}()
							_, _ = g.Do(ctx, fn)
							answers.Add(1)
						}()
						<-done
					}
				})
			}
			time.Sleep(5 * time.Millisecond)
			_ = g.Stop(context.Background())
			wg.Wait()
			if peak.Load() > 3 {
				t.Errorf("peak %d", peak.Load())
			}
			m := g.Metrics()
			if m.Running != 0 || m.Queued != 0 {
				t.Errorf("metrics %+v", m)
			}
			if m.Submitted != m.Completed+m.Cancelled+m.Exited+m.Rejected() {
				t.Errorf("accounting %+v", m)
			}
			_ = b.Stop(context.Background())
		})
	}
}
