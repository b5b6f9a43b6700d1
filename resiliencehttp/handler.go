package resiliencehttp

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/lifecycle"
)

// defaultMaxRetryAfter is the MaxRetryAfter of a zero HandlerConfig.
const defaultMaxRetryAfter = 30 * time.Second

// HandlerConfig configures [Middleware]. The zero value is valid: no
// shutdown tracking, no admission limit, and every request bounded by 30
// seconds or by the caller's remaining budget, whichever is smaller.
type HandlerConfig struct {
	// Coordinator, if set, ties requests to a graceful shutdown: each
	// request holds one of its guards ([lifecycle.Coordinator.Acquire])
	// until the handler returns, so the drain phase waits for it; once the
	// coordinator refuses guards (after its propagation delay), new
	// requests are answered 503 with "Connection: close" and a
	// Retry-After of one second. Serve the readiness probe
	// ([lifecycle.Coordinator.Readiness]) outside the middleware. nil
	// means no tracking.
	Coordinator *lifecycle.Coordinator
	// Timeout gives each request its route's limit from Timeout.Table,
	// shortened to the caller's remaining budget ([deadline.Header]) when
	// that is smaller: a header never extends the limit. It is
	// [deadline.Middleware]'s configuration, with its defaults (30
	// seconds for every route, 503 when the limit passes); note that it
	// buffers each response, so handlers cannot stream.
	Timeout deadline.HTTPConfig
	// Gate admits or refuses each request before the handler runs: a
	// *bulkhead.Bulkhead bounds concurrent requests (with MaxQueue 0 it
	// sheds at once; with a queue, a request waits at most its limit), a
	// *limit.Rate bounds their rate, or any other [resilience.Gate]. A
	// refusal is answered 503 with a Retry-After taken from the refusal's
	// hint ([resilience.RejectedError.RetryAfter]): rounded up to whole
	// seconds, at least one, at most MaxRetryAfter. The gate's done
	// receives nil, the request context's error if it ended, or an error
	// if the handler panicked. nil means every request is admitted.
	Gate resilience.Gate
	// MaxRetryAfter caps the Retry-After header of refusals. 0 means 30
	// seconds; otherwise it must be at least one second.
	MaxRetryAfter time.Duration
}

func (c HandlerConfig) withDefaults() (HandlerConfig, error) {
	switch {
	case c.MaxRetryAfter == 0:
		c.MaxRetryAfter = defaultMaxRetryAfter
	case c.MaxRetryAfter < time.Second:
		return c, &resilience.ConfigError{Field: "resiliencehttp.HandlerConfig.MaxRetryAfter",
			Reason: "must be 0 or at least 1s (Retry-After counts whole seconds), got " + c.MaxRetryAfter.String()}
	}
	return c, nil
}

// Middleware returns server middleware that protects a handler with, from
// the outside in:
//
//  1. drain: refuse new requests once the Coordinator is shutting down,
//     and hold a guard for each admitted one;
//  2. deadline: bound the request by its route's limit and the caller's
//     budget ([deadline.Middleware]), answering 503 (or Timeout.Status)
//     at the limit;
//  3. admission: ask the Gate, answering 503 with Retry-After if it
//     refuses; a queueing gate waits at most until the deadline of step 2;
//  4. the handler.
//
// Every refusal comes before the handler runs, and a request refused by
// one stage never reaches the next. A nil handler answers 404 to every
// request. Middleware returns a *resilience.ConfigError naming the field
// for an invalid cfg. The returned function and the handlers it builds are
// safe for concurrent use.
func Middleware(cfg HandlerConfig) (func(http.Handler) http.Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	timeout, err := deadline.Middleware(cfg.Timeout)
	if err != nil {
		return nil, renameField(err)
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			next = http.NotFoundHandler()
		}
		if cfg.Gate != nil {
			next = &admit{gate: cfg.Gate, next: next, maxRetryAfter: cfg.MaxRetryAfter}
		}
		next = timeout(next)
		if cfg.Coordinator != nil {
			next = &drain{coord: cfg.Coordinator, next: next}
		}
		return next
	}, nil
}

