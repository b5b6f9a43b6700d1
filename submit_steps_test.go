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
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/retry"
)

// A stepped job takes the Limiter once for the whole job, passes each
// attempt through the breaker, numbers the attempts, and answers with the
// last attempt's value; a refused retry ends the job with the refusal.
func TestSubmitStepsThroughThePipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &trace{}
		r, err := retry.New(retry.Config{Jitter: retry.NoJitter, InitialDelay: time.Minute, MaxAttempts: 3})
		require.NoError(t, err)
		b, err := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1})
		require.NoError(t, err)
		p := &resilience.Pipeline{
			Limiter: &gate{name: "limit", t: tr}, Retry: r,
			Breaker: &gate{name: "breaker", t: tr}, Bulkhead: b,
		}
		out := make(chan resilience.Result[int], 1)
		require.NoError(t, resilience.Submit(context.Background(), p, func(ctx context.Context) (int, error) {
			n := resilience.Attempt(ctx)
			tr.add("fn:%d", n)
			if n < 3 {
				return n, errors.New("flaky")
			}
			return n, nil
		}, out))
		res := <-out
		require.NoError(t, res.Err)
		assert.Equal(t, 3, res.Value)
		assert.Equal(t, "limit:in breaker:in fn:1 breaker:fail breaker:in fn:2 breaker:fail breaker:in fn:3 breaker:ok limit:ok", tr.String())

		require.NoError(t, b.Stop(context.Background()))
		require.NoError(t, b.Start(context.Background()))
		require.NoError(t, resilience.Submit(context.Background(), p, func(context.Context) (int, error) {
			go func() { _ = b.Stop(context.Background()) }()
			return 7, errors.New("flaky")
		}, out))
		res = <-out
		assert.Equal(t, 7, res.Value, "the last attempt's value")
		assert.ErrorIs(t, res.Err, resilience.ErrStopped, "the retry the stopped bulkhead refused")
		synctest.Wait()
	})
}
