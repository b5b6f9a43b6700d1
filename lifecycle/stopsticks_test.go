package lifecycle

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// starts counts the "start" entries in a journal.
func starts(events []string) int {
	n := 0
	for _, e := range events {
		if strings.HasPrefix(e, "start ") {
			n++
		}
	}
	return n
}

func TestStopBeforeStartSticks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		s, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways))
		require.NoError(t, err)
		require.NoError(t, s.Stop(t.Context()))
		<-s.Done()
		assert.ErrorIs(t, s.Start(t.Context()), resilience.ErrStopped)
		synctest.Wait()
		assert.Empty(t, ps.log.all(), "nothing may start after Stop")
	})
}

// A Stop whose ctx ends while a child is still starting must not let that
// child, or any later one, start afterwards.
func TestStopDuringStartStartsNothingLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		ps.tune["b"] = func(p *probe) { p.startDelay = time.Minute }
		slow := ps.spec("b", RestartAlways)
		slow.StartTimeout = 2 * time.Minute
		s, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways), slow, ps.spec("c", RestartAlways))
		require.NoError(t, err)
		startErr := make(chan error, 1)
		go func() { startErr <- s.Start(t.Context()) }()
		synctest.Wait() // a runs, b is starting
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_ = s.Stop(ctx)
		after := len(ps.log.all())
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		assert.ErrorIs(t, <-startErr, resilience.ErrStopped)
		<-s.Done()
		events := ps.log.all()
		assert.Equal(t, 1, starts(events), "only a started: %v", events)
		assert.Equal(t, 0, starts(events[after:]), "started after Stop returned: %v", events)
		assert.Contains(t, events, "stop a")
	})
}

// A Stop whose ctx ends while a restart is starting a child must cancel
// that start: nothing starts after Stop returns.
func TestStopDuringRestartStartsNothingLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		incarnation := 0
		ps.tune["a"] = func(p *probe) {
			if incarnation++; incarnation > 1 {
				p.startDelay = time.Minute // restarts are slow
			}
		}
		sp := ps.spec("a", RestartAlways)
		sp.StartTimeout = 2 * time.Minute
		s, err := New(Config{Name: "app", Backoff: time.Second}, sp)
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		ps.get("a").exit(errBoom)
		time.Sleep(2 * time.Second) // past the backoff: the restart is starting
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_ = s.Stop(ctx)
		after := len(ps.log.all())
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		<-s.Done()
		events := ps.log.all()
		assert.Equal(t, 0, starts(events[after:]), "started after Stop returned: %v", events)
	})
}

// Start and Stop racing: whatever the order, once both have returned and
// the supervisor is done, every child that started has been stopped.
func TestStopRacingStartLeavesNothingRunning(t *testing.T) {
	for range 200 {
		synctest.Test(t, func(t *testing.T) {
			ps := newProbes()
			s, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways), ps.spec("b", RestartAlways))
			require.NoError(t, err)
			var wg sync.WaitGroup
			wg.Go(func() { _ = s.Start(t.Context()) })
			wg.Go(func() { _ = s.Stop(t.Context()) })
			wg.Wait()
			<-s.Done()
			synctest.Wait()
			events := ps.log.all()
			assert.Equal(t, starts(events), len(events)-starts(events), "starts and stops must pair: %v", events)
		})
	}
}

// A second Stop is bounded by its own ctx even while the first is still
// stopping a slow child.
func TestSecondStopBoundedByItsCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		ps.tune["a"] = func(p *probe) { p.stopDelay = time.Minute }
		sp := ps.spec("a", RestartAlways)
		sp.StopTimeout = 2 * time.Minute
		s, err := New(Config{Name: "app"}, sp)
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		go func() { _ = s.Stop(t.Context()) }()
		synctest.Wait() // the first stop is waiting for a
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		begin := time.Now()
		err = s.Stop(ctx)
		assert.Equal(t, 100*time.Millisecond, time.Since(begin))
		assert.ErrorIs(t, err, resilience.ErrTimeout)
		<-s.Done()
	})
}

// A Stop that cannot even queue its request (the mailbox is full while the
// supervisor is busy stopping a slow sibling for a restart) still sticks:
// the supervisor stops once the busy step ends, restarts nothing, and is
// done.
func TestStopWithFullMailboxSticks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		ps.tune["b"] = func(p *probe) { p.stopDelay = time.Minute }
		b := ps.spec("b", RestartAlways)
		b.StopTimeout = 2 * time.Minute
		s, err := New(Config{Name: "app", Strategy: OneForAll}, ps.spec("a", RestartAlways), b)
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))
		ps.get("a").exit(errBoom) // the restart stops b first: a minute
		synctest.Wait()
		var callers sync.WaitGroup
		for range 2 * 64 { // more than the mailbox holds
			callers.Go(func() { _, _ = s.Children(t.Context()) })
		}
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		err = s.Stop(ctx)
		assert.ErrorIs(t, err, resilience.ErrTimeout)
		after := len(ps.log.all())
		callers.Wait()
		<-s.Done()
		events := ps.log.all()
		assert.Equal(t, 0, starts(events[after:]), "started after Stop returned: %v", events)
	})
}
