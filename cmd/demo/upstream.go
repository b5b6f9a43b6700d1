package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience/deadline"
)

// faults is what an upstream does wrong. The zero value is a healthy,
// instant service.
type faults struct {
	ErrorRate float64       // fraction of requests answered 500
	Latency   time.Duration // added to every request
	Jitter    time.Duration // plus U(0, Jitter)
	HangRate  float64       // fraction of requests that never answer on their own
	Down      bool          // full outage: every request hangs
}

// upstream is one in-process HTTP service with controllable faults. A
// request that hangs waits until its caller gives up: the client closes
// the connection, or the time budget the caller sent in deadline.Header
// runs out (the upstream's deadline.Middleware honours it).
type upstream struct {
	name     string
	faults   atomic.Pointer[faults]
	rnd      *lockedRand
	received atomic.Int64 // requests that reached the handler, but for settlements
	settles  atomic.Int64 // settlement job requests (path /settle)
	hung     atomic.Int64 // requests that hung until their caller gave up
	handler  http.Handler
	ln       net.Listener
}

// maxWork caps the ?work= parameter, so a request cannot tie up the
// upstream for long.
const maxWork = 10 * time.Second

func newUpstream(name string, f faults, rnd *lockedRand) (*upstream, error) {
	u := &upstream{name: name, rnd: rnd}
	u.faults.Store(&f)
	mw, err := deadline.Middleware(deadline.HTTPConfig{}) // honours the caller's budget
	if err != nil {
		return nil, err
	}
	u.handler = mw(http.HandlerFunc(u.serve))
	u.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return u, nil
}

// URL is where the upstream listens.
func (u *upstream) URL() string { return "http://" + u.ln.Addr().String() }

// set replaces the upstream's faults.
func (u *upstream) set(f faults) { u.faults.Store(&f) }

// serve answers one request according to the current faults. A request
// with ?work=DURATION asks for that much work and is spared the random
// faults (not an outage), so tests can hold a request in flight.
func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/settle" {
		u.settles.Add(1)
	} else {
		u.received.Add(1)
	}
	f := u.faults.Load()
	work, fixed := parseWork(r.URL.Query().Get("work"))
	if f.Down || (!fixed && u.rnd.Float64() < f.HangRate) {
		<-r.Context().Done()
		u.hung.Add(1)
		return
	}
	if !fixed {
		work = f.Latency + u.rnd.Duration(f.Jitter)
	}
	if !wait(r, work) {
		return
	}
	if !fixed && u.rnd.Float64() < f.ErrorRate {
		http.Error(w, u.name+": injected failure", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"upstream\":%q,\"ok\":true}\n", u.name)
}

// wait sleeps d or until the request's context ends, reporting whether
// the sleep completed.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func parseWork(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, false
	}
	return min(d, maxWork), true
}

// lockedRand is a seeded random source safe for concurrent use, so that
// a -rand value reproduces the same fault draws and retry jitter.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newRand(seed uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Uint64 implements rand.Source.
func (l *lockedRand) Uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Uint64()
}

// Float64 returns a number in [0, 1).
func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// Duration returns U(0, d).
func (l *lockedRand) Duration(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(l.Float64() * float64(d))
}
