package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/llm-research-lab/resilience"
)

// journal records events from many goroutines, in order.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, fmt.Sprintf(format, args...))
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.events...)
}

// probe is a test Child: it logs its start and stop, can be told to take
// time, fail, hang, or exit on its own.
type probe struct {
	name       string
	log        *journal
	startDelay time.Duration
	stopDelay  time.Duration
	startErr   error
	hang       <-chan struct{} // if not nil, Stop ignores ctx and waits for it

	once sync.Once
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func (p *probe) Start(ctx context.Context) error {
	if p.startDelay > 0 {
		select {
		case <-time.After(p.startDelay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if p.startErr != nil {
		return p.startErr
	}
	p.log.add("start %s", p.name)
	return nil
}

func (p *probe) Stop(ctx context.Context) error {
	p.log.add("stop %s", p.name)
	if p.hang != nil {
		<-p.hang
		p.exit(nil)
		return nil
	}
	if p.stopDelay > 0 {
		select {
		case <-time.After(p.stopDelay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.exit(nil)
	return nil
}

// exit makes the probe exit on its own with err (or record a stop).
func (p *probe) exit(err error) {
	p.once.Do(func() {
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	})
}

func (p *probe) Done() <-chan struct{} { return p.done }

func (p *probe) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// probes hands out probes and remembers the current incarnation of each.
type probes struct {
	log     *journal
	mu      sync.Mutex
	current map[string]*probe
	tune    map[string]func(*probe)
}

func newProbes() *probes {
	return &probes{log: &journal{}, current: map[string]*probe{}, tune: map[string]func(*probe){}}
}

// spec returns a Spec whose New builds a probe named name.
func (ps *probes) spec(name string, r Restart) Spec {
	return Spec{Name: name, Restart: r, New: func() (Component, error) {
		p := &probe{name: name, log: ps.log, done: make(chan struct{})}
		ps.mu.Lock()
		defer ps.mu.Unlock()
		if f := ps.tune[name]; f != nil {
			f(p)
		}
		ps.current[name] = p
		return p, nil
	}}
}

func (ps *probes) get(name string) *probe {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.current[name]
}

var errBoom = errors.New("boom")

// part is one component a stop abandoned: its path and the time it was
// given.
type part struct {
	Path  string
	Given time.Duration
}

// abandonedParts lists, in order, the components err reports as abandoned:
// the *ComponentErrors wrapping a *resilience.TimeoutError, drains apart.
func abandonedParts(err error) []part {
	var out []part
	for _, e := range flatten(err) {
		var ce *ComponentError
		var te *resilience.TimeoutError
		if errors.As(e, &ce) && ce.Op != "drain" && errors.As(e, &te) {
			out = append(out, part{ce.Name, te.Limit})
		}
	}
	return out
}

// activeLeft returns the number of connections err reports still held.
func activeLeft(err error) int {
	for _, e := range flatten(err) {
		var n stillActive
		if errors.As(e, &n) {
			return int(n)
		}
	}
	return 0
}

// flatten returns the leaves of a tree of joined errors.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
