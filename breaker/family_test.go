package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newFamily(t *testing.T, cfg FamilyConfig) *Family[string] {
	t.Helper()
	f, err := NewFamily[string](cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, f.Stop(context.Background())) })
	return f
}

func TestFamilyConfigErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name  string
		cfg   FamilyConfig
		field string
	}{
		{"negative idle", FamilyConfig{IdleTimeout: -1}, "IdleTimeout"},
		{"negative cap", FamilyConfig{MaxKeys: -1}, "MaxKeys"},
		{"bad breaker", FamilyConfig{Breaker: Config{FailureRate: 2}}, "Breaker.FailureRate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewFamily[string](c.cfg)
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "breaker.FamilyConfig."+c.field, ce.Field)
		})
	}
}

func TestFamilyCreatesOneBreakerPerKey(t *testing.T) {
	f := newFamily(t, FamilyConfig{})
	a, err := f.For("a")
	require.NoError(t, err)
	a2, _ := f.For("a")
	b, _ := f.For("b")
	assert.Same(t, a, a2, "the same key gives the same breaker")
	assert.NotSame(t, a, b)
	assert.Equal(t, "a", a.Name(), "string keys name their breaker")
	assert.Equal(t, 2, f.Len())
	assert.Equal(t, uint64(2), f.Metrics().Created)
	assert.Equal(t, familyShards, a.cfg.Shards, "a family's breakers default to one counter slot")
	assert.Same(t, a.cfg, b.cfg, "a family's breakers share one Config")
}

func TestFamilyKeysAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFamily(t, FamilyConfig{Breaker: Config{FailureThreshold: 1}})
		ctx := context.Background()
		require.ErrorIs(t, keyRun(ctx, f, "down", fail), errBoom)
		synctest.Wait()
		assert.ErrorIs(t, keyRun(ctx, f, "down", succeed), resilience.ErrOpen)
		_, err := keyDo(ctx, f, "up", func(context.Context) (int, error) { return 7, nil })
		assert.NoError(t, err, "another key is not affected")
	})
}

func TestIdleKeysCostNoGoroutine(t *testing.T) {
	f := newFamily(t, FamilyConfig{})
	for i := range 1000 {
		require.NoError(t, keyRun(context.Background(), f, fmt.Sprint("k", i), succeed))
	}
	f.idx.each(func(e *entry[string]) {
		assert.Nil(t, e.b.act.Load(), "a closed breaker has no actor")
	})
}

func TestIdleKeyIsEvictedBetweenIdleTimeoutAndOneAndAHalf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFamily(t, FamilyConfig{IdleTimeout: 10 * time.Minute})
		first, err := f.For("k")
		require.NoError(t, err)
		time.Sleep(10*time.Minute - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, 1, f.Len(), "not evicted before IdleTimeout")
		time.Sleep(5*time.Minute + time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, 0, f.Len(), "evicted by 1.5 × IdleTimeout")
		assert.Equal(t, uint64(1), f.Metrics().EvictedIdle)
		require.NoError(t, first.Run(context.Background(), succeed),
			"a call on an evicted handle goes on with the key's current breaker")
		assert.Nil(t, first.act.Load(), "the evicted breaker starts no actor nobody owns")
		again, err := f.For("k")
		require.NoError(t, err)
		assert.NotSame(t, first, again, "the key comes back as a fresh breaker")
		assert.Equal(t, uint64(1), again.Metrics().Successes, "the handle's call counted there")
		assert.Zero(t, first.Metrics().Successes)
	})
}

func TestUsedKeyIsNotEvicted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFamily(t, FamilyConfig{IdleTimeout: time.Minute})
		for range 10 {
			require.NoError(t, keyRun(context.Background(), f, "k", succeed))
			time.Sleep(50 * time.Second)
		}
		synctest.Wait()
		assert.Equal(t, uint64(1), f.Metrics().Created)
		assert.Zero(t, f.Metrics().EvictedIdle)
	})
}

