package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/llm-research-lab/resilience/actor"
)

// job is a unit of work: square n.
type job struct{ id, n int }

// result is what a worker reports to the collector.
type result struct {
	worker string
	id     int
	square int
}

// collectorMsg is the collector's closed set of messages: a result to add,
// or a request for the total so far.
type collectorMsg struct {
	result *result
	total  actor.Reply[summary]
}

type summary struct {
	results int
	sum     int
	by      map[string]int
}

// collector sums the results it receives.
type collector struct{ s summary }

func (c *collector) Receive(_ *actor.Self[collectorMsg], m collectorMsg) {
	if m.result != nil {
		c.s.results++
		c.s.sum += m.result.square
		c.s.by[m.result.worker]++
	}
	m.total.Send(c.s)
}

// worker squares numbers and tells the collector, never blocking on it.
type worker struct {
	name    string
	out     *actor.Actor[collectorMsg]
	dropped int
}

func (w *worker) Receive(_ *actor.Self[job], j job) {
	r := &result{worker: w.name, id: j.id, square: j.n * j.n}
	if err := w.out.Tell(collectorMsg{result: r}); err != nil {
		w.dropped++
	}
}

// run spawns one collector and three workers, sends them jobs round-robin,
// stops the workers (draining them) and then the collector, and checks that
// every job was accounted for.
func run(ctx context.Context, out io.Writer) error {
	coll, err := actor.Spawn[collectorMsg](actor.Config{Name: "collector", Mailbox: 256}, &collector{s: summary{by: map[string]int{}}})
	if err != nil {
		return err
	}
	workers := make([]*actor.Actor[job], 3)
	for i := range workers {
		name := fmt.Sprintf("worker-%d", i+1)
		workers[i], err = actor.Spawn[job](actor.Config{Name: name, Mailbox: 32}, &worker{name: name, out: coll})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "spawned %s (mailbox %d)\n", name, workers[i].Cap())
	}

	const jobs = 60
	accepted, full := 0, 0
	for id := range jobs {
		w := workers[id%len(workers)]
		switch err := w.Send(ctx, job{id: id, n: id}); {
		case err == nil:
			accepted++
		case errors.Is(err, actor.ErrMailboxFull):
			full++
		default:
			return err
		}
	}
	fmt.Fprintf(out, "sent %d jobs: %d accepted, %d refused\n", jobs, accepted, full)

	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	undelivered := 0
	for _, w := range workers { // producers first, then the consumer
		n, err := w.Stop(stopCtx, actor.Drain)
		if err != nil {
			return fmt.Errorf("stop %s: %w", w.Name(), err)
		}
		undelivered += n
		fmt.Fprintf(out, "stopped %s: handled %d, undelivered %d\n", w.Name(), w.Handled(), n)
	}
	total, err := actor.Ask(stopCtx, coll, func(r actor.Reply[summary]) collectorMsg { return collectorMsg{total: r} })
	if err != nil {
		return err
	}
	if _, err := coll.Stop(stopCtx, actor.Drain); err != nil {
		return fmt.Errorf("stop collector: %w", err)
	}
	fmt.Fprintf(out, "collector: %d results, sum of squares %d, per worker %v\n", total.results, total.sum, total.by)
	fmt.Fprintf(out, "after stop, Tell says: %v\n", coll.Tell(collectorMsg{}))
	if total.results+undelivered != accepted {
		return fmt.Errorf("lost jobs: accepted %d, collected %d, undelivered %d", accepted, total.results, undelivered)
	}
	fmt.Fprintln(out, "every accepted job was accounted for")
	return nil
}
