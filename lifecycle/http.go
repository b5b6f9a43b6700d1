package lifecycle

import (
	"context"
	"errors"
	"net"
	"net/http"
)

// FromServer adapts an *http.Server: Start listens (on ln, or on srv.Addr
// if ln is nil, so a port already in use is a start error) and serves on a
// goroutine the child owns; Stop calls srv.Shutdown(ctx), which stops
// accepting and waits for active requests, and on timeout srv.Close, then
// waits for Serve to return. Connections that have not sent a request yet
// (idle spares opened by HTTP clients) are closed when shutdown begins, so
// they do not hold it for the five seconds http.Server would give them;
// to track them FromServer chains its own hook in front of srv.ConnState.
// An http.Server cannot serve again after Shutdown: build the server (and
// listener) inside Spec.New.
func FromServer(srv *http.Server, ln net.Listener) Child {
	if srv != nil {
		closeFreshOnShutdown(srv)
	}
	return &serverChild{srv: srv, ln: ln, exitState: newExitState()}
}

type serverChild struct {
	exitState
	srv *http.Server
	ln  net.Listener
}

func (c *serverChild) prompt() {}

func (c *serverChild) Start(ctx context.Context) error {
	if c.srv == nil {
		return errors.New("lifecycle: FromServer: nil server")
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
	go c.serve()
	return nil
}

func (c *serverChild) serve() {
	err := c.srv.Serve(c.ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	c.exit(err)
}

func (c *serverChild) Stop(ctx context.Context) error {
	if c.ln == nil {
		return nil
	}
	err := c.srv.Shutdown(ctx)
	if err != nil {
		_ = c.srv.Close() // its error adds nothing to Shutdown's
	}
	select {
	case <-c.done:
	case <-ctx.Done():
	}
	return err
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
		g, err := c.Acquire()
		if err != nil {
			w.Header().Set("Connection", "close")
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		defer g.Release()
		next.ServeHTTP(w, r)
	})
}
