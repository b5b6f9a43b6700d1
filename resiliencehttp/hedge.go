package resiliencehttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/llm-research-lab/resilience"
)

// answer is one hedged attempt's response and what ends it. Attempts run
// side by side, so each keeps its own, and [resilience.Do] releases the
// answers of the attempts that lost.
type answer struct {
	t        *Transport
	resp     *http.Response
	failed   *StatusError // when the status is not a success
	ctx      context.Context
	cancel   context.CancelFunc
	inMemory bool // the body was read into memory
}

// Release drains and closes the response of an attempt that lost and ends
// its context.
func (a *answer) Release() {
	if a.inMemory {
		_ = a.resp.Body.Close()
	} else {
		drainBody(a.resp, a.t.cfg.MaxDrain)
	}
	a.cancel()
	a.t.drained.Add(1)
}

// hedged runs the request through the hedging pipeline: attempts side by
// side, the first acceptable response wins.
func (c *call) hedged() (*http.Response, error) {
	a, err := resilience.Do(c, c.p, c.hedgeAttempt)
	c.closeUnsent()
	if a == nil {
		return nil, err
	}
	if err != nil {
		var se *StatusError
		if !errors.As(err, &se) || se != a.failed || !a.inMemory && a.ctx.Err() != nil {
			a.Release()
			return nil, err
		}
	}
	if !a.inMemory {
		a.resp.Body = &body{rc: a.resp.Body, cancel: a.cancel}
	}
	return a.resp, nil
}

// hedgeAttempt sends the request once, as attempt [resilience.Attempt] of
// a hedged call. Its context is its own, linked to the policy's until the
// response is in: a losing attempt still waiting is cancelled, and the
// winner's body stays readable after the policy returns.
func (c *call) hedgeAttempt(ctx context.Context) (*answer, error) {
	n := resilience.Attempt(ctx)
	var b io.ReadCloser
	switch {
	case n == 1:
		b, c.sent = c.first, true
	case c.rp != nil:
		var err error
		if b, err = c.rp.open(); err != nil {
			return nil, &notSent{reason: "the request body could not be opened again", err: err}
		}
	}
	actx, cancel := ownContext(c.req.Context(), ctx)
	req := c.req.WithContext(resilience.WithAttempt(actx, n))
	if b != nil {
		req.Body = b
		if c.rp != nil {
			req.GetBody = c.rp.open
		}
	}
	stop := context.AfterFunc(ctx, cancel)
	resp, err := c.t.base.RoundTrip(req)
	stop()
	if err != nil {
		cancel()
		return nil, err
	}
	a := &answer{t: c.t, resp: resp, ctx: actx, cancel: cancel}
	o := c.t.outcome(resp)
	if o == resilience.Success {
		return a, nil
	}
	a.failed = &StatusError{Method: req.Method, URL: req.URL, StatusCode: resp.StatusCode, outcome: o}
	if v := resp.Header.Get("Retry-After"); v != "" {
		a.failed.Wait, _ = parseRetryAfter(v, time.Now())
	}
	if c.t.cfg.MaxDrain > 0 && settle(resp, c.t.cfg.MaxDrain) {
		a.inMemory = true
		cancel()
	}
	return a, a.failed
}
