package main

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// answerTimeout is how long the load driver waits for an answer. Every
// gateway route answers well within it; a request still unanswered then
// breaks the demo's first invariant.
const answerTimeout = 10 * time.Second

// sample is one request the load driver made.
type sample struct {
	route   string
	start   time.Time
	latency time.Duration
	status  int
	outcome string // the gateway's X-Outcome, or derived from the status
	err     error  // non-nil: no answer
}

// recorder collects samples in the order the requests finished.
type recorder struct {
	mu      sync.Mutex
	samples []sample
}

func (r *recorder) add(s sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, s)
}

// since returns the samples recorded after the first n, and the new count.
func (r *recorder) since(n int) ([]sample, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sample(nil), r.samples[n:]...), len(r.samples)
}

// loadDriver sends requests to a gateway at a fixed rate per route, open
// loop: a slow gateway does not slow the load down, as with real users.
type loadDriver struct {
	client *http.Client
	base   string   // the gateway's URL
	routes []string // route names, requested as /api/<name>
	rate   int      // requests per second per route
	rec    *recorder
}

// run sends for d (or until ctx ends), then waits for every answer.
func (l *loadDriver) run(ctx context.Context, d time.Duration) {
	sendCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var inflight, senders sync.WaitGroup
	for _, rt := range l.routes {
		senders.Go(func() { l.send(sendCtx, rt, &inflight) })
	}
	senders.Wait()
	inflight.Wait()
}

func (l *loadDriver) send(ctx context.Context, route string, inflight *sync.WaitGroup) {
	t := time.NewTicker(time.Second / time.Duration(l.rate))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			inflight.Go(func() { l.rec.add(l.one(route)) })
		}
	}
}

// one makes one request and describes what came back.
func (l *loadDriver) one(route string) sample {
	ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
	defer cancel()
	s := sample{route: route, start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.base+"/api/"+route, nil)
	if err != nil {
		s.err = err
		return s
	}
	resp, err := l.client.Do(req)
	if err != nil {
		s.err, s.latency = err, time.Since(s.start)
		return s
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	s.latency, s.status = time.Since(s.start), resp.StatusCode
	s.outcome = resp.Header.Get("X-Outcome")
	if s.outcome == "" { // answered by the deadline middleware or the shutdown gate
		s.outcome = outcomeError
		if resp.StatusCode == http.StatusGatewayTimeout {
			s.outcome = outcomeTimeout
		}
	}
	return s
}
