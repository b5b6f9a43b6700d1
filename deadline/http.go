package deadline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/timers"
)

// defaultStatus is the status of a request that ran out of time, unless
// HTTPConfig.Status says otherwise: 503 Service Unavailable, as
// http.TimeoutHandler answers.
const defaultStatus = http.StatusServiceUnavailable

// HTTPConfig configures [Middleware]. The zero value is valid: every route
// gets 30 seconds, timed by the shared timer, answered with 503, and
// callers' budgets in [Header] are honoured.
type HTTPConfig struct {
	// Table gives each route its limit; the route's name is the
	// operation. nil means a zero Table (30 seconds for all).
	Table *Table
	// Watchdog times the requests; nil means the shared timer that a
	// resilience.Pipeline uses by default.
	Watchdog *Watchdog
	// Route names a request's route for the Table. Default: r.Pattern,
	// as set by http.ServeMux for handlers it routes to (so wrap the
	// handlers given to the mux), or r.URL.Path when that is empty.
	Route func(*http.Request) string
	// Status answers requests past their limit: 503 (the default) or
	// 504 Gateway Timeout. Other values are refused.
	Status int
	// IgnoreBudget, if true, ignores the caller's remaining budget in
	// Header. By default a request gets the smaller of its route's limit
	// and that budget: never more than the caller has left.
	IgnoreBudget bool
}

func (c HTTPConfig) withDefaults() (HTTPConfig, error) {
	switch c.Status {
	case 0:
		c.Status = defaultStatus
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return c, &resilience.ConfigError{Field: "deadline.HTTPConfig.Status", Reason: fmt.Sprintf("must be 503 or 504, got %d", c.Status)}
	}
	if c.Table == nil {
		c.Table = &Table{}
	}
	if c.Route == nil {
		c.Route = defaultRoute
	}
	return c, nil
}

func defaultRoute(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.URL.Path
}

// Middleware returns net/http middleware that gives each request its
// route's limit. The handler runs on the request's goroutine with a
// context cancelled at the limit, and writes into a buffer that is sent
// when it returns in time. At the limit, the middleware answers at once
// with cfg.Status and a one-line plain-text body naming the route and the
// limit (the text of a [*resilience.TimeoutError]), and the handler's later writes fail with http.ErrHandlerTimeout
// and are dropped; the middleware still waits for the handler to return
// (its context is cancelled, so a well-behaved one returns promptly), so
// no goroutine outlives the request.
//
// If the client goes away, the handler's context is cancelled and nothing
// is answered. A panic in the handler drops what it buffered and passes on
// up the stack to net/http, like any handler's panic. Because responses are
// buffered, handlers cannot stream: the writer is not an http.Flusher.
func Middleware(cfg HTTPConfig) (func(http.Handler) http.Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return &handler{cfg: cfg, next: next}
	}, nil
}

type handler struct {
	cfg  HTTPConfig
	next http.Handler
}

var _ http.Handler = (*handler)(nil)

// ServeHTTP runs the handler under the request's limit; see Middleware.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := h.cfg.Route(r)
	d, ad, ok := h.limit(op, r)
	if !ok {
		h.refuse(w, &resilience.TimeoutError{Op: op})
		return
	}
	sp := h.cfg.Watchdog.start(r.Context(), d)
	tw := &timeoutWriter{w: w, h: h, sp: sp, op: op, d: d}
	if ad != nil {
		start := time.Now()
		defer func() { ad.observe(time.Since(start)) }()
	}
	stop := context.AfterFunc(sp.Ctx, tw.expire)
	defer func() {
		stop()
		tw.discard() // a panicking handler's output never reaches w
		sp.Stop()
	}()
	h.next.ServeHTTP(tw, r.WithContext(sp.Ctx))
	tw.send()
}

// limit returns the request's limit, the route's adaptive state if it has
// one, and false if the caller has no budget left at all.
func (h *handler) limit(op string, r *http.Request) (time.Duration, *adaptive, bool) {
	d, ad := h.cfg.Table.lookup(op)
	if h.cfg.IgnoreBudget {
		return d, ad, true
	}
	v := r.Header.Get(Header)
	if v == "" {
		return d, ad, true
	}
	budget, ok := parseBudget(v)
	switch {
	case !ok: // garbage is ignored
	case budget <= 0:
		return d, ad, false
	case budget < d:
		d = budget
	}
	return d, ad, true
}

// refuse answers w with the configured status and err's message.
func (h *handler) refuse(w http.ResponseWriter, err error) {
	body := err.Error() + "\n"
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(h.cfg.Status)
	_, _ = io.WriteString(w, body)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// The states of a timeoutWriter.
const (
	writing  = iota // the handler's writes are buffered
	sent            // the buffer went to the client
	timedOut        // the error went to the client
	dropped         // the handler panicked
)

// timeoutWriter buffers a handler's response. Every use of the real writer
// happens under mu, from the handler's goroutine (send) or from the
// deadline's (expire), and only while the state is writing, which both
// leave; so the client gets exactly one of the two answers.
type timeoutWriter struct {
	w   http.ResponseWriter
	h   *handler
	sp  timers.Timeout
	op  string
	d   time.Duration
	hdr http.Header // the handler's header map, never the real one

	mu    sync.Mutex
	state int
	code  int
	buf   bytes.Buffer
}

// Header returns the handler's own header map.
func (tw *timeoutWriter) Header() http.Header {
	if tw.hdr == nil {
		tw.hdr = make(http.Header)
	}
	return tw.hdr
}

// Write buffers p; after the limit it returns http.ErrHandlerTimeout.
func (tw *timeoutWriter) Write(p []byte) (int, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.state != writing {
		return 0, http.ErrHandlerTimeout
	}
	if tw.code == 0 {
		tw.code = http.StatusOK
	}
	return tw.buf.Write(p)
}

// WriteHeader records the status; informational (1xx) ones are dropped.
func (tw *timeoutWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code)) // as net/http does
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.state == writing && tw.code == 0 && code >= 200 {
		tw.code = code
	}
}

// send passes the buffered response on, unless the deadline came first.
// The deadline may have fired without expire having run yet: the answer is
// then the error all the same.
func (tw *timeoutWriter) send() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.state != writing {
		return
	}
	if tw.sp.Expired() {
		tw.timeout()
		return
	}
	tw.state = sent
	dst := tw.w.Header()
	for k, vv := range tw.hdr {
		dst[k] = vv
	}
	if tw.code == 0 {
		tw.code = http.StatusOK
	}
	tw.w.WriteHeader(tw.code)
	_, _ = tw.w.Write(tw.buf.Bytes())
}

// expire answers the client when the request's own limit elapses. When the
// parent context ended instead (the client went away), it does nothing.
func (tw *timeoutWriter) expire() {
	if !tw.sp.Expired() {
		return
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.state == writing {
		tw.timeout()
	}
}

// timeout answers with the error; tw.mu is held and the state is writing.
func (tw *timeoutWriter) timeout() {
	tw.state = timedOut
	tw.buf = bytes.Buffer{}
	tw.h.refuse(tw.w, &resilience.TimeoutError{Op: tw.op, Limit: tw.d})
}

// discard drops whatever was not sent; it runs as the handler returns or
// panics. A handler that panics after its limit still gets the error sent.
func (tw *timeoutWriter) discard() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	switch {
	case tw.state != writing:
	case tw.sp.Expired():
		tw.timeout()
	default:
		tw.state = dropped
	}
}
