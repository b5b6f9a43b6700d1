package eventlog

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/hedge"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sink is a slog.Handler that keeps the records it is given; it can be
// made to block until released, or to panic.
type sink struct {
	mu      sync.Mutex
	records []slog.Record
	block   chan struct{} // if set, Handle waits for it to be closed
	panics  atomic.Bool
}

func (s *sink) Enabled(context.Context, slog.Level) bool { return true }
func (s *sink) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *sink) WithGroup(string) slog.Handler            { return s }

func (s *sink) Handle(_ context.Context, r slog.Record) error {
	if s.block != nil {
		<-s.block
	}
	if s.panics.Load() {
		panic("handler failed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, r)
	return nil
}

// lines returns each record as "msg key=value ...", without the time.
func (s *sink) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.records {
		line := r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "breaker" || a.Key == "retry" || a.Key == "hedge" || a.Key == "suppressed" || a.Key == "to" {
				line += " " + a.String()
			}
			return true
		})
		out = append(out, line)
	}
	return out
}

func newLog(t *testing.T, h slog.Handler, cfg Config) *Log {
	t.Helper()
	cfg.Logger = slog.New(h)
	l, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, l.Start(context.Background()))
	return l
}

func opened(name string) breaker.Event {
	return breaker.Event{Name: name, From: breaker.Closed, To: breaker.Open, Reason: "consecutive failures", At: time.Now()}
}

func TestBurstThenOneSummaryPerSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		l := newLog(t, s, Config{Burst: 3, Interval: time.Minute})
		for range 10 {
			l.Breakers() <- opened("a")
			synctest.Wait()
		}
		l.Breakers() <- opened("b")
		synctest.Wait()
		assert.Equal(t, []string{
			"breaker state changed breaker=a to=open",
			"breaker state changed breaker=a to=open",
			"breaker state changed breaker=a to=open",
			"breaker state changed breaker=b to=open",
		}, s.lines())
		assert.Equal(t, Metrics{Logged: 4, Suppressed: 7}, l.Metrics())

		time.Sleep(time.Minute) // a's window ends: its summary is written
		synctest.Wait()
		assert.Equal(t, "log records suppressed breaker=a suppressed=7", s.lines()[4])
		l.Breakers() <- opened("a") // a new window
		synctest.Wait()
		assert.Len(t, s.lines(), 6)
		require.NoError(t, l.Stop(context.Background()))
		assert.Equal(t, Metrics{Logged: 6, Suppressed: 7}, l.Metrics())
	})
}

func TestStopWritesWaitingEventsAndSummaries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		l, err := New(Config{Logger: slog.New(s), Burst: 1})
		require.NoError(t, err)
		retries := l.Retry("inventory")
		for i := range 3 {
			retries <- retry.Event{Attempt: i + 1}
		}
		require.NoError(t, l.Start(context.Background()))
		require.NoError(t, l.Stop(context.Background()))
		assert.Equal(t, []string{
			"retrying retry=inventory",
			"log records suppressed retry=inventory suppressed=2",
		}, s.lines())
	})
}

func TestRetryChannelAddedWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		l := newLog(t, s, Config{})
		ch := l.Retry("late")
		ch <- retry.Event{Attempt: 1, Err: &resilience.RejectedError{Name: "b", Reason: resilience.ErrOpen}}
		synctest.Wait()
		assert.Equal(t, []string{"retrying a rejected attempt retry=late"}, s.lines())
		require.NoError(t, l.Stop(context.Background()))
	})
}

// A handler that blocks costs the protected calls nothing: the breaker
// drops the events it cannot send and counts them, and Stop is bounded
// by its context.
func TestBlockedHandlerDoesNotSlowCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{block: make(chan struct{})}
		l := newLog(t, s, Config{Buffer: 1})
		b, err := breaker.New(breaker.Config{Name: "payments", Events: l.Breakers()})
		require.NoError(t, err)
		ctx := context.Background()
		for range 10 {
			require.NoError(t, b.ForceOpen(ctx))
			require.NoError(t, b.ForceClose(ctx))
		}
		for range 100 {
			require.NoError(t, b.Run(ctx, func(context.Context) error { return nil }))
		}
		assert.GreaterOrEqual(t, b.Metrics().EventsDropped, uint64(20-2), "one event in the handler, one in the channel")
		require.NoError(t, b.Stop(ctx))

		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		require.ErrorIs(t, l.Stop(short), context.DeadlineExceeded)
		close(s.block)
		<-l.Done()
		assert.NoError(t, l.Err())
		assert.Equal(t, uint64(2), l.Metrics().Logged)
	})
}

func TestHandlerPanicIsRecoveredAndCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		s.panics.Store(true)
		l := newLog(t, s, Config{})
		for i := range 3 {
			l.Breakers() <- opened(strconv.Itoa(i))
		}
		synctest.Wait()
		assert.Equal(t, uint64(3), l.Metrics().Panics)
		s.panics.Store(false)
		l.Breakers() <- opened("after")
		synctest.Wait()
		assert.Equal(t, []string{"breaker state changed breaker=after to=open"}, s.lines())
		require.NoError(t, l.Stop(context.Background()))
		assert.NoError(t, l.Err())
	})
}

func TestLifecycle(t *testing.T) {
	l, err := New(Config{})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, l.Stop(ctx), "stop before start")
	require.NoError(t, l.Stop(ctx), "idempotent")
	<-l.Done()
	assert.ErrorIs(t, l.Start(ctx), resilience.ErrStopped)
	assert.Nil(t, l.Retry("x"), "a stopped log hands out no channel")

	l, err = New(Config{})
	require.NoError(t, err)
	require.NoError(t, l.Start(ctx))
	require.NoError(t, l.Start(ctx), "idempotent")
	require.NoError(t, l.Stop(ctx))
	<-l.Done()
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Burst: -1}, "eventlog.Config.Burst"},
		{Config{Interval: -time.Second}, "eventlog.Config.Interval"},
		{Config{Buffer: -1}, "eventlog.Config.Buffer"},
	} {
		_, err := New(tc.cfg)
		var ce *resilience.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, tc.field, ce.Field)
	}
}

// However many sources write in one interval, the windows kept stay
// bounded: beyond maxSources, new sources share one window.
func TestWindowsStayBounded(t *testing.T) {
	w := windows{burst: 1, interval: time.Minute, by: map[source]*window{}}
	now := time.Now()
	written := 0
	for i := range 3 * maxSources {
		if ok, _ := w.admit(source{"breaker", strconv.Itoa(i)}, now); ok {
			written++
		}
	}
	assert.Len(t, w.by, maxSources+1)
	assert.Equal(t, maxSources+1, written, "one record per source, one for all the overflow")

	later := now.Add(time.Minute)
	ok, ended := w.admit(source{"breaker", "new"}, later)
	assert.True(t, ok, "ended windows are pruned to make room")
	assert.Zero(t, ended)
	assert.LessOrEqual(t, len(w.by), 2, "only the overflow window, which suppressed records, and the new one")
}

// Stop returns while senders keep sending: it writes at most what each
// channel held, not what keeps arriving.
func TestStopWhileSendersKeepSending(t *testing.T) {
	s := &sink{}
	l := newLog(t, s, Config{Buffer: 8})
	l.Breakers() <- opened("first") // written before Stop returns, at the latest by its drain
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			case l.Breakers() <- opened(strconv.Itoa(i % 4096)):
			default:
			}
		}
	})
	require.NoError(t, l.Stop(context.Background()))
	<-l.Done()
	close(quit)
	wg.Wait()
	assert.Positive(t, l.Metrics().Logged)
}

func TestHedgeEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		l := newLog(t, s, Config{})
		h, err := hedge.New(hedge.Config{Name: "search", Delay: 10 * time.Millisecond, Events: l.Hedges()})
		require.NoError(t, err)
		require.NoError(t, h.Run(context.Background(), func(ctx context.Context) error {
			if resilience.Attempt(ctx) == 1 {
				<-ctx.Done() // slow: hedged after 10ms, then cancelled
			}
			return nil
		}))
		synctest.Wait()
		require.NoError(t, l.Stop(context.Background()))
		assert.Equal(t, []string{"hedging hedge=search"}, s.lines())
	})
}
