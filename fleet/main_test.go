package fleet

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// exampleRedisEnv passes the address of the examples' redis-server to the
// external test package, where the examples live.
const exampleRedisEnv = "FLEET_EXAMPLE_REDIS"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	addr, stop, err := redistest.StartForMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = os.Setenv(exampleRedisEnv, addr)
	code := m.Run()
	stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// fastConfig is a fleet tuned for tests: short window, quick ticks.
func fastConfig() Config {
	return Config{Namespace: "test", Secret: []byte("test secret"), Window: 2 * time.Second,
		MinimumCalls: 10, QuietInterval: 500 * time.Millisecond, TroubleInterval: 20 * time.Millisecond,
		OpenTimeout: 500 * time.Millisecond, OpTimeout: 250 * time.Millisecond}
}

// newClient returns a client of srv closed by t.Cleanup.
func newClient(t testing.TB, srv *redistest.Server) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newAgent starts an agent on its own client of srv, stopped by t.Cleanup.
func newAgent(t testing.TB, srv *redistest.Server, cfg Config) *Agent {
	t.Helper()
	a, err := New(newClient(t, srv), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Errorf("stop agent: %v", err)
		}
	})
	return a
}

// newLocal returns a local breaker stopped by t.Cleanup.
func newLocal(t testing.TB, cfg breaker.Config) *breaker.Breaker {
	t.Helper()
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop(context.Background()) })
	return b
}

// eventually polls cond every 5ms until it holds or within passes. Real
// time: these tests run against a real redis-server.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
