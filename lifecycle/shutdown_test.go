package lifecycle

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

func TestShutdownPhasesInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		tree, err := New(Config{Name: "app"}, ps.spec("db", RestartAlways), ps.spec("api", RestartAlways))
		require.NoError(t, err)
		require.NoError(t, tree.Start(t.Context()))
		c, err := NewCoordinator(ShutdownConfig{PropagationDelay: 5 * time.Second, Tree: tree})
		require.NoError(t, err)
		for _, name := range []string{"first", "second", "third"} {
			require.NoError(t, c.Hook(name, 0, func(context.Context) error {
				ps.log.add("hook %s", name)
				return nil
			}))
		}
		g, err := c.Acquire()
		require.NoError(t, err)
		assert.Equal(t, 1, c.ActiveConnections())

		begin := time.Now()
		go func() {
			// The guard is released 2s after the propagation delay.
			time.Sleep(7 * time.Second)
			ps.log.add("release guard")
			g()
			g() // idempotent
		}()
		synctest.Wait()
		assert.False(t, c.ShuttingDown())
		require.NoError(t, c.Stop(t.Context()))
		assert.Equal(t, 7*time.Second, time.Since(begin), "5s propagation + 2s drain")
		assert.True(t, c.ShuttingDown())
		assert.Equal(t, []string{"start db", "start api", "release guard", "stop api", "stop db",
			"hook third", "hook second", "hook first"}, ps.log.all())
		<-c.Done()
		assert.NoError(t, c.Err())
	})
}

func TestShutdownBadHooksAreReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := NewCoordinator(ShutdownConfig{})
		require.NoError(t, err)
		release := make(chan struct{})
		ran := &journal{}
		add := func(name string, timeout time.Duration, fn func(context.Context) error) {
			require.NoError(t, c.Hook(name, timeout, func(ctx context.Context) error {
				ran.add("%s", name)
				return fn(ctx)
			}))
		}
		add("ok", 0, func(context.Context) error { return nil })
		add("hangs", 3*time.Second, func(context.Context) error { <-release; return nil })
		add("panics", 0, func(context.Context) error { panic("hook bug") })
		add("fails", 0, func(context.Context) error { return errBoom })
		add("slow-but-honest", time.Second, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })

		begin := time.Now()
		err = c.Stop(t.Context())
		assert.Equal(t, 4*time.Second, time.Since(begin), "each bad hook costs only its own timeout")
		assert.Equal(t, []string{"slow-but-honest", "fails", "panics", "hangs", "ok"}, ran.all(), "all hooks run, in reverse")
		assert.ErrorIs(t, err, errBoom)
		assert.ErrorContains(t, err, "lifecycle: hook hook/panics: resilience: panic: hook bug")
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, []part{
			{"hook/slow-but-honest", time.Second},
			{"hook/hangs", 3 * time.Second},
		}, abandonedParts(err))
		close(release)
	})
}

func TestShutdownGuards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := NewCoordinator(ShutdownConfig{GracePeriod: 10 * time.Second})
		require.NoError(t, err)
		_, err = c.Acquire()
		require.NoError(t, err)
		_, err = c.Acquire()
		require.NoError(t, err)
		begin := time.Now()
		done := make(chan error, 1)
		go func() { done <- c.Stop(t.Context()) }()
		synctest.Wait()
		_, err = c.Acquire()
		assert.ErrorIs(t, err, resilience.ErrStopped, "no new guard once shutdown began")
		assert.Equal(t, 2, c.ActiveConnections())
		assert.ErrorIs(t, c.Stop(t.Context()), resilience.ErrStopped, "a second Stop does not wait")
		err = <-done
		assert.Equal(t, 10*time.Second, time.Since(begin), "waits out the grace period, then proceeds")
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, 2, activeLeft(err))
		assert.ErrorContains(t, err, "2 connections still active")
		assert.ErrorIs(t, c.Hook("late", 0, func(context.Context) error { return nil }), resilience.ErrStopped)
	})
}

func TestShutdownHangingTreeAndCancelledContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		release := make(chan struct{})
		ps.tune["stuck"] = func(p *probe) { p.hang = release }
		stuck := ps.spec("stuck", RestartAlways)
		stuck.StopTimeout = time.Hour
		tree, err := New(Config{Name: "app"}, stuck)
		require.NoError(t, err)
		require.NoError(t, tree.Start(t.Context()))
		c, err := NewCoordinator(ShutdownConfig{TreeTimeout: 2 * time.Second, Tree: tree})
		require.NoError(t, err)
		hookRan := false
		require.NoError(t, c.Hook("after", 0, func(context.Context) error { hookRan = true; return nil }))
		begin := time.Now()
		err = c.Stop(t.Context())
		assert.Equal(t, 2*time.Second, time.Since(begin), "the tree phase is bounded")
		assert.True(t, hookRan, "hooks run after a hanging tree")
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, []part{{"app/stuck", 2 * time.Second}}, abandonedParts(err))
		close(release)
		<-tree.Done()
	})
}

func TestShutdownContextHurriesPhases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := NewCoordinator(ShutdownConfig{PropagationDelay: time.Hour})
		require.NoError(t, err)
		release := make(chan struct{})
		require.NoError(t, c.Hook("hangs", time.Hour, func(context.Context) error { <-release; return nil }))
		_, err = c.Acquire()
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		begin := time.Now()
		err = c.Stop(ctx)
		assert.Equal(t, time.Minute, time.Since(begin))
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, 1, activeLeft(err))
		assert.Equal(t, []part{{"hook/hangs", 0}}, abandonedParts(err))
		close(release)
	})
}

