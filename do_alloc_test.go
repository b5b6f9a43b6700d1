package resilience

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// passGate admits every call with one prebuilt done, as a closed breaker
// does.
type passGate struct{ done func(error) }

func (g *passGate) Allow(context.Context) (func(error), error) { return g.done, nil }

func (g *passGate) Run(ctx context.Context, fn func(context.Context) error) error {
	err := fn(ctx)
	g.done(err)
	return err
}

// TestDoThroughAGateDoesNotAllocate pins the promise a breaker's hot path
// relies on: Do through a Gate that admits without allocating allocates
// nothing itself.
func TestDoThroughAGateDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	g := &passGate{done: func(error) {}}
	fn := func(context.Context) (int, error) { return 1, nil }
	if n := testing.AllocsPerRun(100, func() { _, _ = Do(ctx, g, fn) }); n != 0 {
		t.Fatalf("Do through a Gate: %v allocations per call, want 0", n)
	}
}

// TestClassifyDoesNotAllocate: the default classifier runs on every
// failed call through a breaker, whose failure path allocates nothing.
func TestClassifyDoesNotAllocate(t *testing.T) {
	errs := []error{errors.New("boom"), Permanent(errors.New("bad")), context.Canceled,
		fmt.Errorf("wrapped: %w", RetryAfter(errors.New("busy"), time.Second))}
	for _, err := range errs {
		if n := testing.AllocsPerRun(100, func() { _ = Classify(err) }); n != 0 {
			t.Errorf("Classify(%v): %v allocations, want 0", err, n)
		}
	}
	if got := Classify(errors.Join(errors.New("a"), Permanent(errors.New("b")))); got != Terminal {
		t.Errorf("Classify of a joined Permanent error = %v, want terminal", got)
	}
}