// renameField names a Timeout field as the user wrote it.
func renameField(err error) error {
	var ce *resilience.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	field := "resiliencehttp.HandlerConfig.Timeout." + strings.TrimPrefix(ce.Field, "deadline.HTTPConfig.")
	return &resilience.ConfigError{Field: field, Reason: ce.Reason}
}

// drain refuses requests once the coordinator is shutting down, and holds
// a guard for each request it passes on.
type drain struct {
	coord *lifecycle.Coordinator
	next  http.Handler
}

var _ http.Handler = (*drain)(nil)

// ServeHTTP serves r under a guard, or refuses it; see Middleware.
func (d *drain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	release, err := d.coord.Acquire()
	if err != nil {
		w.Header()["Connection"] = closeConn
		refuse(w, "shutting down", oneSecond)
		return
	}
	defer release()
	d.next.ServeHTTP(w, r)
}

// errHandlerPanicked is what a Gate's done receives when the handler
// panicked; the panic itself goes on up to net/http.
var errHandlerPanicked = errors.New("resiliencehttp: handler panicked")

// admit asks a Gate before the handler runs.
type admit struct {
	gate          resilience.Gate
	next          http.Handler
	maxRetryAfter time.Duration
}

var _ http.Handler = (*admit)(nil)

// ServeHTTP serves r if the gate admits it, or refuses it; see Middleware.
func (a *admit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	done, err := a.gate.Allow(r.Context())
	if err != nil {
		a.refuse(w, err)
		return
	}
	returned := false
	defer func() {
		if !returned {
			done(errHandlerPanicked)
		}
	}()
	a.next.ServeHTTP(w, r)
	returned = true
	done(r.Context().Err())
}

// refuse answers a request the gate did not admit. A refusal gets a
// Retry-After; an error of the request's own context (the deadline passed
// or the client left while the request waited) gets none, and the
// deadline's own answer, if any, is the one the client sees.
func (a *admit) refuse(w http.ResponseWriter, err error) {
	var after []string
	if errors.Is(err, resilience.ErrRejected) {
		after = retryAfter(err, a.maxRetryAfter)
	}
	refuse(w, err.Error(), after)
}

// refuse answers 503 with msg as a plain-text body and after, if not
// nil, as Retry-After. It sets the headers from shared, read-only values,
// so that a refusal under overload costs as little as possible.
func refuse(w http.ResponseWriter, msg string, after []string) {
	h := w.Header()
	if after != nil {
		h["Retry-After"] = after
	}
	h["Content-Type"] = plainText
	h["X-Content-Type-Options"] = noSniff
	delete(h, "Content-Length")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, msg)
	_, _ = io.WriteString(w, "\n")
}

// Header values shared by every refusal. Each has capacity 1, so a later
// Header.Add copies it rather than writing into it.
var (
	plainText = []string{"text/plain; charset=utf-8"}
	noSniff   = []string{"nosniff"}
	closeConn = []string{"close"}
	oneSecond = retryAfterValues[1]
)

// retryAfterValues holds the Retry-After values of up to a minute.
var retryAfterValues = func() (v [61][]string) {
	for i := range v {
		v[i] = []string{strconv.Itoa(i)}
	}
	return v
}()

// retryAfter returns the Retry-After value for a refusal: its hint, if it
// gives one, in whole seconds rounded up, between 1 and limit.
func retryAfter(err error, limit time.Duration) []string {
	n := seconds(hint(err), limit)
	if n < int64(len(retryAfterValues)) {
		return retryAfterValues[n]
	}
	return []string{strconv.FormatInt(n, 10)}
}

// hint returns the wait that the first error in err's chain with a
// RetryAfter method asks for ([resilience.RejectedError] has one), or 0.
// It walks the chain as errors.As does, without allocating.
func hint(err error) time.Duration {
	for err != nil {
		if h, ok := err.(interface{ RetryAfter() time.Duration }); ok {
			return h.RetryAfter()
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if d := hint(e); d != 0 {
					return d
				}
			}
			return 0
		default:
			return 0
		}
	}
	return 0
}

// seconds rounds d up to whole seconds, at least 1 and at most limit
// (itself rounded up).
func seconds(d, limit time.Duration) int64 {
	d = min(max(d, time.Second), limit)
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}