func TestShutdownConfigValidation(t *testing.T) {
	_, err := NewCoordinator(ShutdownConfig{GracePeriod: -1})
	var ce *resilience.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "lifecycle.ShutdownConfig.GracePeriod", ce.Field)
	_, err = NewCoordinator(ShutdownConfig{Servers: []*http.Server{nil}})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "lifecycle.ShutdownConfig.Servers[0]", ce.Field)

	c, err := NewCoordinator(ShutdownConfig{})
	require.NoError(t, err)
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		fn      func(context.Context) error
		field   string
	}{
		{"", 0, func(context.Context) error { return nil }, "name"},
		{"x", 0, nil, "fn"},
		{"x", -1, func(context.Context) error { return nil }, "timeout"},
	} {
		require.ErrorAs(t, c.Hook(tt.name, tt.timeout, tt.fn), &ce)
		assert.Equal(t, tt.field, ce.Field)
	}
}

func TestReadinessAndTrack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := NewCoordinator(ShutdownConfig{})
		require.NoError(t, err)
		seen := -1
		h := c.Track(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			seen = c.ActiveConnections()
		}))
		get := func(h http.Handler) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			return rec
		}
		assert.Equal(t, http.StatusOK, get(c.Readiness()).Code)
		assert.Equal(t, http.StatusOK, get(h).Code)
		assert.Equal(t, 1, seen, "the request holds a guard while it runs")
		assert.Equal(t, 0, c.ActiveConnections())

		require.NoError(t, c.Stop(t.Context()))
		assert.Equal(t, http.StatusServiceUnavailable, get(c.Readiness()).Code)
		rec := get(h)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "close", rec.Header().Get("Connection"))
	})
}

// TestShutdownServer uses a real loopback server (real time, bounded).
func TestShutdownServer(t *testing.T) {
	entered := make(chan struct{})
	finish := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-finish
		_, _ = io.WriteString(w, "done")
	}), ReadHeaderTimeout: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	child := Server(srv, ln)
	require.NoError(t, child.Start(t.Context()))

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	got := make(chan string, 1)
	go func() {
		resp, err := client.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-entered
	c, err := NewCoordinator(ShutdownConfig{Servers: []*http.Server{srv}})
	require.NoError(t, err)
	shut := make(chan error, 1)
	go func() { shut <- c.Stop(t.Context()) }()
	close(finish)
	assert.Equal(t, "done", <-got, "the request in flight completes")
	require.NoError(t, <-shut)
	<-child.Done()
	assert.NoError(t, child.Err())
	assert.NoError(t, child.Stop(t.Context()))
}

func TestShutdownServerTimeout(t *testing.T) {
	entered := make(chan struct{})
	finish := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		close(entered)
		<-finish
	}), ReadHeaderTimeout: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		if resp, err := client.Get("http://" + ln.Addr().String()); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	c, err := NewCoordinator(ShutdownConfig{Servers: []*http.Server{srv}, ServerTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	err = c.Stop(t.Context())
	require.ErrorIs(t, err, resilience.ErrTimeout)
	require.Len(t, abandonedParts(err), 1)
	assert.Equal(t, "server/0", abandonedParts(err)[0].Path)
	close(finish)
	assert.True(t, errors.Is(<-served, http.ErrServerClosed))
}

func TestFromServerStartError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c := Server(&http.Server{Addr: ln.Addr().String(), ReadHeaderTimeout: time.Second}, nil)
	assert.Error(t, c.Start(t.Context()), "a port in use is a start error")
	assert.NoError(t, c.Stop(t.Context()))
	assert.Error(t, Server(nil, nil).Start(t.Context()))
}

// TestFromServerClosesFreshConnections checks that a connection which has
// not sent a request (an HTTP client's idle spare) does not hold the stop:
// http.Server.Shutdown alone would wait five seconds for it, past this
// test's three-second stop context.
func TestFromServerClosesFreshConnections(t *testing.T) {
	opened := make(chan struct{}, 1)
	srv := &http.Server{
		Handler:           http.NotFoundHandler(),
		ReadHeaderTimeout: time.Minute,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				opened <- struct{}{}
			}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	child := Server(srv, ln)
	require.NoError(t, child.Start(t.Context()))

	spare, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer spare.Close()
	<-opened // the server's own ConnState hook still runs

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	require.NoError(t, child.Stop(ctx), "a connection that sent nothing must not hold the shutdown")
	_, err = spare.Read(make([]byte, 1))
	assert.Error(t, err, "the fresh connection was closed")
}

func TestCoordinatorServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		tree, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways))
		require.NoError(t, err)
		c, err := NewCoordinator(ShutdownConfig{Tree: tree})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		served := make(chan error, 1)
		go func() { served <- c.Serve(ctx) }()
		synctest.Wait()
		assert.Equal(t, []string{"start a"}, ps.log.all(), "Serve starts the tree")
		assert.False(t, c.ShuttingDown())
		cancel()
		require.NoError(t, <-served)
		assert.Equal(t, []string{"start a", "stop a"}, ps.log.all())
		assert.ErrorIs(t, c.Start(t.Context()), resilience.ErrStopped, "a coordinator runs once")
		assert.NoError(t, c.Stop(t.Context()), "a later Stop returns the first's result")
	})
}

func TestServerStartsOnce(t *testing.T) {
	var ce *resilience.ConfigError
	require.ErrorAs(t, Server(nil, nil).Start(t.Context()), &ce)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := Server(&http.Server{ReadHeaderTimeout: time.Second}, ln)
	require.NoError(t, c.Start(t.Context()))
	require.NoError(t, c.Start(t.Context()), "Start while serving does nothing")
	require.NoError(t, c.Stop(t.Context()))
	<-c.Done()
	assert.NoError(t, c.Err())
	assert.Error(t, c.Start(t.Context()), "an http.Server cannot serve again")
}
