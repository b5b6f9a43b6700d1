package actor_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// counter counts handled and discarded messages from its own goroutine.
type counter struct {
	handled, discarded int
}

func (c *counter) Receive(*actor.Self[int], int) { c.handled++ }
func (c *counter) Discard(int, error)            { c.discarded++ }

// TestNothingAcceptedIsLost races many senders against a stop and checks
// the accounting promise of Tell and Stop: every message Tell or Send
// accepted was either handled or reported as undelivered, exactly once.
func TestNothingAcceptedIsLost(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		senders := rapid.IntRange(1, 8).Draw(t, "senders")
		perSender := rapid.IntRange(0, 400).Draw(t, "perSender")
		mailbox := rapid.IntRange(1, 64).Draw(t, "mailbox")
		discard := rapid.Bool().Draw(t, "discardOnStop")
		stopAfter := rapid.IntRange(0, senders*perSender).Draw(t, "stopAfter")
		blocking := rapid.Bool().Draw(t, "blockingSend")

		c := &counter{}
		a, err := actor.Spawn(actor.Config{Mailbox: mailbox, DiscardOnStop: discard}, same[int](c))
		if err != nil {
			t.Fatal(err)
		}
		var accepted, attempted atomic.Int64
		var wg sync.WaitGroup
		for range senders {
			wg.Go(func() {
				for i := range perSender {
					var err error
					if blocking {
						err = a.Send(context.Background(), i)
					} else {
						err = a.Tell(i)
					}
					attempted.Add(1)
					switch {
					case err == nil:
						accepted.Add(1)
					case errors.Is(err, resilience.ErrStopped):
						return
					case errors.Is(err, resilience.ErrFull):
					default:
						t.Errorf("unexpected error %v", err)
					}
				}
			})
		}
		for attempted.Load() < int64(stopAfter) {
			// Let the senders make progress before the stop races them.
			runtimeGosched()
		}
		err = a.Stop(context.Background())
		undelivered := a.Undelivered()
		if err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if got := int64(c.handled + undelivered); got != accepted.Load() {
			t.Fatalf("accepted %d messages, but handled %d + undelivered %d = %d",
				accepted.Load(), c.handled, undelivered, got)
		}
		if c.discarded != undelivered {
			t.Fatalf("Discard saw %d messages, Stop reported %d undelivered", c.discarded, undelivered)
		}
		if !discard && undelivered != 0 {
			t.Fatalf("a drain without deadline left %d messages", undelivered)
		}
	})
}
