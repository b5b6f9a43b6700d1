package timers

import (
	"context"
	"testing"
	"time"
)

// BenchmarkStart is the engine alone: a context with a one-second timeout
// on the shared set, checked once and released, against the same with
// context.WithTimeout.
func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name string
		op   func()
	}{
		{"shared", func() {
			t := Start(ctx, time.Second)
			_ = t.Ctx.Err()
			t.Stop()
		}},
		{"context.WithTimeout", func() {
			c, cancel := context.WithTimeout(ctx, time.Second)
			_ = c.Err()
			cancel()
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tc.op()
			}
		})
		b.Run(tc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tc.op()
				}
			})
		})
	}
}
