package lifecycle

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowStopper is an actor behaviour that takes stopDelay to stop and logs
// when its stop begins.
type slowStopper struct {
	path      string
	stopDelay time.Duration
	log       *journal
}

func (b *slowStopper) Receive(*actor.Self[int], int) {}

func (b *slowStopper) Stopped(error) {
	b.log.add("%s", b.path)
	time.Sleep(b.stopDelay)
}

// TestTreeOfThousandActors starts 10 supervisors of 100 actors each, with
// random start times, stop times and stop timeouts, and checks that the
// tree stops in exact reverse start order, that each child is given exactly
// its stop timeout, and that the whole stop takes exactly the sum of
// min(stop time, timeout): no timeout is overrun, none is cut short.
func TestTreeOfThousandActors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 11))
		starts, stops := &journal{}, &journal{}
		var want time.Duration
		var wantAbandoned []part
		var subs []Spec
		for i := range 10 {
			var kids []Spec
			var stopAll time.Duration
			for j := range 100 {
				name := fmt.Sprintf("a%d", j)
				path := fmt.Sprintf("root/s%d/%s", i, name)
				startDelay := time.Duration(rng.IntN(5)) * time.Millisecond
				stopDelay := time.Duration(rng.IntN(40)) * time.Millisecond
				timeout := time.Duration(rng.IntN(30))*time.Millisecond + 500*time.Microsecond
				want += min(stopDelay, timeout)
				if stopDelay > timeout {
					wantAbandoned = append(wantAbandoned, part{path, timeout})
				}
				kids = append(kids, Spec{Name: name, StopTimeout: timeout, New: func() (Component, error) {
					time.Sleep(startDelay)
					a, err := actor.Spawn(actor.Config{Name: path, Mailbox: 1}, func() actor.Behavior[int] {
						return &slowStopper{path: path, stopDelay: stopDelay, log: stops}
					})
					starts.add("%s", path)
					return a, err
				}})
				stopAll += timeout
			}
			sub, err := New(Config{Name: fmt.Sprintf("s%d", i)}, kids...)
			require.NoError(t, err)
			subs = append(subs, Spec{Name: sub.Name(), Component: sub,
				StartTimeout: time.Hour, StopTimeout: stopAll + time.Second})
		}
		root, err := New(Config{Name: "root"}, subs...)
		require.NoError(t, err)
		require.NoError(t, root.Start(t.Context()))
		require.Len(t, starts.all(), 1000)

		begin := time.Now()
		err = root.Stop(t.Context())
		elapsed := time.Since(begin)

		wantOrder := starts.all()
		slices.Reverse(wantOrder)
		assert.Equal(t, wantOrder, stops.all(), "stopped in reverse start order")
		assert.Equal(t, want, elapsed, "every timeout honoured, exactly")
		reversed := slices.Clone(wantAbandoned)
		slices.Reverse(reversed)
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, reversed, abandonedParts(err), "every abandoned child reported with the time it was given")
		time.Sleep(time.Second) // let the abandoned actors finish stopping
	})
}
