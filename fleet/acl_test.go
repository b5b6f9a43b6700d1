package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/redis/go-redis/v9"
)

// TestLeastPrivilegeACL runs an agent as the ACL user docs/fleet.md
// describes: its keys and channel, the scripts and what they call.
func TestLeastPrivilegeACL(t *testing.T) {
	srv := redistest.Start(t)
	admin := newClient(t, srv)
	rule := []any{"ACL", "SETUSER", "fleet", "on", ">fleet-password", "resetkeys", "~test:v1:*",
		"resetchannels", "&test:v1:state", "-@all", "+evalsha", "+eval", "+subscribe", "+ping", "+hello",
		"+time", "+get", "+set", "+del", "+hgetall", "+hmget", "+hset", "+hdel",
		"+pexpire", "+publish"}
	if err := admin.Do(context.Background(), rule...).Err(); err != nil {
		t.Fatal(err)
	}
	user := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "fleet", Password: "fleet-password"})
	t.Cleanup(func() { _ = user.Close() })
	a, err := New(user, fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.Breaker("payments", newLocal(t, breaker.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.Limiter(limit.Config{Name: "search", PerSecond: 100})
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Start(context.Background())
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	hammer(b, 100*time.Millisecond, fail) // a fleet of one: opens, through the script's PUBLISH
	eventually(t, 2*time.Second, "the fleet opens as the ACL user", func() bool { return b.State() == "fleet open" })
	eventually(t, 2*time.Second, "a lease as the ACL user", func() bool { return l.fallback.Load() == nil })
	if m := a.Metrics(); m.Failures != 0 {
		t.Fatalf("%d Redis operations failed as the ACL user", m.Failures)
	}
}
