package retry

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
)

// A job whose function calls runtime.Goexit (as t.FailNow does) must still
// get its one answer, and must not take a worker away for good.
func TestSchedulerAnswersAJobThatCallsGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := New(Config{MaxAttempts: 1})
		s, _ := NewScheduler(r, SchedulerConfig{Workers: 1})
		exited := s.Submit(context.Background(), func(context.Context) error {
			runtime.Goexit()
			return nil
		})
		synctest.Wait()
		next := s.Submit(context.Background(), func(context.Context) error { return nil })
		synctest.Wait()
		select {
		case err := <-next:
			if err != nil {
				t.Errorf("next job: %v", err)
			}
		default:
			t.Errorf("job after a Goexit never ran: the only worker is gone (pending=%d)", s.Pending())
		}
		_ = s.Stop(context.Background())
		select {
		case err := <-exited:
			t.Logf("Goexit job answered: %v", err)
		default:
			t.Errorf("Goexit job never answered, even after Stop (pending=%d)", s.Pending())
		}
	})
}

// A small positive Refill is accepted by NewBudget, so successes must put
// it back: 2000 successes at 0.0005 refill one whole token.
func TestBudgetSmallRefillRefills(t *testing.T) {
	b, err := NewBudget(1, 0.0005)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := New(Config{MaxAttempts: 2, InitialDelay: 1, Budget: b})
	fail := func(context.Context) error { return errTest }
	_ = r.Run(context.Background(), fail) // the one retry spends the only token
	if b.Tokens() != 0 {
		t.Fatalf("tokens after a retry: %v", b.Tokens())
	}
	for range 4000 {
		_ = r.Run(context.Background(), func(context.Context) error { return nil })
	}
	if b.Tokens() != 1 {
		t.Errorf("after 4000 successes at Refill 0.0005 the budget holds %v tokens, want 1", b.Tokens())
	}
}

var errTest = errors.New("boom")