func TestOpenKeyIsKeptAndReleasesItsActorOnceClosedAndIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFamily(t, FamilyConfig{IdleTimeout: time.Minute,
			Breaker: Config{FailureThreshold: 1, SuccessThreshold: 1, OpenTimeout: 5 * time.Minute}})
		ctx := context.Background()
		b, _ := f.For("k")
		require.ErrorIs(t, keyRun(ctx, f, "k", fail), errBoom)
		synctest.Wait()
		require.Equal(t, Open, b.State())
		time.Sleep(10 * time.Minute) // open, then half-open with nobody probing
		synctest.Wait()
		assert.Equal(t, 1, f.Len(), "a breaker that is not closed holds state worth keeping")
		require.NoError(t, keyRun(ctx, f, "k", succeed))
		synctest.Wait()
		require.Equal(t, Closed, b.State())
		a := b.act.Load()
		require.NotNil(t, a, "tripping started the breaker's actor")
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		assert.Equal(t, 0, f.Len())
		select {
		case <-a.Done():
		default:
			t.Fatal("the evicted breaker's actor is still running")
		}
	})
}

func TestCapEvictsTheLeastRecentlyUsedClosedKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFamily(t, FamilyConfig{MaxKeys: 3, IdleTimeout: time.Hour,
			Breaker: Config{FailureThreshold: 1}})
		ctx := context.Background()
		for _, k := range []string{"a", "b", "c"} {
			require.NoError(t, keyRun(ctx, f, k, succeed))
		}
		time.Sleep(31 * time.Minute) // a new epoch
		synctest.Wait()
		require.NoError(t, keyRun(ctx, f, "a", succeed))
		require.NoError(t, keyRun(ctx, f, "c", succeed))
		require.NoError(t, keyRun(ctx, f, "d", succeed))
		assert.Nil(t, f.idx.load("b"), "b was used least recently")
		assert.Equal(t, 3, f.Len())
		assert.Equal(t, uint64(1), f.Metrics().EvictedLRU)

		for _, k := range []string{"a", "c", "d"} {
			require.ErrorIs(t, keyRun(ctx, f, k, fail), errBoom)
		}
		synctest.Wait()
		_, err := f.For("e")
		assert.ErrorIs(t, err, resilience.ErrFull, "open breakers are never evicted to make room")
		assert.Equal(t, uint64(1), f.Metrics().Full)
	})
}

func TestFamilyStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, err := NewFamily[string](FamilyConfig{Breaker: Config{FailureThreshold: 1}})
		require.NoError(t, err)
		ctx := context.Background()
		b, _ := f.For("k")
		require.ErrorIs(t, b.Run(ctx, fail), errBoom) // starts an actor
		synctest.Wait()
		require.NoError(t, f.Stop(ctx))
		require.NoError(t, f.Stop(ctx), "Stop is idempotent")
		_, err = f.For("k")
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.ErrorIs(t, keyRun(ctx, f, "new", succeed), resilience.ErrStopped)
		assert.ErrorIs(t, b.Run(ctx, succeed), resilience.ErrStopped)
		assert.Zero(t, f.Len())
	})
}

func TestUserStoppedBreakerDoesNotSpin(t *testing.T) {
	f := newFamily(t, FamilyConfig{})
	b, _ := f.For("k")
	require.NoError(t, b.Stop(context.Background()))
	assert.ErrorIs(t, keyRun(context.Background(), f, "k", succeed), resilience.ErrStopped)
}

// TestKeyedCallNeverSeesEviction churns a family whose cap is far below
// the number of keys, so keys are evicted all the time, and checks that no
// call through For is refused because its key was evicted.
func TestKeyedCallNeverSeesEviction(t *testing.T) {
	f := newFamily(t, FamilyConfig{MaxKeys: 4})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				key := fmt.Sprint("k", (g*7+i)%16)
				v, err := keyDo(context.Background(), f, key, func(context.Context) (int, error) { return i, nil })
				if !assert.NoError(t, err) || !assert.Equal(t, i, v) {
					return
				}
			}
		})
	}
	wg.Wait()
	m := f.Metrics()
	assert.LessOrEqual(t, m.Keys, 4)
	assert.Equal(t, m.Created, m.EvictedLRU+uint64(m.Keys))
}

