package gate_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/gate"
)

// open is a gate that admits every call and remembers what done heard.
type open struct{ heard []error }

func (o *open) Allow(context.Context) (func(error), error) {
	return func(err error) { o.heard = append(o.heard, err) }, nil
}

func (o *open) Run(ctx context.Context, fn func(context.Context) error) error {
	return gate.Run(ctx, o, fn)
}

// Run admits through Allow, reports the result to done, and refuses a nil
// function.
func ExampleRun() {
	g := &open{}
	boom := errors.New("boom")
	fmt.Println(g.Run(context.Background(), func(context.Context) error { return boom }))
	fmt.Println(g.heard)
	var ce *resilience.ConfigError
	fmt.Println(errors.As(g.Run(context.Background(), nil), &ce), ce.Field)
	// Output:
	// boom
	// [boom]
	// true fn
}
