package actor_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience/actor"
)

// clockMsg drives the timer tests: schedule or cancel a named timer, or
// record that a named timer fired.
type clockMsg struct {
	op    string // "schedule", "cancel" or "fire"
	name  string
	after time.Duration
}

// alarm records when each timer fired, in virtual time since start.
type alarm struct {
	start     time.Time
	timers    map[string]actor.Timer[clockMsg]
	fired     []string
	at        []time.Duration
	cancelled map[string]bool
	discarded []string
}

func newAlarm() *alarm {
	return &alarm{start: time.Now(), timers: map[string]actor.Timer[clockMsg]{}, cancelled: map[string]bool{}}
}

func (a *alarm) Receive(self *actor.Self[clockMsg], m clockMsg) {
	switch m.op {
	case "schedule":
		a.timers[m.name] = self.Schedule(m.after, clockMsg{op: "fire", name: m.name})
	case "cancel":
		a.cancelled[m.name] = self.Cancel(a.timers[m.name])
	case "fire":
		a.fired = append(a.fired, m.name)
		a.at = append(a.at, time.Since(a.start))
	}
}

func (a *alarm) Discard(m clockMsg, _ error) { a.discarded = append(a.discarded, m.name) }

func TestTimersFireInDeadlineOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		al := newAlarm()
		a := spawn[clockMsg](t, actor.Config{}, al)
		for _, m := range []clockMsg{
			{op: "schedule", name: "c", after: 3 * time.Second},
			{op: "schedule", name: "a", after: time.Second},
			{op: "schedule", name: "b", after: 2 * time.Second},
			{op: "schedule", name: "a2", after: time.Second},
		} {
			require.NoError(t, a.Tell(m))
		}
		time.Sleep(10 * time.Second) // virtual: every timer is due
		synctest.Wait()
		stop(t, a)
		assert.Equal(t, []string{"a", "a2", "b", "c"}, al.fired, "deadline order, ties in scheduling order")
		assert.Equal(t, []time.Duration{time.Second, time.Second, 2 * time.Second, 3 * time.Second}, al.at)
	})
}

func TestCancelledTimerNeverFires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		al := newAlarm()
		a := spawn[clockMsg](t, actor.Config{}, al)
		require.NoError(t, a.Tell(clockMsg{op: "schedule", name: "x", after: time.Minute}))
		require.NoError(t, a.Tell(clockMsg{op: "schedule", name: "y", after: 2 * time.Minute}))
		time.Sleep(30 * time.Second)
		require.NoError(t, a.Tell(clockMsg{op: "cancel", name: "x"}))
		time.Sleep(5 * time.Minute)
		require.NoError(t, a.Tell(clockMsg{op: "cancel", name: "y"}))
		synctest.Wait()
		stop(t, a)
		assert.Equal(t, []string{"y"}, al.fired, "a cancelled timer never fires")
		assert.True(t, al.cancelled["x"], "cancelling a pending timer reports true")
		assert.False(t, al.cancelled["y"], "cancelling a fired timer reports false")
	})
}

func TestTimerFiresWhenMailboxIsFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		al := newAlarm()
		a := spawn[clockMsg](t, actor.Config{Mailbox: 1}, al)
		require.NoError(t, a.Tell(clockMsg{op: "schedule", name: "t", after: time.Second}))
		synctest.Wait()
		require.NoError(t, a.Tell(clockMsg{op: "noop"}))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		stop(t, a)
		assert.Equal(t, []string{"t"}, al.fired)
	})
}

func TestPendingTimersAreDiscardedAtStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		al := newAlarm()
		a := spawn[clockMsg](t, actor.Config{}, al)
		require.NoError(t, a.Tell(clockMsg{op: "schedule", name: "late", after: time.Hour}))
		synctest.Wait()
		n := stop(t, a)
		assert.Zero(t, n, "timers are not mailbox messages")
		assert.Equal(t, []string{"late"}, al.discarded, "a pending timer is handed to Discard at stop")
		assert.Empty(t, al.fired)
	})
}

// TestTimerHeapUnderChurn schedules and cancels many timers in a random
// order and checks that exactly the uncancelled ones fire, in order.
func TestTimerHeapUnderChurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		al := newAlarm()
		a := spawn[clockMsg](t, actor.Config{Mailbox: 1024}, al)
		const n = 300
		for i := range n {
			d := time.Duration((i*7919)%n+1) * time.Millisecond
			require.NoError(t, a.Send(context.Background(), clockMsg{op: "schedule", name: name(i), after: d}))
		}
		for i := 0; i < n; i += 3 {
			require.NoError(t, a.Send(context.Background(), clockMsg{op: "cancel", name: name(i)}))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		stop(t, a)
		assert.Len(t, al.fired, n-(n+2)/3)
		for i := 1; i < len(al.at); i++ {
			assert.LessOrEqual(t, al.at[i-1], al.at[i], "timers fire in deadline order")
		}
		for _, f := range al.fired {
			assert.False(t, al.cancelled[f], "cancelled timer %s fired", f)
		}
	})
}

func name(i int) string {
	return string(rune('A'+i/26/26%26)) + string(rune('A'+i/26%26)) + string(rune('A'+i%26))
}
