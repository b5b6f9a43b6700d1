// Package gate is the Run method every admission gate of this module
// shares: admit through Allow, call the function, report its error to
// done, and refuse a nil function with a clear error.
package gate

import (
	"context"

	"github.com/llm-research-lab/resilience"
)

// errNilFunc is the error for a nil function.
var errNilFunc = &resilience.ConfigError{Field: "fn", Reason: "must not be nil"}

// Run calls fn through g as [resilience.Do] does (admission by Allow, the
// result reported to done, a panic counted and re-raised) and returns fn's
// error or g's refusal. A nil fn is a *resilience.ConfigError.
func Run(ctx context.Context, g resilience.Gate, fn func(context.Context) error) error {
	if fn == nil {
		return errNilFunc
	}
	_, err := resilience.Do(ctx, g, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}
