package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/llm-research-lab/resilience/lifecycle"
)

// upstreamNames are the three services behind the gateway; outageUpstream
// is the one that goes down in the scenario.
var upstreamNames = []string{"users", "search", "payments"}

const outageUpstream = "payments"

// baseline is each upstream's everyday misbehaviour.
func baseline(name string) faults {
	switch name {
	case "users":
		return faults{ErrorRate: 0.05, Latency: 2 * time.Millisecond, Jitter: 3 * time.Millisecond}
	case "search":
		return faults{Latency: 10 * time.Millisecond, Jitter: 20 * time.Millisecond, HangRate: 0.02}
	}
	return faults{Latency: 3 * time.Millisecond, Jitter: 4 * time.Millisecond}
}

// system is everything the demo runs, as one lifecycle tree:
//
//	demo
//	├── upstreams: users, search, payments        (HTTP servers)
//	├── gateway:   deadlines, breaker-users, breaker-search,
//	│              breaker-payments, http          (the library at work)
//	└── plain:     http                            (the same routes, no library)
//
// and the Coordinator that shuts it down.
type system struct {
	ups         map[string]*upstream
	gw          *gateway
	plain       *gateway // nil in -serve mode
	gwURL       string
	plainURL    string
	root        *lifecycle.Supervisor
	coord       *lifecycle.Coordinator
	grace       time.Duration
	propagation time.Duration
	stops       *stopLog
	lns         []net.Listener
}

// newSystem builds the tree without starting it.
func newSystem(o options, withPlain bool, events *eventLog) (s *system, err error) {
	s = &system{ups: map[string]*upstream{}, grace: o.grace, propagation: o.propagation, stops: &stopLog{}}
	defer func() {
		if err != nil {
			s.abort()
		}
	}()
	rnd := newRand(o.seed)
	urls := map[string]string{}
	var upSpecs []lifecycle.Spec
	for _, name := range upstreamNames {
		u, err := newUpstream(name, baseline(name), rnd)
		if err != nil {
			return s, err
		}
		s.ups[name], urls[name] = u, u.URL()
		s.lns = append(s.lns, u.ln)
		upSpecs = append(upSpecs, s.serverSpec(name, "upstreams/"+name, u.handler, u.ln))
	}
	ups, err := subtree("upstreams", upSpecs...)
	if err != nil {
		return s, err
	}
	specs := []lifecycle.Spec{ups}

	// addGateway builds a gateway with or without the library into *g (so
	// abort can stop it even if what follows fails) and adds its subtree.
	addGateway := func(name string, resilient bool, g **gateway, url *string) error {
		var err error
		if *g, err = newGateway(resilient, defaultRoutes(), urls, upstreamNames, rnd, events); err != nil {
			return err
		}
		spec, u, err := s.gatewaySpec(name, *g, o.addr)
		if err != nil {
			return err
		}
		specs, *url = append(specs, spec), u
		return nil
	}
	if err = addGateway("gateway", true, &s.gw, &s.gwURL); err != nil {
		return s, err
	}
	if withPlain {
		if err = addGateway("plain", false, &s.plain, &s.plainURL); err != nil {
			return s, err
		}
	}
	if s.root, err = lifecycle.New(lifecycle.Config{Name: "demo"}, specs...); err != nil {
		return s, err
	}
	s.coord, err = lifecycle.NewCoordinator(lifecycle.ShutdownConfig{
		PropagationDelay: o.propagation,
		GracePeriod:      o.grace,
		TreeTimeout:      o.grace,
		Tree:             s.root,
	})
	if err != nil {
		return s, err
	}
	s.gw.coord = s.coord
	return s, s.coord.Hook("close-idle-connections", time.Second, s.closeIdle)
}

// gatewaySpec listens for g on addr and returns the subtree that runs it:
// its deadline scheduler, one child per breaker, then its HTTP server.
func (s *system) gatewaySpec(name string, g *gateway, addr string) (lifecycle.Spec, string, error) {
	h, err := g.handler()
	if err != nil {
		return lifecycle.Spec{}, "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return lifecycle.Spec{}, "", err
	}
	s.lns = append(s.lns, ln)
	// Started first, so stopped last: once the server has stopped, close
	// the connections to the upstreams before they stop. A pooled
	// connection that never carried a request would otherwise hold an
	// upstream's http.Server.Shutdown for up to five seconds.
	kids := []lifecycle.Spec{s.funcSpec("transport", name+"/transport", func(ctx context.Context) error {
		<-ctx.Done()
		g.transport.CloseIdleConnections()
		if !g.resilient {
			return stopWithin(time.Second, g.breakers.Stop) // built, never used
		}
		return nil
	})}
	if g.resilient {
		// The library's own parts are Components: the tree holds them as
		// they are, starts them in this order and stops them in reverse.
		kids = append(kids,
			s.componentSpec("deadlines", name+"/deadlines", g.sched),
			s.componentSpec("breakers", name+"/breakers", g.breakers),
			s.funcSpec("breaker-events", name+"/breaker-events", g.relay),
			s.componentSpec(outageUpstream+"-jobs", name+"/"+outageUpstream+"-jobs", g.jobs),
			s.funcSpec("settlement", name+"/settlement", g.settle.run))
	}
	kids = append(kids, s.serverSpec("http", name+"/http", h, ln))
	spec, err := subtree(name, kids...)
	return spec, "http://" + ln.Addr().String(), err
}

