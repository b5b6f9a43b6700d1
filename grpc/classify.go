package resiliencegrpc

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/llm-research-lab/resilience"
)

// maxHint caps a server's RetryInfo delay before the retry policy's own
// MaxDelay clamps it further: a hostile or mistaken value cannot make a
// client wait for days.
const maxHint = 24 * time.Hour

// codeOutcomes is the outcome of each status code for a method that may be
// retried (see [Classify]).
var codeOutcomes = [...]resilience.Outcome{
	codes.OK:                 resilience.Success,
	codes.Canceled:           resilience.Ignored,
	codes.Unknown:            resilience.Failure,
	codes.InvalidArgument:    resilience.Success,
	codes.DeadlineExceeded:   resilience.Failure,
	codes.NotFound:           resilience.Success,
	codes.AlreadyExists:      resilience.Success,
	codes.PermissionDenied:   resilience.Success,
	codes.ResourceExhausted:  resilience.Throttled,
	codes.FailedPrecondition: resilience.Success,
	codes.Aborted:            resilience.Success,
	codes.OutOfRange:         resilience.Success,
	codes.Unimplemented:      resilience.Success,
	codes.Internal:           resilience.Failure,
	codes.Unavailable:        resilience.Failure,
	codes.DataLoss:           resilience.Terminal,
	codes.Unauthenticated:    resilience.Success,
}

// codeOutcome returns the outcome of code; a code outside the table (a
// server may send any number) is a Failure, as codes.Unknown is.
func codeOutcome(c codes.Code) resilience.Outcome {
	if int(c) < len(codeOutcomes) {
		return codeOutcomes[c]
	}
	return resilience.Failure
}

// Classify is the classifier of gRPC results, a func(error)
// resilience.Outcome like [resilience.Classify], for breaker.Config.Classify
// and retry.Config.Classify when gRPC calls are protected without [Client].
// An error that classifies itself (a refusal, a [resilience.Permanent]
// error, a cancellation) keeps its outcome; otherwise the status code
// decides, from the table below; an error that is no status at all is
// classified by [resilience.Classify].
//
//	Success   OK, and the answers of a healthy server to a bad call:
//	          InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
//	          Unauthenticated, FailedPrecondition, OutOfRange,
//	          Unimplemented, Aborted (a conflict, to retry at a higher level)
//	Failure   Unavailable, DeadlineExceeded, Internal, Unknown
//	Terminal  DataLoss
//	Throttled ResourceExhausted (retried after the server's RetryInfo delay)
//	Ignored   Canceled
//
// A call [Client] protects is classified so, then capped by its method's
// idempotency: see [ClientConfig.Idempotent].
func Classify(err error) resilience.Outcome {
	if o := resilience.Classify(err); o != resilience.Failure {
		return o
	}
	var s interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &s) {
		return resilience.Failure
	}
	return codeOutcome(s.GRPCStatus().Code())
}

// attemptError is an attempt's status error as [Client] hands it to its
// pipeline: it classifies itself (Outcome), carries the server's retry
// hint (RetryAfter) and keeps the status (GRPCStatus), so the breaker, the
// retry policy and status.FromError all read it with no configuration.
type attemptError struct {
	err     error // as the invoker returned it
	st      *status.Status
	outcome resilience.Outcome
	wait    time.Duration
}

func (e *attemptError) Error() string               { return e.err.Error() }
func (e *attemptError) Unwrap() error               { return e.err }
func (e *attemptError) GRPCStatus() *status.Status  { return e.st }
func (e *attemptError) Outcome() resilience.Outcome { return e.outcome }
func (e *attemptError) RetryAfter() time.Duration   { return e.wait }

// classifyAttempt wraps an attempt's error for the pipeline. caller is the
// context of the whole call: once it has ended, the attempt says nothing
// about the server. A method that may not be retried keeps the breaker's
// view of the result but stops the retry loop: a Failure becomes
// Terminal, a Throttled answer Ignored.
func classifyAttempt(caller context.Context, idempotent bool, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err // not from the transport: the pipeline classifies it
	}
	e := &attemptError{err: err, st: st, outcome: codeOutcome(st.Code()), wait: hint(st)}
	switch {
	case caller.Err() != nil:
		e.outcome = resilience.Ignored
	case idempotent:
	case e.outcome == resilience.Failure:
		e.outcome = resilience.Terminal
	case e.outcome == resilience.Throttled:
		e.outcome = resilience.Ignored
	}
	return e
}

// hint returns the delay of a google.rpc.RetryInfo detail in st, clamped
// to [0, maxHint]; 0 when there is none.
func hint(st *status.Status) time.Duration {
	for _, d := range st.Details() { // no allocation when there are none
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return clampHint(ri.GetRetryDelay().AsDuration())
		}
	}
	return 0
}

func clampHint(d time.Duration) time.Duration {
	return min(max(d, 0), maxHint)
}

// callError is what a protected call returns when it failed: the
// pipeline's error (a *retry.Error, a refusal, a timeout) with the gRPC
// status the caller expects, so both errors.As and status.FromError work.
type callError struct {
	err error
	st  *status.Status
}

func (e *callError) Error() string              { return e.err.Error() }
func (e *callError) Unwrap() error              { return e.err }
func (e *callError) GRPCStatus() *status.Status { return e.st }

// callResult turns the pipeline's error into the call's: the last
// attempt's status when an attempt reached the server, otherwise a status
// that says what the client did (see localCode).
func callResult(err error) error {
	if err == nil {
		return nil
	}
	if ae, ok := err.(*attemptError); ok {
		return ae
	}
	var ae *attemptError
	if errors.As(err, &ae) {
		return &callError{err: err, st: ae.st}
	}
	return &callError{err: err, st: status.New(localCode(err), err.Error())}
}

// localCode is the status code of a call the client ended itself: a
// timeout is DeadlineExceeded, a cancellation Canceled, a refusal by an
// open breaker or a stopped component Unavailable, any other refusal (a
// full bulkhead, a rate limit, a retry budget) ResourceExhausted.
func localCode(err error) codes.Code {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, resilience.ErrOpen), errors.Is(err, resilience.ErrStopped):
		return codes.Unavailable
	case errors.Is(err, resilience.ErrRejected):
		return codes.ResourceExhausted
	}
	return codes.Unknown
}
