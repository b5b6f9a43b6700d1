package lifecycle

import (
	"net"
	"net/http"
	"sync"
)

// freshConns tracks a server's connections that have not carried a request
// yet and closes them when the server shuts down. http.Server.Shutdown
// treats such a connection as active for up to five seconds, and HTTP
// clients open spare ones speculatively, so without this a single idle
// spare delays every shutdown by seconds. A connection that has sent no
// byte loses nothing by being closed.
type freshConns struct {
	mu   sync.Mutex
	m    map[net.Conn]struct{}
	next func(net.Conn, http.ConnState) // the server's own ConnState hook, if any
}

// closeFreshOnShutdown installs the tracking on srv. It must run before srv
// serves: it replaces (and chains) srv.ConnState.
func closeFreshOnShutdown(srv *http.Server) {
	f := &freshConns{m: map[net.Conn]struct{}{}, next: srv.ConnState}
	srv.ConnState = f.track
	srv.RegisterOnShutdown(f.closeAll)
}

func (f *freshConns) track(c net.Conn, st http.ConnState) {
	f.mu.Lock()
	if st == http.StateNew {
		f.m[c] = struct{}{}
	} else {
		delete(f.m, c)
	}
	f.mu.Unlock()
	if f.next != nil {
		f.next(c, st)
	}
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.m {
		_ = c.Close()
		delete(f.m, c)
	}
}
