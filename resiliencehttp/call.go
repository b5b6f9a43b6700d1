package resiliencehttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/retry"
)

// call is one request on its way through the pipeline. It is also the
// context the pipeline runs in: the request's own, through which
// [attempt] finds the call, so that handing it to the pipeline costs no
// closure.
type call struct {
	context.Context // the request's

	t     *Transport
	req   *http.Request
	p     *resilience.Pipeline // the Transport's, or a copy with this upstream's breaker
	allow retry.Allowance      // this upstream's retry budget, if any
	rp    *replay              // how to send the body again, if it can be
	first io.ReadCloser        // the first attempt's body when it is not req.Body
	sent  bool                 // the first attempt took its body
	why   string               // why the request is sent only once, if it is
	hedge bool                 // the request is hedged
	n     int                  // attempts begun
	err   error                // the last attempt's error

	// The response of the last attempt, still open, and its context.
	resp     *http.Response
	failed   *StatusError // resp's status error when it failed
	inMemory bool         // resp's body was read into memory
	actx     context.Context
	cancel   context.CancelFunc
}

// prepare decides whether the request may be retried, makes its body
// replayable if so, and picks its upstream's breaker and budget.
func (c *call) prepare() error {
	r, cfg := c.req, &c.t.cfg
	c.hedge = cfg.Hedge != nil && idempotent(r)
	switch {
	case c.p.Retry == nil && !c.hedge:
	case !c.hedge && !cfg.RetryAllMethods && !idempotent(r):
		c.why = r.Method + " is not idempotent: set an Idempotency-Key header or Config.RetryAllMethods"
	default:
		b, err := prepareBody(r, cfg.MaxBodyBuffer)
		if err != nil {
			return err
		}
		c.rp, c.first, c.why = b.rp, b.first, b.why
	}
	switch {
	case c.why != "":
		c.p, c.hedge = &c.t.once, false
	case c.hedge:
		c.p = &c.t.hedged
	}
	if cfg.PerHost == nil && cfg.Budget == nil {
		return nil
	}
	key := cfg.Key(r)
	if cfg.PerHost != nil {
		b, err := cfg.PerHost.For(key)
		if err != nil {
			c.closeUnsent()
			return err
		}
		p := *c.p
		p.Breaker = b
		c.p = &p
	}
	if cfg.Budget != nil {
		c.allow = cfg.Budget(key)
	}
	return nil
}

type callKey struct{}

