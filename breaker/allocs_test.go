package breaker

import (
	"context"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHotPathsDoNotAllocate pins the promise the benchmarks measure: a
// closed call, a failure that does not trip, an open rejection and the
// two-step Allow allocate nothing.
func TestHotPathsDoNotAllocate(t *testing.T) {
	ctx := context.Background()
	b := newTest(t, Config{FailureThreshold: 1000})
	answer := func(context.Context) (int, error) { return 1, nil }
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = resilience.Do(ctx, b, answer) }), "closed Do")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = b.Run(ctx, succeed) }), "closed Run")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = b.Run(ctx, fail) }), "closed failure")
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		done, _ := b.Allow(ctx)
		done(nil)
	}), "closed Allow")
	require.NoError(t, b.ForceOpen(ctx))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = b.Run(ctx, succeed) }), "open rejection")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = b.Allow(ctx) }), "open Allow")
}

// The trip options cost the closed success path nothing either: it is the
// same path, whatever rule judges the failures.
func TestTripOptionsKeepTheSuccessPathFree(t *testing.T) {
	ctx := context.Background()
	b := newTest(t, Config{FailureThreshold: 1000, FailurePeriod: time.Minute,
		ReadyToTrip: func(Counts) bool { return false }, HalfOpenSuccessRatio: 0.5})
	require.True(t, b.snap.Load().pass, "the closed fast path is taken")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = b.Run(ctx, succeed) }), "closed Run")
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		done, _ := b.Allow(ctx)
		done(nil)
	}), "closed Allow")
}
