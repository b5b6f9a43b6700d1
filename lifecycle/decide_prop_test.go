package lifecycle

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestDecideProperties drives decide with random events and clock steps
// and checks the invariants that hold whatever the sequence.
func TestDecideProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "children")
		restarts := make([]Restart, n)
		for i := range restarts {
			restarts[i] = Restart(rapid.IntRange(0, 2).Draw(t, "restart"))
		}
		p := testPolicy
		p.strategy = Strategy(rapid.IntRange(0, 2).Draw(t, "strategy"))
		p.maxRestarts = rapid.IntRange(0, 5).Draw(t, "maxRestarts")
		s := newState(p, restarts, t0)
		now := t0
		var restartTimes []time.Time
		for step := range rapid.IntRange(1, 60).Draw(t, "steps") {
			now = now.Add(time.Duration(rapid.IntRange(0, 3000).Draw(t, "advance-ms")) * time.Millisecond)
			var ev event
			switch rapid.IntRange(0, 9).Draw(t, "kind") {
			case 0:
				ev = event{kind: evStop}
			case 1, 2, 3:
				ev = event{kind: evDue, token: uint64(rapid.IntRange(0, int(s.seq)+1).Draw(t, "token"))}
			default:
				ev = exitEv(rapid.IntRange(0, n-1).Draw(t, "child"), rapid.Bool().Draw(t, "failed"))
			}
			wasStopping := s.stopping
			before := s
			var acts []action
			s, acts = decide(s, ev, now)
			if wasStopping && len(acts) > 0 {
				t.Fatalf("step %d: actions after stopping: %v", step, acts)
			}
			for _, a := range acts {
				switch a.kind {
				case actSchedule:
					restartTimes = append(restartTimes, now)
					if a.delay < p.backoff || a.delay > p.maxBackoff {
						t.Fatalf("step %d: delay %v outside [%v, %v]", step, a.delay, p.backoff, p.maxBackoff)
					}
				case actStop:
					for k, j := range a.children {
						if before.children[j].status != running {
							t.Fatalf("step %d: stops child %d that was not running", step, j)
						}
						if k > 0 && j >= a.children[k-1] {
							t.Fatalf("step %d: stop order %v is not reverse", step, a.children)
						}
					}
				case actStart:
					for _, j := range a.children {
						if before.children[j].status != pending || before.children[j].token != a.token {
							t.Fatalf("step %d: starts child %d not pending in batch %d", step, j, a.token)
						}
					}
				}
			}
			// Never more than maxRestarts restarts within one period.
			inWindow := 0
			for _, rt := range restartTimes {
				if now.Sub(rt) < p.period {
					inWindow++
				}
			}
			if inWindow > p.maxRestarts {
				t.Fatalf("step %d: %d restarts within %v, max %d", step, inWindow, p.period, p.maxRestarts)
			}
			for j, c := range s.children {
				if c.restart == RestartNever && c.status == pending {
					t.Fatalf("step %d: temporary child %d scheduled for restart", step, j)
				}
				if s.stopping && c.status != idle {
					t.Fatalf("step %d: child %d not idle after stopping", step, j)
				}
			}
		}
	})
}
