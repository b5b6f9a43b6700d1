package breaker

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The breaker counts the shared outcomes: Terminal as a failure,
// Throttled and Ignored not at all.
func TestOutcomesCountAsTheVocabularySays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 2})
		ctx := context.Background()
		busy := func(context.Context) error { return resilience.RetryAfter(errBoom, time.Second) }
		bad := func(context.Context) error { return resilience.Permanent(errBoom) }
		for range 5 {
			require.ErrorIs(t, b.Run(ctx, busy), errBoom)
		}
		require.ErrorIs(t, b.Run(ctx, func(context.Context) error { return context.Canceled }), context.Canceled)
		synctest.Wait()
		require.Equal(t, Closed, b.State(), "throttled and ignored calls are not failures")
		require.ErrorIs(t, b.Run(ctx, bad), errBoom)
		require.ErrorIs(t, b.Run(ctx, bad), errBoom)
		synctest.Wait()
		require.Equal(t, Open, b.State(), "terminal errors are failures")
		m := b.Metrics()
		assert.Equal(t, uint64(2), m.Failures)
		assert.Equal(t, uint64(6), m.Ignored)
	})
}

// A half-open probe that ends Throttled gives its slot back without
// deciding: the breaker stays half-open and admits another probe.
func TestThrottledProbeGivesItsSlotBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 1, SuccessThreshold: 1, HalfOpenMaxRequests: 1, OpenTimeout: time.Second})
		ctx := context.Background()
		trip(t, b)
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, HalfOpen, b.State())
		busy := func(context.Context) error { return resilience.RetryAfter(errBoom, time.Second) }
		for range 3 {
			require.ErrorIs(t, b.Run(ctx, busy), errBoom, "each probe got the one slot")
			synctest.Wait()
			require.Equal(t, HalfOpen, b.State())
		}
		require.NoError(t, b.Run(ctx, succeed))
		synctest.Wait()
		assert.Equal(t, Closed, b.State())
	})
}

// Refusals are the shared *resilience.RejectedError, named after the
// breaker: open (with the next probe time plus a margin), half-open full,
// stopped.
func TestRefusalsAreRejectedErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{Name: "db", FailureThreshold: 1, HalfOpenMaxRequests: 1, OpenTimeout: time.Minute})
		ctx := context.Background()
		trip(t, b)
		err := b.Run(ctx, succeed)
		var re *resilience.RejectedError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "db", re.Name)
		assert.ErrorIs(t, err, resilience.ErrOpen)
		assert.ErrorIs(t, err, resilience.ErrRejected)
		assert.Equal(t, time.Minute+probeMargin, re.RetryAfter())
		var again *resilience.RejectedError
		require.ErrorAs(t, b.Run(ctx, succeed), &again)
		assert.Same(t, re, again, "prebuilt: one value per opening")

		time.Sleep(time.Minute)
		synctest.Wait()
		release := make(chan struct{})
		go func() { _ = b.Run(ctx, func(context.Context) error { <-release; return nil }) }()
		synctest.Wait()
		err = b.Run(ctx, succeed)
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, resilience.ErrOpen, "a full half-open refuses like an open breaker")
		assert.Equal(t, "db", re.Name)
		close(release)
		synctest.Wait()

		require.NoError(t, b.Stop(ctx))
		err = b.Run(ctx, succeed)
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.Equal(t, resilience.Ignored, resilience.Classify(err), "a stopped breaker's refusal is nobody's failure")
	})
}

func TestNilFunctionIsAConfigError(t *testing.T) {
	b := newTest(t, Config{})
	var ce *resilience.ConfigError
	require.ErrorAs(t, b.Run(context.Background(), nil), &ce)
	assert.Equal(t, "fn", ce.Field)
	_, err := resilience.Do[int](context.Background(), b, nil)
	require.ErrorAs(t, err, &ce)
}

// A family at its cap refuses a new key with ErrFull; Start, Done and Err
// follow the component contract.
func TestFamilyRefusalsAndLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		f, err := NewFamily[string](FamilyConfig{MaxKeys: 1, Breaker: Config{Name: "hosts", FailureThreshold: 1}})
		require.NoError(t, err)
		require.NoError(t, f.Start(ctx))
		require.ErrorIs(t, keyRun(ctx, f, "a", fail), errBoom)
		synctest.Wait()
		_, err = f.For("b")
		var re *resilience.RejectedError
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, resilience.ErrFull)
		assert.Equal(t, "hosts", re.Name)

		a, err := f.For("a")
		require.NoError(t, err)
		require.NotNil(t, a.act.Load(), "the open key has an actor")
		select {
		case <-f.Done():
			t.Fatal("Done is closed before Stop")
		default:
		}
		require.NoError(t, f.Stop(ctx))
		<-f.Done()
		select {
		case <-a.act.Load().Done():
		default:
			t.Fatal("Done is closed before a key's actor has exited")
		}
		require.NoError(t, f.Err())
		require.ErrorIs(t, f.Start(ctx), resilience.ErrStopped)
		require.ErrorIs(t, a.Run(ctx, succeed), resilience.ErrStopped)
		_, err = f.For("a")
		require.ErrorIs(t, err, resilience.ErrStopped)
	})
}

// component is the lifecycle contract, restated here: the breaker package
// does not import lifecycle, it satisfies the contract structurally.
type component interface {
	Start(context.Context) error
	Stop(context.Context) error
	Done() <-chan struct{}
	Err() error
}

var (
	_ component = (*Breaker)(nil)
	_ component = (*Family[string])(nil)
)