func TestKeyedHotCallDoesNotAllocate(t *testing.T) {
	f := newFamily(t, FamilyConfig{})
	ctx := context.Background()
	key := "api.example.com"
	_, _ = keyDo(ctx, f, key, ok)
	allocs := testing.AllocsPerRun(100, func() { _, _ = keyDo(ctx, f, key, ok) })
	assert.Zero(t, allocs, "a hot call through a present, closed key")
}

func TestFamilyPanicCountsAsFailure(t *testing.T) {
	f := newFamily(t, FamilyConfig{})
	assert.Panics(t, func() {
		_ = keyRun(context.Background(), f, "k", func(context.Context) error { panic(errors.New("bad")) })
	})
	b, _ := f.For("k")
	assert.Equal(t, uint64(1), b.Metrics().Failures)
}

// TestIdleEvictionBounds uses a key once at various points of a sweep
// interval and checks when it goes: never before IdleTimeout of disuse,
// always by 1.5 × IdleTimeout.
func TestIdleEvictionBounds(t *testing.T) {
	const idle = 20 * time.Minute
	const step = idle / 40
	for _, at := range []time.Duration{0, step, idle/4 + step/2, idle/2 - step, idle / 2, 3 * idle / 2} {
		t.Run(at.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFamily(t, FamilyConfig{IdleTimeout: idle})
				time.Sleep(at)
				require.NoError(t, keyRun(context.Background(), f, "k", succeed))
				var gone time.Duration
				for gone = 0; gone <= 2*idle && f.Len() == 1; gone += step {
					time.Sleep(step)
					synctest.Wait()
				}
				assert.GreaterOrEqual(t, gone, idle, "evicted before IdleTimeout of disuse")
				assert.LessOrEqual(t, gone, idle*3/2, "still there after 1.5 × IdleTimeout")
			})
		})
	}
}

func TestFamilyWithStructKeys(t *testing.T) {
	type route struct {
		tenant string
		model  int
	}
	f, err := NewFamily[route](FamilyConfig{Breaker: Config{Name: "models"}})
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Stop(context.Background())) }()
	a, _ := f.For(route{"acme", 1})
	b, _ := f.For(route{"acme", 2})
	a2, _ := f.For(route{"acme", 1})
	assert.Same(t, a, a2)
	assert.NotSame(t, a, b)
	assert.Equal(t, "{acme 1}", a.Name(), "a non-string key names its breaker as fmt.Sprint prints it")
}

// TestFamilyEvictUsedTakesAKeyUsedSinceTheScan covers the cap's last
// resort: a candidate whose entry was touched after the scan that found it
// is still evicted when nothing else can be, unless it stopped being
// evictable (here: forced open).
func TestFamilyEvictUsedTakesAKeyUsedSinceTheScan(t *testing.T) {
	f := newFamily(t, FamilyConfig{MaxKeys: 2, IdleTimeout: time.Hour})
	a, err := f.For("a")
	require.NoError(t, err)
	_, err = f.For("b")
	require.NoError(t, err)
	require.NoError(t, a.ForceOpen(context.Background()))

	f.mu.Lock()
	f.cands = f.scan(f.cands[:0])
	require.Len(t, f.cands, 1, "only b is evictable")
	b := f.cands[0].e
	f.epoch.Add(1)
	f.touch(b) // used after the scan: the remembered seen is stale
	assert.False(t, f.evict(b, f.cands[0].seen), "the first choice passes over a key used since the scan")
	assert.False(t, f.evictUsed(f.idx.load("a")), "a forced breaker is never evicted")
	assert.True(t, f.evictUsed(b))
	f.mu.Unlock()

	assert.Equal(t, 1, f.Len())
	_, err = f.For("c")
	require.NoError(t, err, "room was made for a new key")
}

// keyRun calls fn through key's breaker in f, as a user does: For, then Run.
func keyRun[K comparable](ctx context.Context, f *Family[K], key K, fn func(context.Context) error) error {
	b, err := f.For(key)
	if err != nil {
		return err
	}
	return b.Run(ctx, fn)
}

// keyDo is keyRun through resilience.Do.
func keyDo[K comparable, T any](ctx context.Context, f *Family[K], key K, fn func(context.Context) (T, error)) (T, error) {
	b, err := f.For(key)
	if err != nil {
		var zero T
		return zero, err
	}
	return resilience.Do(ctx, b, fn)
}