// Value returns the call itself for callKey, and the request context's
// values for other keys.
func (c *call) Value(key any) any {
	if key == (callKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// attempt sends the request once, unless the upstream's retry budget
// refuses a retry: the previous attempt's error, or response, then ends
// the request.
func attempt(ctx context.Context) error {
	c := ctx.Value(callKey{}).(*call)
	c.n++
	if c.n > 1 {
		if c.allow != nil && !c.allow.Retry() {
			c.t.budgetRefused.Add(1)
			return &notSent{reason: "the upstream's retry budget is spent", err: c.err}
		}
		c.discard()
		c.t.retries.Add(1)
	}
	c.err = c.send(ctx)
	return c.err
}

// send sends the request once. A response whose status is not a success
// is kept open, as the answer if no other attempt follows, and returned
// to the policies as a *StatusError.
func (c *call) send(ctx context.Context) error {
	req, err := c.request(ctx)
	if err != nil {
		return err
	}
	resp, err := c.roundTrip(ctx, req)
	if err != nil {
		c.endAttempt()
		return c.notRetried(err)
	}
	c.resp = resp
	o := c.t.outcome(resp)
	if o == resilience.Success {
		return nil
	}
	c.failed = &StatusError{Method: req.Method, URL: req.URL, StatusCode: resp.StatusCode, outcome: o}
	if v := resp.Header.Get("Retry-After"); v != "" {
		c.failed.Wait, _ = parseRetryAfter(v, time.Now())
	}
	if c.why != "" && (o == resilience.Failure || o == resilience.Throttled) {
		c.t.notRetried.Add(1)
	}
	if c.p.Retry != nil && c.t.cfg.MaxDrain > 0 && settle(resp, c.t.cfg.MaxDrain) {
		c.inMemory = true
		c.endAttempt() // the connection is free during the wait
	}
	return c.failed
}

// roundTrip sends req through the base. While it waits for the response,
// the policy's context ending (a hedge that lost, a policy's own timer)
// ends the attempt's own context too; once the response is in, only the
// attempt's deadline, the body's end or its Close ends it.
func (c *call) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	if c.cancel == nil || ctx.Done() == c.req.Context().Done() {
		return c.t.base.RoundTrip(req)
	}
	stop := context.AfterFunc(ctx, c.cancel)
	defer stop()
	return c.t.base.RoundTrip(req)
}

// request returns the request of the next attempt: the caller's, or a
// copy with the attempt's context and a fresh body. When the pipeline
// times attempts, the attempt's context is a child of the request's own
// with the pipeline's deadline, so that it ends at that deadline or when
// the response body is done with, not when the pipeline returns.
func (c *call) request(ctx context.Context) (*http.Request, error) {
	r := c.req
	c.actx, c.cancel = ctx, nil
	if c.t.timed || ctx.Done() != r.Context().Done() {
		c.actx, c.cancel = ownContext(r.Context(), ctx)
		if c.n > 1 {
			c.actx = resilience.WithAttempt(c.actx, c.n)
		}
	}
	var b io.ReadCloser
	switch {
	case c.n == 1:
		b, c.sent = c.first, true
	case c.rp != nil:
		var err error
		if b, err = c.rp.open(); err != nil {
			c.endAttempt()
			return nil, &notSent{reason: "the request body could not be opened again", err: err}
		}
	}
	if b == nil && c.n == 1 && c.cancel == nil {
		return r, nil
	}
	r2 := r.WithContext(c.actx)
	if b != nil {
		r2.Body = b
		if c.rp != nil {
			r2.GetBody = c.rp.open
		}
	}
	return r2, nil
}

// ownContext returns the context of an attempt that the policy runs in
// ctx, a context that may end before the response's body is read: a
// child of parent, the request's, with ctx's deadline.
func ownContext(parent, ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(parent, dl)
	}
	return context.WithCancel(parent)
}

// endAttempt ends the last attempt's context, if it has one of its own.
func (c *call) endAttempt() {
	if c.cancel != nil {
		c.cancel()
	}
	c.actx, c.cancel = nil, nil
}

// notRetried says why a failed attempt that was worth retrying was not.
func (c *call) notRetried(err error) error {
	if c.why == "" {
		return err
	}
	if o := resilience.Classify(err); o != resilience.Failure && o != resilience.Throttled {
		return err
	}
	c.t.notRetried.Add(1)
	return &onceError{err: err, why: c.why}
}

// finish turns the pipeline's result into RoundTrip's: the last response
// if the last attempt produced one that is still readable, or else the
// error.
func (c *call) finish(err error) (*http.Response, error) {
	c.closeUnsent()
	if c.allow != nil {
		c.allow.Done(err == nil)
	}
	if c.resp == nil {
		return nil, err
	}
	if err != nil {
		var se *StatusError
		if !errors.As(err, &se) || se != c.failed || c.actx != nil && c.actx.Err() != nil {
			c.discard()
			return nil, err
		}
	}
	resp := c.resp
	if c.cancel != nil {
		resp.Body = &body{rc: resp.Body, cancel: c.cancel}
	}
	return resp, nil
}

// discard drains and closes the kept response and ends its context.
func (c *call) discard() {
	if c.resp == nil {
		return
	}
	if c.inMemory {
		_ = c.resp.Body.Close()
	} else {
		drainBody(c.resp, c.t.cfg.MaxDrain)
	}
	c.endAttempt()
	c.t.drained.Add(1)
	c.resp, c.failed, c.inMemory = nil, nil, false
}

// closeUnsent closes the request body if no attempt took it.
func (c *call) closeUnsent() {
	if c.sent {
		return
	}
	c.sent = true
	if c.first != nil {
		_ = c.first.Close()
		return
	}
	closeRequestBody(c.req)
}

// outcome classifies a response.
func (t *Transport) outcome(resp *http.Response) resilience.Outcome {
	o := statusOutcome(resp.StatusCode)
	if so, ok := t.cfg.Statuses[resp.StatusCode]; ok {
		o = so
	}
	if t.cfg.Classify != nil {
		o = t.cfg.Classify(resp, o)
	}
	return o
}
