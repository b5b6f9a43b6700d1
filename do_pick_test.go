package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// sideBySide runs n attempts at once, each after its own delay, and ends
// with the first success to return or, when none succeeds, the error of
// the attempt at index pick in return order: a policy free to choose any
// attempt's error, as a hedge's Terminal or last failure does.
type sideBySide struct {
	n    int
	pick int
}

func (s sideBySide) Run(ctx context.Context, fn func(context.Context) error) error {
	var mu sync.Mutex
	var order []error
	var wg sync.WaitGroup
	for k := 1; k <= s.n; k++ {
		wg.Go(func() {
			err := fn(resilience.WithAttempt(ctx, k))
			mu.Lock()
			order = append(order, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, err := range order {
		if err == nil {
			return nil
		}
	}
	return order[s.pick%len(order)]
}

// attemptErr is attempt n's own error.
type attemptErr int

func (e *attemptErr) Error() string { return fmt.Sprintf("attempt %d failed", int(*e)) }

func TestDoPicksTheAttemptWhoseErrorEndsTheCallAndReleasesEveryOther(t *testing.T) {
	for seed := range uint64(200) {
		synctest.Test(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			n := 1 + rng.IntN(8)
			delays := make([]time.Duration, n+1) // distinct: attempts return one at a time
			ok := make([]bool, n+1)
			for i, d := range rng.Perm(n) {
				delays[i+1] = time.Duration(d) * time.Millisecond
				ok[i+1] = rng.IntN(3) == 0
			}
			var cs conns
			var mu sync.Mutex
			var returned []int // attempts in the order they returned
			got, err := resilience.Do(t.Context(), sideBySide{n: n, pick: rng.IntN(n)}, func(ctx context.Context) (conn, error) {
				k := resilience.Attempt(ctx)
				time.Sleep(delays[k])
				c := cs.open(k)
				mu.Lock()
				returned = append(returned, k)
				mu.Unlock()
				if ok[k] {
					return c, nil
				}
				e := attemptErr(k)
				return c, &e
			})
			want := -1
			if err == nil {
				for _, k := range returned {
					if ok[k] {
						want = k
						break
					}
				}
			} else {
				var ae *attemptErr
				require.True(t, errors.As(err, &ae))
				want = int(*ae)
			}
			require.Equal(t, want, got.id, "seed %d: the value of the attempt whose error ends the call", seed)
			for k, n := range cs.releases() {
				if k == want {
					assert.Zero(t, n, "seed %d: the returned value is not released", seed)
				} else {
					assert.Equal(t, int32(1), n, "seed %d: attempt %d's value is released once", seed, k)
				}
			}
		})
	}
}
