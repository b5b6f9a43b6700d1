package resiliencehttp

import (
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/llm-research-lab/resilience"
)

// Transport is an http.RoundTripper that sends each request through a
// [resilience.Pipeline]: per-upstream breakers, retries of the requests
// that may be sent twice, replayed bodies, timeouts that leave the final
// body readable, and the remaining budget sent downstream. Build it with
// [New] and give it to an http.Client; it is safe for concurrent use.
type Transport struct {
	cfg    Config
	base   http.RoundTripper   // cfg.Base behind the deadline header writer
	pipe   resilience.Pipeline // the policies, copied from cfg.Pipeline
	once   resilience.Pipeline // pipe without its Retry, for requests sent once
	hedged resilience.Pipeline // pipe with cfg.Hedge in its Retry slot
	timed  bool                // attempts get a context of their own

	retries, notRetried, budgetRefused, drained atomic.Uint64
}

var _ http.RoundTripper = (*Transport)(nil)

// New returns a Transport for cfg, or a [*resilience.ConfigError] naming
// the first invalid field.
func New(cfg Config) (*Transport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	t := &Transport{cfg: cfg, base: wrapBase(cfg.Base)}
	if cfg.Pipeline != nil {
		t.pipe = *cfg.Pipeline
		t.once = t.pipe
		t.once.Retry = nil
		t.timed = t.pipe.Timeout > 0 || t.pipe.AttemptTimeout > 0
	}
	if cfg.Hedge != nil {
		t.hedged = t.pipe
		t.hedged.Retry = cfg.Hedge
		if t.pipe.Retry == resilience.Policy(cfg.Hedge) {
			t.pipe.Retry = nil // it runs attempts side by side: only hedged requests take it
		}
	}
	return t, nil
}

// Metrics counts what a Transport did beyond sending requests once. The
// policies count the rest: the breakers their calls and refusals
// (breaker.Metrics, breaker.Config.Events), the retry policy each retry
// with its wait and error (retry.Config.Events).
type Metrics struct {
	Retries       uint64 // attempts sent after a first one
	NotRetried    uint64 // requests that failed in a way worth retrying but were sent once: see Config.RetryAllMethods, Config.MaxBodyBuffer
	BudgetRefused uint64 // retries refused by Config.Budget
	Drained       uint64 // responses not returned (failed attempts, hedges that lost) drained and closed
}

// Metrics returns a snapshot of the counters.
func (t *Transport) Metrics() Metrics {
	return Metrics{
		Retries:       t.retries.Load(),
		NotRetried:    t.notRetried.Load(),
		BudgetRefused: t.budgetRefused.Load(),
		Drained:       t.drained.Load(),
	}
}

// RoundTrip sends r through the pipeline and returns the last attempt's
// response, whatever its status, or the error that ended the request: a
// refusal of a policy, a timeout, the last attempt's transport error. r is
// not modified. A request whose context is already done is not sent.
//
// Only requests that may be sent twice are retried: idempotent methods,
// requests with an Idempotency-Key header, or all with
// Config.RetryAllMethods; and only if the body can be sent again (see
// Config.MaxBodyBuffer). The response of every attempt but the last is
// drained and closed. The last one's body stays readable until it is
// read to its end or closed, or its context's deadline passes.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL == nil {
		closeRequestBody(r)
		return nil, errNilURL
	}
	if err := r.Context().Err(); err != nil {
		closeRequestBody(r)
		return nil, err
	}
	c := &call{Context: r.Context(), t: t, req: r, p: &t.pipe}
	if err := c.prepare(); err != nil {
		return nil, err
	}
	if c.hedge {
		return c.hedged()
	}
	return c.finish(c.p.Run(c, attempt))
}

var errNilURL = errors.New("resiliencehttp: the request has no URL")

// closeRequestBody closes r's body, as a RoundTripper must even when it
// sends nothing.
func closeRequestBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}
