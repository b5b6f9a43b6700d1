package lifecycle

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"

	"github.com/llm-research-lab/resilience"
)

// Server adapts an *http.Server: Start listens (on ln, or on srv.Addr if
// ln is nil, so a port already in use is a start error) and serves on a
// goroutine the component owns; Stop calls srv.Shutdown(ctx), which stops
// accepting and waits for active requests, and on timeout srv.Close, then
// waits for Serve to return. Connections that have not sent a request yet
// (idle spares opened by HTTP clients) are closed when shutdown begins, so
// they do not hold it for the five seconds http.Server would give them;
// to track them Server chains its own hook in front of srv.ConnState.
//
// An http.Server cannot serve again after Shutdown, so a Server starts
// once: a second Start returns an error. To restart a server under a
// supervisor, build the server (and listener) inside Spec.New. A nil srv
// makes Start return a *resilience.ConfigError.
func Server(srv *http.Server, ln net.Listener) Component {
	if srv != nil {
		closeFreshOnShutdown(srv)
	}
	return &serverComponent{srv: srv, ln: ln}
}

type serverComponent struct {
	srv  *http.Server
	ln   net.Listener
	hook func(error)

	mu  sync.Mutex
	cur *exitState // nil until started
}

var errServerOnce = errors.New("lifecycle: an http.Server cannot start again; build it in Spec.New")

func (c *serverComponent) prompt()               {}
func (c *serverComponent) onExit(fn func(error)) { c.hook = fn }

func (c *serverComponent) Start(ctx context.Context) error {
	if c.srv == nil {
		return &resilience.ConfigError{Field: "srv", Reason: "lifecycle.Server: must not be nil"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		if !c.cur.exited() {
			return nil
		}
		return errServerOnce
	}
	if c.ln == nil {
		addr := c.srv.Addr
		if addr == "" {
			addr = ":http"
		}
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		c.ln = ln
	}
	c.cur = newExitState(c.hook)
	go c.serve(c.cur)
	return nil
}

func (c *serverComponent) serve(x *exitState) {
	err := c.srv.Serve(c.ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	x.exit(err)
}

func (c *serverComponent) current() *exitState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

func (c *serverComponent) Stop(ctx context.Context) error {
	x := c.current()
	if x == nil {
		return nil
	}
	err := c.srv.Shutdown(ctx)
	if err != nil {
		_ = c.srv.Close() // its error adds nothing to Shutdown's
	}
	select {
	case <-x.done:
	case <-ctx.Done():
	}
	return err
}

func (c *serverComponent) Done() <-chan struct{} {
	if x := c.current(); x != nil {
		return x.done
	}
	return never
}

func (c *serverComponent) Err() error {
	if x := c.current(); x != nil {
		return x.Err()
	}
	return nil
}

// Readiness returns a readiness probe handler: 200 "ok" until shutdown
// begins, then 503 "shutting down", so a load balancer stops sending new
// traffic during the propagation delay.
func (c *Coordinator) Readiness() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if c.ShuttingDown() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("shutting down\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

// Track is middleware that holds a connection guard for each request, so
// that shutdown drains requests in flight. Once shutdown has passed its
// propagation delay it answers new requests with 503 and
// "Connection: close".
func (c *Coordinator) Track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, err := c.Acquire()
		if err != nil {
			w.Header().Set("Connection", "close")
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}
