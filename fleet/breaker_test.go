package fleet

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
)

var errDown = errors.New("dependency down")

func fail(context.Context) error { return errDown }
func ok(context.Context) error   { return nil }

// replicas starts n agents on srv, each with a fleet breaker "payments"
// in front of a local breaker that never trips on its own.
func replicas(t *testing.T, srv *redistest.Server, n int, cfg Config) ([]*Agent, []*Breaker) {
	t.Helper()
	return replicasTB(t, srv, n, cfg)
}

func replicasTB(t testing.TB, srv *redistest.Server, n int, cfg Config) ([]*Agent, []*Breaker) {
	t.Helper()
	var agents []*Agent
	var brs []*Breaker
	for range n {
		a := newAgent(t, srv, cfg)
		b, err := a.Breaker("payments", newLocal(t, breaker.Config{FailureThreshold: 1 << 30}))
		if err != nil {
			t.Fatal(err)
		}
		agents, brs = append(agents, a), append(brs, b)
	}
	// A replica counts in the quorum once it has flushed.
	for _, a := range agents {
		eventually(t, 2*time.Second, "first flush", func() bool { return a.Metrics().Flushes > 0 })
	}
	return agents, brs
}

// hammer calls fn through b every millisecond for d.
func hammer(b *Breaker, d time.Duration, fn func(context.Context) error) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Millisecond) {
		_ = b.Run(context.Background(), fn)
	}
}

// both hammers two breakers at once.
func both(b1, b2 *Breaker, d time.Duration, fn func(context.Context) error) {
	var wg sync.WaitGroup
	wg.Go(func() { hammer(b1, d, fn) })
	hammer(b2, d, fn)
	wg.Wait()
}

func TestOneBadReplicaNeverOpensTheFleet(t *testing.T) {
	srv := redistest.Start(t)
	_, brs := replicas(t, srv, 3, fastConfig())
	hammer(brs[0], 300*time.Millisecond, fail) // ~300 failures: far above MinimumCalls
	for i, b := range brs {
		if s := b.State(); s != "fleet closed" {
			t.Fatalf("replica %d: %s after one replica failed, want fleet closed", i, s)
		}
	}
}

func TestQuorumOpensEveryReplica(t *testing.T) {
	srv := redistest.Start(t)
	_, brs := replicas(t, srv, 3, fastConfig())
	both(brs[0], brs[1], 300*time.Millisecond, fail)
	eventually(t, 2*time.Second, "every replica refuses", func() bool {
		return brs[0].State() == "fleet open" && brs[1].State() == "fleet open" && brs[2].State() == "fleet open"
	})
	err := brs[2].Run(context.Background(), ok)
	var rej *resilience.RejectedError
	if !errors.Is(err, resilience.ErrOpen) || !errors.As(err, &rej) {
		t.Fatalf("the healthy replica got %v, want a RejectedError with ErrOpen", err)
	}
	if ra := rej.RetryAfter(); ra <= 0 || ra > fastConfig().OpenTimeout {
		t.Fatalf("RetryAfter %v, want in (0, OpenTimeout]", ra)
	}
	if rej.Name != "payments" {
		t.Fatalf("refusal named %q", rej.Name)
	}
}

func TestOneReplicaFleetActsLikeItsLocalBreaker(t *testing.T) {
	srv := redistest.Start(t)
	_, brs := replicas(t, srv, 1, fastConfig())
	hammer(brs[0], 100*time.Millisecond, fail)
	eventually(t, 2*time.Second, "a fleet of one opens", func() bool { return brs[0].State() == "fleet open" })
}

func TestHalfOpenHasOneProbeOwnerThenCloses(t *testing.T) {
	srv := redistest.Start(t)
	cfg := fastConfig()
	_, brs := replicas(t, srv, 3, cfg)
	both(brs[0], brs[1], 200*time.Millisecond, fail)
	eventually(t, 2*time.Second, "the fleet opens", func() bool { return brs[2].State() == "fleet open" })
	// Every replica keeps calling (and being refused) through the open
	// timeout: exactly one becomes the probe owner.
	owners := make(chan int, 3)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, b := range brs {
		wg.Go(func() {
			for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
				select {
				case <-stop:
					return
				default:
				}
				if b.State() == "probe owner" {
					owners <- i
					return
				}
				_ = b.Run(context.Background(), fail) // refused while open
			}
		})
	}
	owner := -1
	select {
	case owner = <-owners:
	case <-time.After(3 * time.Second):
	}
	close(stop)
	wg.Wait()
	if owner < 0 {
		t.Fatal("no replica became the probe owner")
	}
	for i, b := range brs {
		if i != owner && b.State() == "probe owner" {
			t.Fatalf("replicas %d and %d both own the probe", owner, i)
		}
	}
	// The owner's successful calls close the fleet everywhere.
	for range cfg.ProbeSuccesses + 3 {
		_ = brs[owner].Run(context.Background(), ok)
	}
	eventually(t, 2*time.Second, "every replica closes", func() bool {
		for _, b := range brs {
			if b.State() != "fleet closed" {
				return false
			}
		}
		return true
	})
}
