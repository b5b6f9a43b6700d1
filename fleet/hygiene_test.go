package fleet

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
	"github.com/llm-research-lab/resilience/limit"
)

func TestRedisHoldsNoNamesAndEveryKeyExpires(t *testing.T) {
	srv := redistest.Start(t)
	cfg := fastConfig()
	cfg.Replica = "pod-checkout-7f9c"
	a := newAgent(t, srv, cfg)
	b, err := a.Breaker("tenant-acme.payments.internal", newLocal(t, breaker.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Budget("tenant-acme.payments.internal", 0.2); err != nil {
		t.Fatal(err)
	}
	l, err := a.Limiter(limit.Config{Name: "tenant-acme.search", PerSecond: 100})
	if err != nil {
		t.Fatal(err)
	}
	hammer(b, 50*time.Millisecond, fail)
	eventually(t, 2*time.Second, "a lease", func() bool { _, err := l.Allow(context.Background()); return err == nil && a.Metrics().Leases > 0 })
	rdb := newClient(t, srv)
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil || len(keys) < 3 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "test:v1:{") {
			t.Errorf("key %q is not namespaced and versioned", k)
		}
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 {
			t.Errorf("key %q has TTL %v, %v", k, ttl, err)
		}
		dump := k
		switch typ, _ := rdb.Type(ctx, k).Result(); typ {
		case "hash":
			m, _ := rdb.HGetAll(ctx, k).Result()
			for f, v := range m {
				dump += " " + f + " " + v
			}
		case "string":
			v, _ := rdb.Get(ctx, k).Result()
			dump += " " + v
		}
		for _, raw := range []string{"acme", "payments", "search", "pod", "checkout"} {
			if strings.Contains(dump, raw) {
				t.Errorf("Redis holds %q: %s", raw, dump)
			}
		}
	}
}

func TestScriptsCheckEveryArgumentBeforeWriting(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	a, err := New(rdb, fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	k := newKeys("test", "00aa")
	good := append([]any{"0123abcd", 5, 1, 0, 0, 0, 0, 0}, a.ruleArgs(k.id, true)...)
	keys := []string{k.state, k.window, k.probe}
	ctx := context.Background()
	for i := range good {
		bads := []any{"x", -1, 1.5, "1e99"}
		if i == 0 || i == 17 || i == 18 { // labels and the channel
			bads = []any{"", "a b", "zz!"}
		}
		for _, bad := range bads {
			args := append([]any(nil), good...)
			args[i] = bad
			if err := flushScript.Run(ctx, rdb, keys, args...).Err(); err == nil || !strings.Contains(err.Error(), "fleet:") {
				t.Fatalf("argument %d = %v: %v, want a fleet: error", i+1, bad, err)
			}
			if n, _ := rdb.DBSize(ctx).Result(); n != 0 {
				t.Fatalf("argument %d = %v: a refused call wrote %d keys", i+1, bad, n)
			}
		}
	}
	if err := leaseScript.Run(ctx, rdb, []string{k.bucket, k.replicaCounts}, "0123abcd", 0, 10, 1, 0, 1000).Err(); err == nil {
		t.Fatal("a zero emission interval was accepted")
	}
	if err := flushScript.Run(ctx, rdb, keys, good...).Err(); err != nil {
		t.Fatalf("good arguments refused: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	rdb := newClient(t, redistest.Start(t))
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Namespace: "Bad Space"}, "fleet.Config.Namespace"},
		{Config{FailureRate: 2}, "fleet.Config.FailureRate"},
		{Config{Window: time.Second, QuietInterval: 2 * time.Second}, "fleet.Config.QuietInterval"},
		{Config{OpTimeout: -1}, "fleet.Config.OpTimeout"},
		{Config{Quorum: -1}, "fleet.Config.Quorum"},
	} {
		_, err := New(rdb, tc.cfg)
		var ce *resilience.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%+v: %v, want a ConfigError on %s", tc.cfg, err, tc.field)
		}
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("nil client accepted")
	}
	a, _ := New(rdb, Config{})
	if _, err := a.Budget("x", 1.5); err == nil {
		t.Error("ratio 1.5 accepted")
	}
	if _, err := a.Limiter(limit.Config{Name: "x"}); err == nil {
		t.Error("a limiter without a rate accepted")
	}
	if _, err := a.Breaker("x", nil); err == nil {
		t.Error("nil local breaker accepted")
	}
	_ = a.Stop(context.Background())
	if _, err := a.Breaker("x", newLocal(t, breaker.Config{})); !errors.Is(err, resilience.ErrStopped) {
		t.Errorf("Breaker after Stop: %v", err)
	}
	if err := a.Start(context.Background()); !errors.Is(err, resilience.ErrStopped) {
		t.Errorf("Start after Stop: %v", err)
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{"00aa 3 1 1700000000000", "00aa 4 0 0", "", "a b c", "x 1 2 3", "00aa 1 1 1 1", "00aa -1 1 5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		label, _, _, _, ok := parseMessage(s)
		if ok && (label == "" || len(label) > 32 || strings.Contains(label, " ")) {
			t.Fatalf("accepted label %q from %q", label, s)
		}
	})
}
