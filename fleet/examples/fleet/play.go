package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/fleet"
	"github.com/redis/go-redis/v9"
)

// The scenario, compressed: the upstream is healthy, dies for outage, and
// comes back.
const (
	warmup      = 400 * time.Millisecond
	outage      = 2 * time.Second
	recovery    = 1500 * time.Millisecond
	openTimeout = 400 * time.Millisecond
)

// replicas are the gateway's replicas and how often each calls upstream:
// r3 is a quiet one.
var replicas = []struct {
	name  string
	every time.Duration
}{{"r1", 5 * time.Millisecond}, {"r2", 5 * time.Millisecond}, {"r3", 100 * time.Millisecond}}

// story is what the fleet's events tell about one outage.
type story struct {
	opened  time.Duration            // first open, since the upstream died
	refused map[string]time.Duration // when each replica began refusing
	owners  []owner                  // probe owners, in order
	closed  time.Duration            // the close after the upstream came back
}

type owner struct {
	replica string
	gen     uint64
	at      time.Duration
}

// replica is one gateway replica: its gate and what it owns.
type replica struct {
	name   string
	every  time.Duration
	gate   resilience.Gate
	events chan fleet.Event
	stop   []func()
}

// play runs the outage once, with local breakers (redisAddr nil) or fleet
// breakers, and returns the dead-upstream hits per replica.
func play(ctx context.Context, up *upstream, redisAddr *string) (map[string]int, *story, error) {
	dep := fmt.Sprintf("upstream-%d", time.Now().UnixNano()) // a fresh dependency each run
	var rs []*replica
	defer func() {
		for _, r := range rs {
			for i := len(r.stop) - 1; i >= 0; i-- {
				r.stop[i]()
			}
		}
	}()
	for _, spec := range replicas {
		r, err := newReplica(spec.name, spec.every, dep, redisAddr)
		if err != nil {
			return nil, nil, err
		}
		rs = append(rs, r)
	}
	var wg sync.WaitGroup
	callCtx, stopCalls := context.WithCancel(ctx)
	for _, r := range rs {
		wg.Go(func() { r.call(callCtx, up.url) })
	}
	sleep(ctx, warmup)
	up.dead.Store(true)
	died := time.Now()
	sleep(ctx, outage)
	up.dead.Store(false)
	hits := up.take()
	sleep(ctx, recovery)
	stopCalls()
	wg.Wait()
	if redisAddr == nil {
		return hits, nil, ctx.Err()
	}
	return hits, tell(rs, died), ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func newReplica(name string, every time.Duration, dep string, redisAddr *string) (*replica, error) {
	r := &replica{name: name, every: every}
	local, err := breaker.New(breaker.Config{Name: name, OpenTimeout: openTimeout, HalfOpenMaxRequests: 1})
	if err != nil {
		return nil, err
	}
	r.stop = append(r.stop, func() { _ = local.Stop(context.Background()) })
	r.gate = local
	if redisAddr == nil {
		return r, nil
	}
	client := redis.NewClient(&redis.Options{Addr: *redisAddr})
	r.stop = append(r.stop, func() { _ = client.Close() })
	r.events = make(chan fleet.Event, 4096)
	agent, err := fleet.New(client, fleet.Config{Namespace: "example", Secret: []byte("example secret"),
		Replica: name, Window: time.Second, MinimumCalls: 10, OpenTimeout: openTimeout,
		QuietInterval: 300 * time.Millisecond, TroubleInterval: 20 * time.Millisecond, Events: r.events})
	if err != nil {
		return nil, err
	}
	if err := agent.Start(context.Background()); err != nil {
		return nil, err
	}
	r.stop = append(r.stop, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = agent.Stop(ctx)
	})
	r.gate, err = agent.Breaker(dep, local)
	return r, err
}

// call sends a request upstream through the replica's gate every r.every
// until ctx ends.
func (r *replica) call(ctx context.Context, url string) {
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-ctx.Done():
			client.CloseIdleConnections()
			return
		case <-tick.C:
		}
		_ = r.gate.Run(ctx, func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("X-Replica", r.name)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("upstream: %s", resp.Status)
			}
			return nil
		})
	}
}

// tell reads the replicas' fleet events into the outage's story.
func tell(rs []*replica, died time.Time) *story {
	s := &story{refused: map[string]time.Duration{}, opened: -1, closed: -1}
	for _, r := range rs {
		for len(r.events) > 0 {
			e := <-r.events
			at := e.At.Sub(died)
			switch e.Change {
			case "fleet open":
				if _, ok := s.refused[r.name]; !ok && at >= 0 {
					s.refused[r.name] = at
				}
				if at >= 0 && (s.opened < 0 || at < s.opened) {
					s.opened = at
				}
			case "probe owner":
				s.owners = append(s.owners, owner{r.name, e.Generation, at})
			case "fleet closed":
				if at > outage && (s.closed < 0 || at < s.closed) {
					s.closed = at
				}
			}
		}
	}
	return s
}