// subtree returns the Spec of a nested supervisor named name that runs
// kids. Its start and stop timeouts are the sums of its children's (5s
// each by default) plus a second, so that it normally outlasts them.
func subtree(name string, kids ...lifecycle.Spec) (lifecycle.Spec, error) {
	sup, err := lifecycle.New(lifecycle.Config{Name: name}, kids...)
	if err != nil {
		return lifecycle.Spec{}, err
	}
	start, stop := time.Second, time.Second
	for _, k := range kids {
		start += cmp.Or(k.StartTimeout, 5*time.Second)
		stop += cmp.Or(k.StopTimeout, 5*time.Second)
	}
	return lifecycle.Spec{Name: name, Component: sup, StartTimeout: start, StopTimeout: stop}, nil
}

// serverSpec runs an HTTP server on ln; a restart listens again on the
// same address (an http.Server cannot serve twice).
func (s *system) serverSpec(name, label string, h http.Handler, ln net.Listener) lifecycle.Spec {
	addr, first := ln.Addr().String(), ln
	return lifecycle.Spec{Name: name, New: func() (lifecycle.Component, error) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		l := first
		if l == nil {
			srv.Addr = addr
		}
		first = nil
		return s.stops.timed(label, lifecycle.Server(srv, l)), nil
	}}
}

func (s *system) funcSpec(name, label string, run func(ctx context.Context) error) lifecycle.Spec {
	return lifecycle.Spec{Name: name, Restart: lifecycle.RestartOnFailure, Component: s.stops.timed(label, lifecycle.Func(run))}
}

// relay passes the breakers' state changes to the event log until the
// tree stops it.
func (g *gateway) relay(ctx context.Context) error {
	for {
		select {
		case ev := <-g.changes:
			g.events.add(ev)
		case <-ctx.Done():
			return nil
		}
	}
}

func (s *system) componentSpec(name, label string, c lifecycle.Component) lifecycle.Spec {
	return lifecycle.Spec{Name: name, Restart: lifecycle.RestartOnFailure, Component: s.stops.timed(label, c)}
}

func stopWithin(d time.Duration, stop func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return stop(ctx)
}

// start starts the tree.
func (s *system) start(ctx context.Context) error {
	if err := s.root.Start(ctx); err != nil {
		s.abort()
		return err
	}
	return nil
}

// abort releases what a system that never started holds.
func (s *system) abort() {
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	for _, g := range []*gateway{s.gw, s.plain} {
		if g == nil {
			continue
		}
		_ = stopWithin(time.Second, g.breakers.Stop)
		if g.sched != nil {
			_ = stopWithin(time.Second, g.sched.Stop)
			_ = stopWithin(time.Second, g.jobs.Stop)
		}
	}
}

func (s *system) closeIdle(context.Context) error {
	for _, g := range []*gateway{s.gw, s.plain} {
		if g != nil {
			g.transport.CloseIdleConnections()
		}
	}
	return nil
}

// shutdownReport is what the shutdown did and how long it took.
type shutdownReport struct {
	inflight int // requests holding a guard when shutdown began
	elapsed  time.Duration
	grace    time.Duration // for draining the requests in flight and stopping the tree
	limit    time.Duration // the propagation delay plus the grace period
	stops    []stopped
	err      error
}

// shutdown runs the Coordinator's shutdown and reports on it.
func (s *system) shutdown(ctx context.Context) shutdownReport {
	rep := shutdownReport{inflight: s.coord.ActiveConnections(), grace: s.grace, limit: s.propagation + s.grace}
	start := time.Now()
	rep.err = s.coord.Stop(ctx)
	rep.elapsed = time.Since(start)
	rep.stops = s.stops.list()
	return rep
}

// failed says whether the shutdown broke the grace-period invariant.
func (r shutdownReport) failed() error {
	switch {
	case r.err != nil:
		return fmt.Errorf("shutdown: %w", r.err)
	case r.elapsed > r.limit:
		return fmt.Errorf("shutdown took %v, more than its propagation delay and grace period (%v)", r.elapsed.Round(time.Millisecond), r.limit)
	}
	return nil
}

// stopped is one child's stop, as timed by stopLog.
type stopped struct {
	name    string
	elapsed time.Duration
	err     error
}

// stopLog records children's stops in the order they happen.
type stopLog struct {
	mu      sync.Mutex
	entries []stopped
}

func (l *stopLog) list() []stopped {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]stopped(nil), l.entries...)
}

// timed wraps c so that its Stop is recorded.
func (l *stopLog) timed(name string, c lifecycle.Component) lifecycle.Component {
	return &timedChild{Component: c, name: name, log: l}
}

type timedChild struct {
	lifecycle.Component
	name string
	log  *stopLog
}

func (t *timedChild) Stop(ctx context.Context) error {
	start := time.Now()
	err := t.Component.Stop(ctx)
	t.log.mu.Lock()
	t.log.entries = append(t.log.entries, stopped{t.name, time.Since(start), err})
	t.log.mu.Unlock()
	return err
}
