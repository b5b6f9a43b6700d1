package deadline

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

func TestRunOrAbandonReleasesCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		late := make(chan Late, 1)
		s, err := New(Config{OnLate: func(l Late) { late <- l }})
		require.NoError(t, err)
		release := make(chan struct{})
		start := time.Now()
		err = s.RunOrAbandon(context.Background(), "stuck", 100*time.Millisecond, func(context.Context) error {
			<-release // ignores its context
			return errBoom
		})
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "the caller is released at the deadline")
		st := s.Metrics()
		assert.Equal(t, 1, st.Abandoned)
		assert.Equal(t, uint64(1), st.AbandonedTotal)

		time.Sleep(time.Second)
		close(release)
		l := <-late
		assert.Equal(t, Late{Op: "stuck", Limit: 100 * time.Millisecond, Overrun: time.Second, Err: errBoom}, l)
		synctest.Wait()
		assert.Zero(t, s.Metrics().Abandoned)
		require.NoError(t, s.Stop(context.Background()))
	})
}

func TestRunOrAbandonInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		lim := limit{Timeout: time.Second}
		var v string
		err := s.RunOrAbandon(context.Background(), lim.Op, lim.Timeout, func(context.Context) error {
			time.Sleep(10 * time.Millisecond)
			v = "ok"
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, "ok", v)
		require.ErrorIs(t, s.RunOrAbandon(context.Background(), lim.Op, lim.Timeout, func(context.Context) error { return errBoom }), errBoom)
		assert.Zero(t, s.Metrics().AbandonedTotal)
	})
}

func TestRunOrAbandonParentCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Millisecond, cancel)
		release := make(chan struct{})
		err := s.RunOrAbandon(ctx, "", time.Second, func(context.Context) error {
			<-release
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, 1, s.Metrics().Abandoned)
		close(release)
	})
}

func TestRunOrAbandonPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		late := make(chan Late, 1)
		s, err := New(Config{OnLate: func(l Late) { late <- l }})
		require.NoError(t, err)
		lim := limit{Timeout: time.Second}
		require.PanicsWithValue(t, "early", func() {
			_ = s.RunOrAbandon(context.Background(), lim.Op, lim.Timeout, func(context.Context) error { panic("early") })
		}, "a panic before the deadline is re-raised in the caller")

		err = s.RunOrAbandon(context.Background(), lim.Op, lim.Timeout, func(context.Context) error {
			time.Sleep(2 * time.Second)
			panic("late")
		})
		require.ErrorIs(t, err, resilience.ErrTimeout)
		l := <-late
		var pe *resilience.PanicError
		require.ErrorAs(t, l.Err, &pe, "a panic after the deadline is reported")
		assert.Equal(t, "late", pe.Value)
		assert.NotEmpty(t, pe.Stack)
		require.NoError(t, s.Stop(context.Background()))
	})
}

func TestStopWaitsForAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{})
		require.NoError(t, err)
		release := make(chan struct{})
		err = s.RunOrAbandon(context.Background(), "", time.Millisecond, func(context.Context) error {
			<-release
			return nil
		})
		require.ErrorIs(t, err, resilience.ErrTimeout)

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err = s.Stop(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "1 abandoned calls still running")

		err = s.RunOrAbandon(context.Background(), "", time.Second, func(context.Context) error { return nil })
		require.ErrorIs(t, err, resilience.ErrStopped)

		close(release)
		require.NoError(t, s.Stop(context.Background()), "a second Stop waits for the straggler")
		<-s.Done()
	})
}

func TestRunOrAbandonBadInput(t *testing.T) {
	var nilWatchdog *Watchdog
	var ce *resilience.ConfigError
	err := nilWatchdog.RunOrAbandon(context.Background(), "", time.Second, func(context.Context) error { return nil })
	require.ErrorAs(t, err, &ce, "an abandoned call needs an owner")
	assert.Equal(t, "deadline.Watchdog", ce.Field)
	s := newWatchdog(t)
	require.ErrorAs(t, s.RunOrAbandon(context.Background(), "", time.Second, nil), &ce)
	assert.Equal(t, "fn", ce.Field)
	require.ErrorAs(t, s.RunOrAbandon(context.Background(), "", 0, func(context.Context) error { return nil }), &ce)
	assert.Equal(t, "d", ce.Field)
}
