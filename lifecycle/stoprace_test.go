package lifecycle

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// Supervisor.Stop(ctx) must not outlast ctx by a sibling's whole stop
// timeout. A child exit that reaches the actor together with the stop used
// to become a OneForAll restart whose sibling stops ran under
// context.Background(); now the stop is applied first and the exit is only
// detached.
func TestStopRacingChildExitHonoursCtx(t *testing.T) {
	worst := time.Duration(0)
	for i := 0; i < 200 && worst < time.Second; i++ {
		synctest.Test(t, func(t *testing.T) {
			ps := newProbes()
			ps.tune["b"] = func(p *probe) { p.stopDelay = time.Minute } // honours ctx
			s, err := New(Config{Name: "app", Strategy: OneForAll},
				ps.spec("a", RestartAlways), ps.spec("b", RestartAlways))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			a := ps.get("a")
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			go a.exit(errBoom) // a crashes just as shutdown begins
			begin := time.Now()
			_ = s.Stop(ctx)
			if d := time.Since(begin); d > worst {
				worst = d
			}
			<-s.Done()
		})
	}
	if worst > time.Second {
		t.Fatalf("Stop with a 100ms ctx took %v", worst)
	}
	t.Logf("worst %v", worst)
}
