package resiliencehttp_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/lifecycle"
	"github.com/llm-research-lab/resilience/resiliencehttp"
)

// A server protected by the middleware and shut down by a Coordinator:
// one request at a time (a bulkhead without a queue sheds the rest), two
// seconds per request (less if the caller has less), and a drain on
// shutdown. The readiness probe is served beside the middleware, never
// shed.
func ExampleMiddleware() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second}
	coord, err := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{Tree: lifecycle.Server(srv, ln)})
	if err != nil {
		fmt.Println(err)
		return
	}
	slots, err := bulkhead.New(bulkhead.Config{Name: "api", MaxConcurrent: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	limits, err := deadline.NewTable(2*time.Second, nil) // overrides are keyed by mux pattern
	if err != nil {
		fmt.Println(err)
		return
	}
	protect, err := resiliencehttp.Middleware(resiliencehttp.HandlerConfig{
		Coordinator: coord,
		Timeout:     deadline.HTTPConfig{Table: limits},
		Gate:        slots,
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	app := http.NewServeMux()
	app.Handle("GET /hello", protect(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})))
	app.Handle("GET /readyz", coord.Readiness())
	srv.Handler = app

	ctx := context.Background()
	if err := coord.Start(ctx); err != nil { // starts the server
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: &http.Transport{}}
	show := func(path string) {
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%s: %d %q Retry-After=%q\n", path, resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}

	show("/hello")
	done, _ := slots.Allow(ctx) // someone else holds the only slot
	show("/hello")
	done(nil)
	show("/hello")
	show("/readyz")

	fmt.Println("shutdown:", coord.Stop(ctx))
	client.CloseIdleConnections()
	// Output:
	// /hello: 200 "hello" Retry-After=""
	// /hello: 503 "resilience: api: rejected: resilience: full\n" Retry-After="1"
	// /hello: 200 "hello" Retry-After=""
	// /readyz: 200 "ok\n" Retry-After=""
	// shutdown: <nil>
}
