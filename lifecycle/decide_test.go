package lifecycle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

var testPolicy = policy{
	maxRestarts: 3,
	period:      5 * time.Second,
	backoff:     100 * time.Millisecond,
	maxBackoff:  time.Second,
	quiet:       10 * time.Second,
}

// fixture builds a state with the given strategy and restart types, all
// running since t0.
func fixture(strategy Strategy, restarts ...Restart) state {
	p := testPolicy
	p.strategy = strategy
	return newState(p, restarts, t0)
}

func exitEv(child int, failed bool) event { return event{kind: evExit, child: child, failed: failed} }

func stopAct(children ...int) action { return action{kind: actStop, children: children} }
func schedAct(token uint64, d time.Duration) action {
	return action{kind: actSchedule, token: token, delay: d}
}

func statuses(s state) []status {
	out := make([]status, len(s.children))
	for i, c := range s.children {
		out[i] = c.status
	}
	return out
}

func TestDecideExit(t *testing.T) {
	P, Tr, Te := RestartAlways, RestartOnFailure, RestartNever
	ms := 100 * time.Millisecond
	tests := []struct {
		name    string
		state   state
		ev      event
		actions []action
		after   []status
	}{
		{"one-for-one restarts only the child",
			fixture(OneForOne, P, P, P), exitEv(1, true),
			[]action{stopAct(), schedAct(1, ms)},
			[]status{running, pending, running}},
		{"one-for-all stops the others in reverse and restarts all",
			fixture(OneForAll, P, P, P, P), exitEv(1, true),
			[]action{stopAct(3, 2, 0), schedAct(1, ms)},
			[]status{pending, pending, pending, pending}},
		{"one-for-all does not restart a temporary sibling",
			fixture(OneForAll, P, Te, P), exitEv(2, true),
			[]action{stopAct(1, 0), schedAct(1, ms)},
			[]status{pending, idle, pending}},
		{"rest-for-one stops the later children and restarts from the child",
			fixture(RestForOne, P, P, P, P), exitEv(1, true),
			[]action{stopAct(3, 2), schedAct(1, ms)},
			[]status{running, pending, pending, pending}},
		{"rest-for-one of the last child is one-for-one",
			fixture(RestForOne, P, P, P), exitEv(2, false),
			[]action{stopAct(), schedAct(1, ms)},
			[]status{running, running, pending}},
		{"permanent restarts after a clean exit",
			fixture(OneForOne, P), exitEv(0, false),
			[]action{stopAct(), schedAct(1, ms)},
			[]status{pending}},
		{"transient restarts after a failure",
			fixture(OneForOne, Tr), exitEv(0, true),
			[]action{stopAct(), schedAct(1, ms)},
			[]status{pending}},
		{"transient does not restart after a clean exit",
			fixture(OneForAll, Tr, P), exitEv(0, false),
			nil,
			[]status{idle, running}},
		{"temporary never restarts, even failed",
			fixture(OneForAll, Te, P), exitEv(0, true),
			nil,
			[]status{idle, running}},
		{"a stale exit (child not running) is ignored",
			func() state { s := fixture(OneForOne, P); s.children[0].status = pending; return s }(),
			exitEv(0, true), nil, []status{pending}},
		{"an out-of-range child is ignored",
			fixture(OneForOne, P), exitEv(7, true), nil, []status{running}},
		{"a stopping supervisor ignores exits",
			func() state { s := fixture(OneForOne, P); s.stopping = true; return s }(),
			exitEv(0, true), nil, []status{running}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := statuses(tt.state)
			next, acts := decide(tt.state, tt.ev, at(time.Second))
			assert.Equal(t, tt.actions, acts)
			assert.Equal(t, tt.after, statuses(next))
			assert.Equal(t, before, statuses(tt.state), "decide must not mutate its input")
		})
	}
}

