package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/retry"
)

// settlement is the demo's job side: a worker that sends a settlement job
// to the payments upstream every interval with resilience.Submit, over
// channels. Each job queues in the payments bulkhead (the dependency's job
// actor), runs on one of its workers through the payments breaker, waits
// out its retries in the bulkhead's delay heap rather than on a goroutine,
// and answers exactly once on the worker's results channel.
type settlement struct {
	pipeline *resilience.Pipeline
	client   *http.Client
	url      string
	every    time.Duration
	results  chan resilience.Result[int]
	active   atomic.Bool // jobs are sent only while set: during the pass with the library

	submitted atomic.Int64 // accepted by Submit
	refused   atomic.Int64 // refused by Submit at once (queue full, breaker open)
	ok        atomic.Int64 // answered: settled
	fastFail  atomic.Int64 // answered: refused by the open breaker
	failed    atomic.Int64 // answered: the upstream failed every attempt
	cancelled atomic.Int64 // answered: cut short by the shutdown
	requests  atomic.Int64 // attempts that reached the network
}

// jobStats is a snapshot of a settlement's counters.
type jobStats struct{ submitted, refused, ok, fastFail, failed, cancelled, requests int64 }

func (s *settlement) stats() jobStats {
	return jobStats{s.submitted.Load(), s.refused.Load(), s.ok.Load(), s.fastFail.Load(), s.failed.Load(), s.cancelled.Load(), s.requests.Load()}
}

func (a jobStats) minus(b jobStats) jobStats {
	return jobStats{a.submitted - b.submitted, a.refused - b.refused, a.ok - b.ok, a.fastFail - b.fastFail,
		a.failed - b.failed, a.cancelled - b.cancelled, a.requests - b.requests}
}

// answered is how many accepted jobs have had their one answer.
func (a jobStats) answered() int64 { return a.ok + a.fastFail + a.failed + a.cancelled }

// newSettlement builds the payments job bulkhead and the settlement
// worker that feeds it.
func newSettlement(b *backend, base http.RoundTripper, timer *deadline.Watchdog, rnd *lockedRand) (*bulkhead.Bulkhead, *settlement, error) {
	jobs, err := bulkhead.New(bulkhead.Config{Name: b.name + "-jobs", MaxConcurrent: 4, MaxQueue: 32})
	if err != nil {
		return nil, nil, err
	}
	r, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: 20 * time.Millisecond, MaxDelay: 400 * time.Millisecond, Rand: rnd})
	if err != nil {
		return nil, nil, err
	}
	s := &settlement{
		pipeline: &resilience.Pipeline{Name: "settle", Retry: r, Breaker: b.breaker, Bulkhead: jobs, AttemptTimeout: 100 * time.Millisecond, Timer: timer},
		client:   &http.Client{Transport: base},
		url:      b.url + "/settle",
		every:    50 * time.Millisecond,
		results:  make(chan resilience.Result[int], 64),
	}
	return jobs, s, nil
}

// run submits a job every interval until ctx ends, counts the answers as
// they arrive, and before returning waits for the answer of every job
// still in flight: their contexts end with ctx, so they answer promptly,
// and none is lost.
func (s *settlement) run(ctx context.Context) error {
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	pending := 0
	for ctx.Err() == nil {
		select {
		case <-tick.C:
			if s.active.Load() && s.submit(ctx) {
				pending++
			}
		case res := <-s.results:
			pending--
			s.count(res.Err)
		case <-ctx.Done():
		}
	}
	for ; pending > 0; pending-- {
		s.count((<-s.results).Err)
	}
	return nil
}

// settled waits, up to limit, until every job accepted so far has had its
// answer, so that a pass's report counts them all.
func (s *settlement) settled(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.stats().answered() < s.submitted.Load() && time.Now().Before(deadline) {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// submit sends one job, reporting whether it was accepted.
func (s *settlement) submit(ctx context.Context) bool {
	err := resilience.Submit(ctx, s.pipeline, s.settleOne, s.results)
	if err != nil {
		s.refused.Add(1)
		return false
	}
	s.submitted.Add(1)
	return true
}

// settleOne is one attempt of a job: a GET of the upstream's /settle.
func (s *settlement) settleOne(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return 0, err
	}
	s.requests.Add(1)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, &statusError{upstream: "payments", code: resp.StatusCode}
	}
	return resp.StatusCode, nil
}

func (s *settlement) count(err error) {
	switch {
	case err == nil:
		s.ok.Add(1)
	case errors.Is(err, context.Canceled) || errors.Is(err, resilience.ErrStopped):
		s.cancelled.Add(1)
	case lastIsOpen(err):
		s.fastFail.Add(1)
	default:
		s.failed.Add(1)
	}
}

// lastIsOpen says whether a job ended on an open breaker's refusal.
func lastIsOpen(err error) bool {
	var re *retry.Error
	if errors.As(err, &re) && re.Last != nil {
		err = re.Last
	}
	return errors.Is(err, resilience.ErrOpen)
}

// String is the one-line report of a pass's jobs.
func (a jobStats) String() string {
	return fmt.Sprintf("submitted %d (refused at once %d); answered %d: settled %d, failed fast on the open breaker %d, failed %d, cut short by shutdown %d; lost %d; attempts that reached payments %d",
		a.submitted, a.refused, a.answered(), a.ok, a.fastFail, a.failed, a.cancelled, a.submitted-a.answered(), a.requests)
}
