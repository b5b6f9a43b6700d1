package breaker

import (
	"context"
	"errors"
	"fmt"
	"github.com/llm-research-lab/resilience"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestFamilyStressChurnAtTheCap runs many goroutines over more keys than
// the cap allows, with sweeps and LRU evictions racing them, and checks the
// cap, that For never returns another key's breaker, and that a call through For
// never fails with resilience.ErrStopped.
func TestFamilyStressChurnAtTheCap(t *testing.T) {
	for seed := range 10 {
		synctest.Test(t, func(t *testing.T) {
			f, _ := NewFamily[string](FamilyConfig{Breaker: Config{FailureThreshold: 3, OpenTimeout: time.Millisecond}, IdleTimeout: 4 * time.Millisecond, MaxKeys: 20})
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(seed), uint64(g)))
					for range 300 {
						k := fmt.Sprint(rng.IntN(40))
						b, err := f.For(k)
						if err == nil && b.Name() != k {
							t.Errorf("For(%s) gave %s", k, b.Name())
						}
						if n := f.Len(); n > 20 {
							t.Errorf("len %d", n)
						}
						_, err = keyDo(context.Background(), f, k, func(context.Context) (int, error) {
							if rng.IntN(4) == 0 {
								return 0, errors.New("x")
							}
							return 0, nil
						})
						if errors.Is(err, resilience.ErrStopped) {
							t.Errorf("a call through For was refused with ErrStopped")
						}
						if rng.IntN(10) == 0 {
							time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
						}
					}
				})
			}
			wg.Wait()
			time.Sleep(50 * time.Millisecond)
			_ = f.Stop(context.Background())
		})
	}
}

// TestFamilyStressCapNeverFullWhileKeysAreClosed churns more keys than
// the cap through real goroutines while the sweep advances the epoch every
// half millisecond. Every key is closed, so a new key must always find one
// to evict: resilience.ErrFull would mean the cap gave up because callers touched its
// candidates between its scan and its eviction.
func TestFamilyStressCapNeverFullWhileKeysAreClosed(t *testing.T) {
	f := newFamily(t, FamilyConfig{MaxKeys: 4, IdleTimeout: time.Millisecond})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 30_000 {
				err := keyRun(context.Background(), f, fmt.Sprint((w+i)%16), func(context.Context) error { return nil })
				if err != nil {
					t.Errorf("call %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
