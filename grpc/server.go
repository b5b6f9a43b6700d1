package resiliencegrpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/lifecycle"
)

// healthPrefix starts the full method names of the standard health
// service, which the server interceptors never refuse.
const healthPrefix = "/grpc.health.v1.Health/"

// ServerConfig configures [NewServer]. The zero value is valid and admits
// every call.
type ServerConfig struct {
	// Gate admits or refuses each call before its handler runs: a
	// *bulkhead.Bulkhead (with MaxQueue 0 it sheds the excess at once;
	// with a queue, calls wait for a slot), a *limit.Rate, or any
	// resilience.Gate. nil admits every call.
	Gate resilience.Gate
	// ShedCode answers a call the Gate refused: codes.ResourceExhausted
	// or codes.Unavailable. 0 (codes.OK) means ResourceExhausted, which
	// a [Client] does not count against the server's breaker and retries
	// after the delay the refusal carries. The answer carries a
	// google.rpc.RetryInfo detail when the Gate says when it will admit
	// calls again (a *limit.Rate does).
	ShedCode codes.Code
	// Coordinator, if set, ties the server to the process's shutdown:
	// each call holds a Coordinator.Acquire guard while it runs, so the
	// shutdown waits for calls in flight, and once the shutdown has
	// passed its propagation delay new calls are answered Unavailable.
	Coordinator *lifecycle.Coordinator
	// Health, if set, is switched to NOT_SERVING for every service
	// (health.Server.Shutdown) once the Coordinator's shutdown has begun.
	// It requires Coordinator. The switch happens at the first call the
	// server receives after that; a health check is such a call.
	Health *health.Server
}

// Server holds gRPC server interceptors, [Server.Unary] and
// [Server.Stream], given to grpc.NewServer with grpc.UnaryInterceptor and
// grpc.StreamInterceptor (or their Chain forms). They shed load with the
// Gate and tie the server to the shutdown; the standard health service's
// calls are never refused, so probes are answered under load and while
// draining. A Server is safe for concurrent use and owns no goroutine;
// create it with [NewServer].
type Server struct {
	gate     resilience.Gate
	code     codes.Code
	coord    *lifecycle.Coordinator
	health   *health.Server
	shed     error // the Gate's refusal when it gives no delay
	draining error // the answer once the shutdown refuses calls
	flipped  atomic.Bool
}

// NewServer returns a Server, or a [*resilience.ConfigError] for an
// invalid ShedCode or a Health without Coordinator.
func NewServer(cfg ServerConfig) (*Server, error) {
	switch cfg.ShedCode {
	case codes.OK:
		cfg.ShedCode = codes.ResourceExhausted
	case codes.ResourceExhausted, codes.Unavailable:
	default:
		return nil, &resilience.ConfigError{Field: "resiliencegrpc.ServerConfig.ShedCode",
			Reason: fmt.Sprintf("must be ResourceExhausted or Unavailable, got %v", cfg.ShedCode)}
	}
	if cfg.Health != nil && cfg.Coordinator == nil {
		return nil, &resilience.ConfigError{Field: "resiliencegrpc.ServerConfig.Health", Reason: "requires Coordinator"}
	}
	return &Server{
		gate: cfg.Gate, code: cfg.ShedCode, coord: cfg.Coordinator, health: cfg.Health,
		shed:     status.Error(cfg.ShedCode, "resiliencegrpc: server busy"),
		draining: status.Error(codes.Unavailable, "resiliencegrpc: server shutting down"),
	}, nil
}

// Unary is a grpc.UnaryServerInterceptor: it admits the call, runs the
// handler, and answers a refused call at once without running it.
func (s *Server) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	a, err := s.admit(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	returned := false
	defer func() { a.end(err, returned) }()
	resp, err = handler(ctx, req)
	returned = true
	return resp, err
}

// Stream is a grpc.StreamServerInterceptor: it admits the stream, which
// holds its place in the Gate and the shutdown until the handler returns.
func (s *Server) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	a, err := s.admit(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	returned := false
	defer func() { a.end(err, returned) }()
	err = handler(srv, ss)
	returned = true
	return err
}

// admission is what an admitted call holds: its shutdown guard and its
// Gate's done, either possibly nil.
type admission struct {
	release func()
	done    func(error)
}

// end gives the admission back; a handler that did not return (it
// panicked) is reported to the Gate as such.
func (a admission) end(err error, returned bool) {
	if a.done != nil {
		if !returned {
			err = errPanickedHandler
		}
		a.done(err)
	}
	if a.release != nil {
		a.release()
	}
}

var errPanickedHandler = &resilience.PanicError{Value: "the handler panicked"}

// admit admits a call to method or returns the status that refuses it.
func (s *Server) admit(ctx context.Context, method string) (admission, error) {
	s.watchShutdown()
	if strings.HasPrefix(method, healthPrefix) {
		return admission{}, nil
	}
	var a admission
	if s.coord != nil {
		release, err := s.coord.Acquire()
		if err != nil {
			return a, s.draining
		}
		a.release = release
	}
	if s.gate != nil {
		done, err := s.gate.Allow(ctx)
		if err != nil {
			a.end(nil, true)
			return admission{}, s.refusal(err)
		}
		a.done = done
	}
	return a, nil
}

// watchShutdown switches the health service to NOT_SERVING once the
// shutdown has begun.
func (s *Server) watchShutdown() {
	if s.health == nil || s.flipped.Load() || !s.coord.ShuttingDown() {
		return
	}
	if s.flipped.CompareAndSwap(false, true) {
		s.health.Shutdown()
	}
}

// refusal is the answer to a call the Gate refused: ShedCode, with a
// RetryInfo detail when the refusal says how long to wait.
func (s *Server) refusal(err error) error {
	var re *resilience.RejectedError
	if !errors.As(err, &re) {
		return s.shed
	}
	wait := re.RetryAfter()
	if wait <= 0 {
		return s.shed
	}
	st, derr := status.New(s.code, "resiliencegrpc: server busy").
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)})
	if derr != nil {
		return s.shed
	}
	return st.Err()
}
