// Command httpservice is an HTTP service protected end to end by the
// library: it answers GET /quote/{item} by calling two upstreams, inventory
// and pricing, through one resiliencehttp.Transport (a breaker per
// upstream, retries where safe, a deadline sent downstream), serves
// Prometheus metrics and a readiness probe, sheds load with 503 and
// Retry-After, and shuts down gracefully on SIGINT or SIGTERM: readiness
// fails, requests in flight finish, then the tree stops in reverse order.
//
// Run it with no flags and it starts two small upstreams of its own on
// loopback, so it works anywhere:
//
//	go run ./examples/httpservice
//	curl localhost:8080/quote/book
//	curl localhost:8080/metrics | grep resilience_breaker_state
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/lifecycle"
	promresilience "github.com/llm-research-lab/resilience/prometheus"
	"github.com/llm-research-lab/resilience/resiliencehttp"
	"github.com/llm-research-lab/resilience/retry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	ctx, stop := lifecycle.NotifyContext(context.Background(), nil) // a second signal exits at once
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening on", ln.Addr())
	if err := run(ctx, ln, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves on ln until ctx ends, then shuts down and reports.
func run(ctx context.Context, ln net.Listener, out io.Writer) error {
	ups, err := startUpstreams()
	if err != nil {
		return err
	}
	defer ups.close()

	// The library's parts: one breaker per upstream host, a retry policy,
	// a bulkhead bounding the service's own requests.
	breakers, err := breaker.NewFamily[string](breaker.FamilyConfig{Breaker: breaker.Config{FailureThreshold: 5, OpenTimeout: 2 * time.Second}})
	if err != nil {
		return err
	}
	retries, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: 20 * time.Millisecond, MaxDelay: time.Second})
	if err != nil {
		return err
	}
	shed, err := bulkhead.New(bulkhead.Config{Name: "quotes", MaxConcurrent: 64})
	if err != nil {
		return err
	}
	transport, err := resiliencehttp.New(resiliencehttp.Config{
		PerHost:  breakers,
		Pipeline: &resilience.Pipeline{Retry: retries, AttemptTimeout: 300 * time.Millisecond},
	})
	if err != nil {
		return err
	}
	client := &http.Client{Transport: transport}

	// Metrics: the library's own, read at scrape time.
	metrics := promresilience.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)
	for _, err := range []error{metrics.Family("upstreams", breakers), metrics.Retry("upstreams", retries), metrics.Bulkhead("quotes", shed)} {
		if err != nil {
			return err
		}
	}

	// The server and the tree: breakers and bulkhead first, so they stop
	// after the server has drained.
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second}
	tree, err := lifecycle.New(lifecycle.Config{Name: "httpservice"},
		lifecycle.Spec{Name: "breakers", Component: breakers},
		lifecycle.Spec{Name: "quotes-bulkhead", Component: shed},
		lifecycle.Spec{Name: "http", Component: lifecycle.Server(srv, ln)})
	if err != nil {
		return err
	}
	coord, err := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{Tree: tree, GracePeriod: 10 * time.Second})
	if err != nil {
		return err
	}
	protect, err := resiliencehttp.Middleware(resiliencehttp.HandlerConfig{Coordinator: coord, Gate: shed})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /quote/{item}", protect(quote(client, ups)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /ready", coord.Readiness())
	srv.Handler = mux

	err = coord.Serve(ctx) // start; on ctx's end: not ready, drain, stop the tree in reverse
	fmt.Fprintf(out, "shut down: %v\n", errOrClean(err))
	return err
}

// quote asks inventory and pricing about an item and writes both answers.
func quote(client *http.Client, ups *upstreams) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		item := r.PathValue("item")
		stock, err := get(r.Context(), client, ups.inventory+"/stock/"+item)
		if err != nil {
			http.Error(w, "inventory: "+err.Error(), http.StatusBadGateway)
			return
		}
		price, err := get(r.Context(), client, ups.pricing+"/price/"+item)
		if err != nil {
			http.Error(w, "pricing: "+err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "%s: %s, %s\n", item, stock, price)
	})
}

// get fetches url and returns its body, or an error for a non-200 answer.
func get(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(body), nil
}

func errOrClean(err error) string {
	if err != nil {
		return err.Error()
	}
	return "clean"
}
