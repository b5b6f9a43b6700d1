package resiliencegrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
)

// ClientConfig configures [NewClient]. The zero value is valid: calls go
// through the zero Pipeline (straight to the server), with no breaker.
type ClientConfig struct {
	// Pipeline holds the policies every call goes through, in its fixed
	// order: Limiter → Timeout → Retry → Breaker → Bulkhead →
	// AttemptTimeout. Timeout becomes the call's deadline and
	// AttemptTimeout each attempt's, both sent to the server as the gRPC
	// deadline. Its Breaker, if set, is shared by every method; leave it
	// nil when Breakers is set. The Pipeline is copied.
	Pipeline resilience.Pipeline
	// Breakers, if set, supplies the breaker of each call: the family's
	// breaker for Key(target, method), so a failing method of one server
	// does not stop calls to the others. The family is the caller's to
	// stop. nil means the Pipeline's Breaker (or none).
	Breakers *breaker.Family[string]
	// Key names a call's breaker in Breakers, from the connection's target
	// (grpc.ClientConn.Target) and the full method name
	// ("/package.Service/Method"). nil means target + method.
	Key func(target, method string) string
	// Idempotent reports whether a method may be retried after the
	// server saw it: only then are Failure and Throttled answers retried.
	// Other methods are still counted by the breaker, and a refusal by
	// a policy of the Pipeline (a call that never left) is retried for
	// every method. nil means [ProtoIdempotent]: what the method's
	// proto declares with option idempotency_level.
	Idempotent func(fullMethod string) bool
}

// Client holds gRPC client interceptors that run each call through a
// [resilience.Pipeline]: [Client.Unary] and [Client.Stream], given to
// grpc.NewClient with grpc.WithUnaryInterceptor and
// grpc.WithStreamInterceptor. Errors keep their gRPC status: the last
// attempt's status when one reached the server; otherwise Unavailable for
// an open breaker, ResourceExhausted for another refusal,
// DeadlineExceeded for a timeout. errors.As and errors.Is see the
// pipeline's error beneath (a *retry.Error, a
// *resilience.RejectedError, a *resilience.TimeoutError).
//
// A Client is safe for concurrent use and owns no goroutine; create it
// with [NewClient].
type Client struct {
	unary      resilience.Pipeline // the configured pipeline
	stream     resilience.Pipeline // the same, without breaker and timeouts
	breakers   *breaker.Family[string]
	key        func(target, method string) string
	idempotent func(string) bool
}

// NewClient returns a Client, or a [*resilience.ConfigError] if both
// Pipeline.Breaker and Breakers are set.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Breakers != nil && cfg.Pipeline.Breaker != nil {
		return nil, &resilience.ConfigError{Field: "resiliencegrpc.ClientConfig.Pipeline.Breaker", Reason: "must be nil when Breakers is set"}
	}
	c := &Client{unary: cfg.Pipeline, breakers: cfg.Breakers, key: cfg.Key, idempotent: cfg.Idempotent}
	if c.key == nil {
		c.key = defaultKey
	}
	if c.idempotent == nil {
		c.idempotent = ProtoIdempotent
	}
	c.stream = cfg.Pipeline
	c.stream.Breaker, c.stream.Timeout, c.stream.AttemptTimeout = nil, 0, 0
	return c, nil
}

func defaultKey(target, method string) string { return target + method }

// Unary is a grpc.UnaryClientInterceptor: it runs the call through the
// pipeline, with the breaker of its target and method. Each attempt gets
// a context bounded by the pipeline's timeouts, which gRPC sends to the
// server as the deadline; ctx's own deadline bounds them all. A hedging
// policy in the Retry slot may run attempts side by side: each then
// decodes into a reply of its own, and the winner's is copied into reply.
func (c *Client) Unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	u := &unaryCall{caller: ctx, method: method, req: req, reply: reply, cc: cc, invoker: invoker, opts: opts, idempotent: c.idempotent(method)}
	p := &c.unary
	if c.breakers != nil {
		b, err := c.breakers.For(c.key(target(cc), method))
		if err != nil {
			return callResult(err)
		}
		u.keyed = c.unary // in u: one allocation for both
		u.keyed.Breaker = b
		p = &u.keyed
	}
	err := p.Run(ctx, u.attempt)
	if u.answer != nil {
		copyReply(u.reply, u.answer)
	}
	return callResult(err)
}

// Stream is a grpc.StreamClientInterceptor that protects the opening of a
// stream: the breaker admits it, the Limiter and Bulkhead bound it, and
// the Retry policy opens it again if opening failed. Once open, the
// stream is the caller's: messages within it are never retried, and
// Timeout and AttemptTimeout do not apply (a stream may outlive them;
// bound it with ctx). The breaker learns the stream's result when it
// ends: RecvMsg returning io.EOF (success) or a status, or ctx ending
// (not counted).
func (c *Client) Stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	gate := c.unary.Breaker
	if c.breakers != nil {
		b, err := c.breakers.For(c.key(target(cc), method))
		if err != nil {
			return nil, callResult(err)
		}
		gate = b
	}
	o := opener{caller: ctx, gate: gate, idempotent: c.idempotent(method), serverStreams: desc.ServerStreams}
	var cs grpc.ClientStream
	err := c.stream.Run(ctx, func(attempt context.Context) error {
		s, err := o.open(attempt, func(ctx context.Context) (grpc.ClientStream, error) {
			return streamer(ctx, desc, cc, method, opts...)
		})
		cs = s
		return err
	})
	if err != nil {
		return nil, callResult(err)
	}
	return cs, nil
}

// target returns cc's target; "" for a nil connection.
func target(cc *grpc.ClientConn) string {
	if cc == nil {
		return ""
	}
	return cc.Target()
}
