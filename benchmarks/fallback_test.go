package benchmarks

import (
	"context"
	"errors"
	"testing"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/fallback"

	"github.com/llm-research-lab/resilience"
)

var errFallbackDown = errors.New("down")

// BenchmarkFallback is one call with a fallback to a constant:
//
//	success   the call succeeds; the fallback is not used
//	fallback  the call fails; the fallback's constant is the answer
//
// resilience runs the call through an empty Pipeline (a Policy that is
// not a Gate, as in a service); failsafe-go through an executor of its
// fallback policy alone. Both are built once, outside the timed loop.
func BenchmarkFallback(b *testing.B) {
	for _, c := range []struct {
		name string
		err  error
	}{{"success", nil}, {"fallback", errFallbackDown}} {
		want := 1
		if c.err != nil {
			want = -1
		}
		b.Run(c.name+"/lib=resilience", func(b *testing.B) {
			p, ctx := &resilience.Pipeline{}, context.Background()
			fn := func(context.Context) (int, error) { return 1, c.err }
			def := func(context.Context, int, error) (int, error) { return -1, nil }
			b.ReportAllocs()
			for b.Loop() {
				if v, err := resilience.DoOr(ctx, p, fn, def); err != nil || v != want {
					b.Fatal(v, err)
				}
			}
		})
		b.Run(c.name+"/lib=failsafe", func(b *testing.B) {
			ex := failsafe.With[int](fallback.NewWithResult(-1)).WithContext(context.Background())
			fn := func() (int, error) { return 1, c.err }
			b.ReportAllocs()
			for b.Loop() {
				if v, err := ex.Get(fn); err != nil || v != want {
					b.Fatal(v, err)
				}
			}
		})
	}
}