func TestDecideIntensity(t *testing.T) {
	tests := []struct {
		name     string
		max      int
		exits    []time.Duration // times of successive failures of child 0
		giveUpAt int             // index of the exit that gives up; -1 for none
	}{
		{"three in the period are allowed", 3, []time.Duration{0, time.Second, 2 * time.Second}, -1},
		{"the fourth in the period gives up", 3, []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}, 3},
		{"old restarts fall out of the period", 3, []time.Duration{0, time.Second, 2 * time.Second, 5 * time.Second, 6 * time.Second}, -1},
		{"zero allowed gives up at once", 0, []time.Duration{0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixture(OneForAll, RestartAlways, RestartAlways)
			s.maxRestarts = tt.max
			gaveUp := -1
			for i, d := range tt.exits {
				var acts []action
				s, acts = decide(s, exitEv(0, true), at(d))
				if last := acts[len(acts)-1]; last.kind == actGiveUp {
					gaveUp = i
					assert.Equal(t, []action{stopAct(1), {kind: actGiveUp, children: []int{0}}}, acts)
					break
				}
				// Bring the batch back up so the next exit counts.
				s, _ = decide(s, event{kind: evDue, token: s.seq}, at(d))
			}
			assert.Equal(t, tt.giveUpAt, gaveUp)
			if gaveUp >= 0 {
				assert.True(t, s.stopping)
				_, acts := decide(s, exitEv(1, true), at(time.Hour))
				assert.Empty(t, acts, "nothing happens after giving up")
			}
		})
	}
}

func TestDecideBackoff(t *testing.T) {
	s := fixture(OneForOne, RestartAlways)
	s.maxRestarts = 100
	s.period = time.Millisecond // keep the intensity out of the way
	// Each step: the child exits at `exit` after its restart at the previous step.
	steps := []struct {
		exit  time.Duration
		delay time.Duration
	}{
		{1 * time.Second, 100 * time.Millisecond},
		{2 * time.Second, 200 * time.Millisecond},
		{3 * time.Second, 400 * time.Millisecond},
		{4 * time.Second, 800 * time.Millisecond},
		{5 * time.Second, time.Second}, // capped
		{6 * time.Second, time.Second},
		// ran 10s (the quiet period) since its restart at 6s+1s: reset
		{17 * time.Second, 100 * time.Millisecond},
		{18 * time.Second, 200 * time.Millisecond},
	}
	for i, st := range steps {
		var acts []action
		s, acts = decide(s, exitEv(0, true), at(st.exit))
		require.Len(t, acts, 2, "step %d", i)
		assert.Equal(t, st.delay, acts[1].delay, "step %d", i)
		s, acts = decide(s, event{kind: evDue, token: acts[1].token}, at(st.exit+st.delay))
		require.Equal(t, []action{{kind: actStart, children: []int{0}, token: s.seq}}, acts, "step %d", i)
	}
}

func TestDecideDue(t *testing.T) {
	// Rest-for-one: child 2 fails (batch 1 = {2,3}), then child 0 fails
	// before batch 1 is due (batch 2 = {0,1,2,3}): batch 1 is stale.
	s := fixture(RestForOne, RestartAlways, RestartAlways, RestartAlways, RestartAlways)
	s, acts := decide(s, exitEv(2, true), at(0))
	require.Equal(t, []action{stopAct(3), schedAct(1, 100*time.Millisecond)}, acts)
	s, acts = decide(s, exitEv(0, true), at(time.Millisecond))
	require.Equal(t, []action{stopAct(1), schedAct(2, 100*time.Millisecond)}, acts)

	s, acts = decide(s, event{kind: evDue, token: 1}, at(100*time.Millisecond))
	assert.Empty(t, acts, "the first batch was taken over by the second")
	s, acts = decide(s, event{kind: evDue, token: 2}, at(101*time.Millisecond))
	assert.Equal(t, []action{{kind: actStart, children: []int{0, 1, 2, 3}, token: 2}}, acts)
	assert.Equal(t, []status{running, running, running, running}, statuses(s))

	_, acts = decide(s, event{kind: evDue, token: 2}, at(time.Second))
	assert.Empty(t, acts, "a batch starts once")
}

func TestDecideStop(t *testing.T) {
	s := fixture(OneForOne, RestartAlways, RestartAlways, RestartAlways, RestartAlways)
	s, _ = decide(s, exitEv(1, true), at(0)) // child 1 waits for its restart
	s, acts := decide(s, event{kind: evStop}, at(time.Millisecond))
	assert.Equal(t, []action{stopAct(3, 2, 0)}, acts, "running children stop in reverse order")
	assert.True(t, s.stopping)
	_, acts = decide(s, event{kind: evDue, token: 1}, at(time.Second))
	assert.Empty(t, acts, "pending restarts are cancelled")
}

func TestBackoffNeverOverflows(t *testing.T) {
	for _, n := range []int{1, 2, 10, 62, 63, 64, 1000, 1 << 30} {
		d := backoff(time.Second, time.Duration(1<<62), n)
		assert.Positive(t, d)
		assert.LessOrEqual(t, d, time.Duration(1<<62))
	}
	assert.Equal(t, time.Duration(0), backoff(0, time.Second, 5), "no backoff stays zero")
}
