package resilience_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
)

var errCacheMiss = errors.New("cache: miss")

// openBreaker returns a breaker that refuses every call.
func openBreaker(t *testing.T) *breaker.Breaker {
	t.Helper()
	br, err := breaker.New(breaker.Config{Name: "prices", OpenTimeout: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { _ = br.Stop(context.Background()) })
	require.NoError(t, br.ForceOpen(context.Background()))
	return br
}

// onRefusal falls back to def when the call was refused, and declines
// otherwise.
func onRefusal(def int, ran *int) func(context.Context, int, error) (int, error) {
	return func(_ context.Context, v int, err error) (int, error) {
		*ran++
		if !errors.Is(err, resilience.ErrRejected) {
			return v, err
		}
		return def, nil
	}
}

func TestDoOrFallsBackOnAnOpenBreaker(t *testing.T) {
	br := openBreaker(t)
	ran, calls := 0, 0
	got, err := resilience.DoOr(context.Background(), br, func(context.Context) (int, error) {
		calls++
		return 42, nil
	}, onRefusal(-1, &ran))
	require.NoError(t, err, "a fallback that succeeds replaces the failure")
	assert.Equal(t, -1, got)
	assert.Equal(t, 1, ran)
	assert.Zero(t, calls, "the open breaker refused the call")
}

func TestDoOrDeclinesByReturningTheFailureUnchanged(t *testing.T) {
	down := errors.New("500")
	ran := 0
	got, err := resilience.DoOr(context.Background(), &resilience.Pipeline{}, func(context.Context) (int, error) {
		return 7, down
	}, onRefusal(-1, &ran))
	assert.Same(t, down, err, "a declined failure is returned as it was, not wrapped")
	assert.Equal(t, 7, got)
	assert.Equal(t, 1, ran)
}

func TestDoOrDoesNotCallTheFallbackOnSuccess(t *testing.T) {
	ran := 0
	got, err := resilience.DoOr(context.Background(), nil, func(context.Context) (int, error) {
		return 1, nil
	}, onRefusal(-1, &ran))
	require.NoError(t, err)
	assert.Equal(t, 1, got)
	assert.Zero(t, ran)
}

func TestDoOrKeepsBothErrorsReachableWhenTheFallbackFails(t *testing.T) {
	br := openBreaker(t)
	_, err := resilience.DoOr(context.Background(), br, func(context.Context) (int, error) { return 0, nil },
		func(context.Context, int, error) (int, error) { return 0, errCacheMiss })
	require.Error(t, err)
	assert.ErrorIs(t, err, errCacheMiss, "the fallback's error")
	assert.ErrorIs(t, err, resilience.ErrOpen, "the call's error")
	var re *resilience.RejectedError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "prices", re.Name)
	assert.Same(t, re, errors.Unwrap(err), "one Unwrap chain, leading to the call's error")
	assert.Equal(t, "cache: miss (fallback after: resilience: prices: rejected: resilience: circuit open)", err.Error())
	assert.Equal(t, resilience.Throttled, resilience.Classify(err), "it classifies as the call's error")
}

func TestDoOrReturnsAnErrorThatWrapsTheFailureAsIs(t *testing.T) {
	down := errors.New("500")
	wrapped := errors.Join(errCacheMiss, down)
	_, err := resilience.DoOr(context.Background(), nil, func(context.Context) (int, error) { return 0, down },
		func(_ context.Context, _ int, err error) (int, error) { return 0, wrapped })
	assert.Same(t, wrapped, err, "already reachable: not wrapped again")
}

// response is a result that carries data even when it is an error.
type response struct {
	status int
	body   string
}

func TestDoOrChoosesByResult(t *testing.T) {
	errUnavailable := errors.New("503")
	got, err := resilience.DoOr(context.Background(), nil, func(context.Context) (response, error) {
		return response{503, "stale prices"}, errUnavailable
	}, func(_ context.Context, r response, err error) (response, error) {
		if r.status == 503 && r.body != "" {
			return response{200, r.body}, nil // serve what the 503 carried
		}
		return r, err
	})
	require.NoError(t, err)
	assert.Equal(t, response{200, "stale prices"}, got)
}

func TestDoOrFallsBackOnATimeoutWithADoneContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &resilience.Pipeline{Name: "prices", Timeout: 10 * time.Millisecond}
		got, err := resilience.DoOr(t.Context(), p, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		}, func(ctx context.Context, v int, err error) (int, error) {
			if errors.Is(err, resilience.ErrTimeout) {
				return 99, nil
			}
			return v, err
		})
		require.NoError(t, err)
		assert.Equal(t, 99, got)
	})
}

func TestDoOrNilArgumentsAreConfigErrors(t *testing.T) {
	calls := 0
	fn := func(context.Context) (int, error) { calls++; return 0, nil }
	_, err := resilience.DoOr(context.Background(), nil, fn, nil)
	var ce *resilience.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "fallback", ce.Field)
	assert.Zero(t, calls)

	ran := 0
	_, err = resilience.DoOr(context.Background(), nil, nil, onRefusal(0, &ran))
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "fn", ce.Field)
	assert.Zero(t, ran, "a nil fn is not a failure to fall back from")
}

func TestDoOrRaisesAPanicWithoutFallingBack(t *testing.T) {
	ran := 0
	assert.PanicsWithValue(t, "bug", func() {
		_, _ = resilience.DoOr(context.Background(), nil, func(context.Context) (int, error) { panic("bug") }, onRefusal(0, &ran))
	})
	assert.Zero(t, ran)
}
