package retry

import (
	"context"
	"testing"
	"testing/synctest"
)

// A job waiting for a free worker is a waiting job: cancelling its context
// must answer it at once (Submit's doc), not when a worker frees up.
func TestCancelledJobQueuedForWorkerIsAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := New(Config{})
		s, _ := NewScheduler(r, SchedulerConfig{Workers: 1})
		release := make(chan struct{})
		busy := s.Submit(context.Background(), func(ctx context.Context) error {
			<-release // the only worker is busy
			return nil
		})
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		queued := s.Submit(ctx, func(context.Context) error { return nil })
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case err := <-queued:
			t.Logf("answered: %v", err)
		default:
			t.Errorf("cancelled job not answered while it waits for a worker (pending=%d)", s.Pending())
		}
		close(release)
		<-busy
		_ = s.Stop(context.Background())
	})
}
