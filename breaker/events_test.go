package breaker

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventsFollowTheStateChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan Event, 10)
		b := newTest(t, Config{Name: "db", FailureThreshold: 1, SuccessThreshold: 1, Events: events})
		ctx := context.Background()

		failN(t, b, 1)
		synctest.Wait()
		time.Sleep(time.Minute)
		synctest.Wait()
		require.NoError(t, b.Run(ctx, succeed))
		synctest.Wait()

		var got []string
		for range 3 {
			ev := <-events
			assert.Equal(t, "db", ev.Name)
			got = append(got, ev.From.String()+">"+ev.To.String()+": "+ev.Reason)
		}
		assert.Equal(t, []string{
			"closed>open: " + reasonFailures,
			"open>half-open: " + reasonTimeout,
			"half-open>closed: " + reasonProbesOK,
		}, got)
		assert.Zero(t, b.Metrics().EventsDropped)
	})
}

func TestSlowEventConsumerLosesEventsNotTheBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 1, Events: make(chan Event)}) // never read
		ctx := context.Background()
		for range 3 {
			require.NoError(t, b.ForceOpen(ctx))
			require.NoError(t, b.Reset(ctx))
		}
		assert.Equal(t, uint64(6), b.Metrics().EventsDropped)
	})
}

func TestEventConsumerMayCallBackIntoTheBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan Event)
		b := newTest(t, Config{FailureThreshold: 1, Events: events})
		ctx := context.Background()
		done := make(chan struct{})
		go func() { // resets the breaker whenever it opens: gobreaker would deadlock here
			defer close(done)
			for ev := range events {
				if ev.To == Open {
					assert.NoError(t, b.Reset(ctx))
					_ = b.Metrics()
				}
			}
		}()
		synctest.Wait()
		failN(t, b, 1)
		synctest.Wait()
		assert.Equal(t, Closed, b.State())
		assert.Equal(t, uint64(1), b.Metrics().Closed)
		require.NoError(t, b.Stop(ctx))
		close(events) // the user owns the channel; the breaker never closes it
		<-done
	})
}

// The tests below fill the mailbox on purpose: whatever callers could not
// send is folded in by the actor at its next message.

func TestProbeResultsSurviveAFullMailbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{Mailbox: 1, FailureThreshold: 1, SuccessThreshold: 3})
		ctx := context.Background()
		trip(t, b)
		time.Sleep(time.Minute)
		synctest.Wait()
		var dones []func(error)
		for range 3 {
			done, err := b.Allow(ctx)
			require.NoError(t, err)
			dones = append(dones, done)
		}
		for _, done := range dones { // the actor is not running: one fits
			done(nil)
		}
		synctest.Wait()
		assert.Equal(t, Closed, b.State())
	})
}

func TestTripSurvivesAFullMailbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{Mailbox: 1, FailureThreshold: 1})
		require.NoError(t, b.tell(msg{kind: kCheck})) // the mailbox is now full
		failN(t, b, 1)
		synctest.Wait()
		assert.Equal(t, Open, b.State())
	})
}

func TestRateTripSurvivesAFullMailbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{Mailbox: 1, FailureRate: 1, WindowSize: 4, MinimumCalls: 4})
		failN(t, b, 4) // the first message fits, three are lost
		synctest.Wait()
		assert.Equal(t, Open, b.State())
	})
}
