package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// upstreams are the two services the example calls, run in-process on
// loopback. Pricing fails its first request of every three with 503, so the
// transport's retries have something to do.
type upstreams struct {
	inventory, pricing string
	servers            []*httptest.Server
}

func startUpstreams() (*upstreams, error) {
	var n atomic.Int64
	inv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d in stock", len(r.URL.Path))
	}))
	pri := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%d.99 EUR", len(r.URL.Path))
	}))
	return &upstreams{inventory: inv.URL, pricing: pri.URL, servers: []*httptest.Server{inv, pri}}, nil
}

func (u *upstreams) close() {
	for _, s := range u.servers {
		s.Close()
	}
}
