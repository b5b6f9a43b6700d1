package actor_test

import (
	"context"
	"testing"

	"github.com/llm-research-lab/resilience/actor"
)

// BenchmarkTell measures Tell throughput of a value message into an actor
// that counts what it receives.
func BenchmarkTell(b *testing.B) {
	c := &counter{}
	a, _ := actor.Spawn(actor.Config{Mailbox: 1024}, same[int](c))
	b.ReportAllocs()
	for b.Loop() {
		for a.Tell(1) != nil {
			runtimeGosched() // full: let the actor catch up
		}
	}
	b.StopTimer()
	_ = a.Stop(context.Background())
}

// BenchmarkAsk compares an Ask round trip with the same round trip on bare
// channels: a request carrying a fresh reply channel of capacity one, sent
// to a goroutine that replies on it.
func BenchmarkAsk(b *testing.B) {
	b.Run("lib=actor", func(b *testing.B) {
		a, _ := actor.Spawn(actor.Config{}, same(doubler()))
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_, _ = actor.Ask(ctx, a, func(r actor.Reply[int]) request { return request{1, r} })
		}
		b.StopTimer()
		_ = a.Stop(ctx)
	})
	b.Run("lib=channel", func(b *testing.B) {
		type req struct {
			n     int
			reply chan int
		}
		reqs := make(chan req, 64)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for r := range reqs {
				r.reply <- 2 * r.n
			}
		}()
		b.ReportAllocs()
		for b.Loop() {
			reply := make(chan int, 1)
			reqs <- req{1, reply}
			<-reply
		}
		b.StopTimer()
		close(reqs)
		<-done
	})
}

// BenchmarkTellRefused measures the gate alone, on one goroutine: a Tell
// refused because the mailbox is full (the actor is held inside Receive),
// and one refused because the actor is stopped.
func BenchmarkTellRefused(b *testing.B) {
	b.Run("why=full", func(b *testing.B) {
		g := &gated{hold: make(chan struct{}), entered: make(chan int, 1)}
		a, _ := actor.Spawn(actor.Config{Mailbox: 1}, same[int](g))
		_ = a.Tell(0)
		<-g.entered
		_ = a.Tell(1)
		b.ReportAllocs()
		for b.Loop() {
			if a.Tell(2) == nil {
				b.Fatal("a full mailbox accepted a message")
			}
		}
		b.StopTimer()
		close(g.hold)
		_ = a.Stop(context.Background())
	})
	b.Run("why=stopped", func(b *testing.B) {
		a, _ := actor.Spawn(actor.Config{}, same[int](&counter{}))
		_ = a.Stop(context.Background())
		b.ReportAllocs()
		for b.Loop() {
			if a.Tell(1) == nil {
				b.Fatal("a stopped actor accepted a message")
			}
		}
	})
}
