package resilience_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// numbered is a retry policy that numbers its attempts itself, as
// retry.Policy does, and records the contexts it passed.
type numbered struct {
	n    int
	ctxs *[]context.Context
}

func (l numbered) Run(ctx context.Context, fn func(context.Context) error) error {
	var err error
	for k := 1; k <= l.n; k++ {
		actx := ctx
		if k > 1 {
			actx = resilience.WithAttempt(ctx, k)
		}
		*l.ctxs = append(*l.ctxs, actx)
		if err = fn(actx); err == nil {
			return nil
		}
	}
	return err
}

func TestAttemptNumbersWithoutAPipeline(t *testing.T) {
	ctx := context.Background()
	assert.Equal(t, 1, resilience.Attempt(ctx))
	assert.Equal(t, 3, resilience.Attempt(resilience.WithAttempt(ctx, 3)))
	assert.Equal(t, 1, resilience.Attempt(resilience.WithAttempt(ctx, -2)), "below 1 counts as 1")
}

func TestPipelineDoesNotRenumberAPolicysAttempts(t *testing.T) {
	var passed, seen []context.Context
	var nums []int
	p := &resilience.Pipeline{Retry: numbered{n: 3, ctxs: &passed}}
	err := p.Run(context.Background(), func(ctx context.Context) error {
		seen = append(seen, ctx)
		nums = append(nums, resilience.Attempt(ctx))
		return errors.New("down")
	})
	require.Error(t, err)
	assert.Equal(t, []int{1, 2, 3}, nums)
	require.Len(t, seen, 3)
	for i := range seen {
		assert.True(t, seen[i] == passed[i], "attempt %d: the pipeline derived another context", i+1)
	}
}
