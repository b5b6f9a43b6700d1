// Command worker is a job worker built the way the library is meant to be
// used: one breaker actor and one bulkhead per dependency, jobs sent to
// them over channels with resilience.Submit, and everything under one
// lifecycle tree that starts the parts in order and stops them in reverse.
//
// Two in-process dependencies stand in for real ones: "inventory" answers
// at once, "email" is down for the first part of the run. The worker sends
// each order to both, reads every answer from one results channel, prints
// a summary, and shuts the tree down: no job is lost, and the jobs the
// open email breaker refused cost no call to email at all.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/lifecycle"
	"github.com/llm-research-lab/resilience/retry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, 200)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// dependency is one downstream service: its pipeline (breaker actor and
// bulkhead of its own) and the function that calls it.
type dependency struct {
	name     string
	breaker  *breaker.Breaker
	jobs     *bulkhead.Bulkhead
	pipeline *resilience.Pipeline
	call     func(ctx context.Context, order int) (string, error)
	results  chan resilience.Result[string] // every answer of its jobs
	calls    atomic.Int64                   // calls that reached the dependency
}

func newDependency(name string, orders int, call func(ctx context.Context, order int) (string, error)) (*dependency, error) {
	b, err := breaker.New(breaker.Config{Name: name, FailureThreshold: 3, OpenTimeout: 20 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	jobs, err := bulkhead.New(bulkhead.Config{Name: name, MaxConcurrent: 4, MaxQueue: 256})
	if err != nil {
		return nil, err
	}
	r, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: 2 * time.Millisecond, MaxDelay: 10 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	d := &dependency{name: name, breaker: b, jobs: jobs, call: call, results: make(chan resilience.Result[string], orders)}
	d.pipeline = &resilience.Pipeline{Name: name, Retry: r, Breaker: b, Bulkhead: jobs, AttemptTimeout: 50 * time.Millisecond}
	return d, nil
}

// run starts the tree, sends orders jobs to each dependency, collects
// every answer, prints a summary and stops the tree.
func run(ctx context.Context, out io.Writer, orders int) error {
	var emailUp atomic.Bool
	inventory, err := newDependency("inventory", orders, func(ctx context.Context, order int) (string, error) {
		return fmt.Sprintf("order %d reserved", order), nil
	})
	if err != nil {
		return err
	}
	email, err := newDependency("email", orders, func(ctx context.Context, order int) (string, error) {
		if !emailUp.Load() {
			return "", errors.New("email: connection refused")
		}
		return fmt.Sprintf("order %d mailed", order), nil
	})
	if err != nil {
		return err
	}
	deps := []*dependency{inventory, email}

	// The tree: each dependency's breaker, then its bulkhead; started in
	// this order, stopped in reverse, so no bulkhead outlives its breaker.
	var specs []lifecycle.Spec
	for _, d := range deps {
		specs = append(specs,
			lifecycle.Spec{Name: d.name + "-breaker", Component: d.breaker},
			lifecycle.Spec{Name: d.name + "-jobs", Component: d.jobs})
	}
	tree, err := lifecycle.New(lifecycle.Config{Name: "worker"}, specs...)
	if err != nil {
		return err
	}
	if err := tree.Start(ctx); err != nil {
		return err
	}

	// Orders arrive over time; each becomes one job per dependency.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	accepted := map[string]int{}
	for order := 1; order <= orders; order++ {
		if order == orders/2 {
			emailUp.Store(true) // email comes back halfway through
		}
		for _, d := range deps {
			if submit(ctx, d, order) == nil {
				accepted[d.name]++
			}
		}
		<-tick.C
	}
	counts := collect(ctx, deps, accepted)

	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stopErr := tree.Stop(stopCtx)
	report(out, deps, orders, accepted, counts, stopErr)
	return stopErr
}

// submit sends one order to d as a job; its answer arrives on d.results.
func submit(ctx context.Context, d *dependency, order int) error {
	return resilience.Submit(ctx, d.pipeline, func(ctx context.Context) (string, error) {
		d.calls.Add(1)
		return d.call(ctx, order)
	}, d.results)
}

// tally counts answers by dependency and kind.
type tally map[string]map[string]int

// collect reads the answer of every accepted job, from every dependency's
// results channel.
func collect(ctx context.Context, deps []*dependency, accepted map[string]int) tally {
	t := tally{}
	for _, d := range deps {
		t[d.name] = map[string]int{}
		for range accepted[d.name] {
			select {
			case res := <-d.results:
				t[d.name][kind(res.Err)]++
			case <-ctx.Done():
				return t
			}
		}
	}
	return t
}

// kind names what a job's answer was.
func kind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, resilience.ErrOpen):
		return "refused: breaker open"
	case errors.Is(err, resilience.ErrRejected):
		return "refused: other"
	}
	return "failed"
}

func report(out io.Writer, deps []*dependency, orders int, accepted map[string]int, t tally, stopErr error) {
	fmt.Fprintf(out, "%d orders, one job per order for each dependency\n", orders)
	for _, d := range deps {
		c := t[d.name]
		answered := c["ok"] + c["failed"] + c["refused: breaker open"] + c["refused: other"]
		fmt.Fprintf(out, "%-9s accepted %3d, answered %3d (lost %d): ok %3d, failed %3d, refused by the open breaker %3d; calls that reached it %3d\n",
			d.name, accepted[d.name], answered, accepted[d.name]-answered, c["ok"], c["failed"], c["refused: breaker open"], d.calls.Load())
	}
	if stopErr != nil {
		fmt.Fprintf(out, "tree stop: %v\n", stopErr)
		return
	}
	fmt.Fprintln(out, "tree stopped cleanly, in reverse start order")
}
