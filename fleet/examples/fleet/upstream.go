package main

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// upstream is a real HTTP server on loopback that can die: while dead it
// answers 503 and counts, per replica, the requests that reached it.
type upstream struct {
	url  string
	srv  *http.Server
	done chan struct{}
	dead atomic.Bool

	mu   sync.Mutex
	hits map[string]int // requests received while dead, by replica
}

func startUpstream() (*upstream, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{url: "http://" + l.Addr().String(), done: make(chan struct{}), hits: map[string]int{}}
	u.srv = &http.Server{Handler: u, ReadHeaderTimeout: time.Second}
	go func() {
		defer close(u.done)
		_ = u.srv.Serve(l) // returns http.ErrServerClosed once close runs
	}()
	return u, nil
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u.dead.Load() {
		u.mu.Lock()
		u.hits[r.Header.Get("X-Replica")]++
		u.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// take returns the dead-upstream hits so far and resets them.
func (u *upstream) take() map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	h := u.hits
	u.hits = map[string]int{}
	return h
}

func (u *upstream) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = u.srv.Shutdown(ctx)
	<-u.done
}
