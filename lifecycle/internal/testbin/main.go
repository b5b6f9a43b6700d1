// Command testbin is a tiny server used by the lifecycle tests: it serves
// /slow?ms=N (a tracked request that takes N ms) and /ready, prints
// "listening ADDR" when it is ready for signals, "begin" when a slow
// request starts, and shuts down gracefully on SIGTERM or SIGINT; a second
// signal forces an exit.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/llm-research-lab/resilience/actor"
	"github.com/llm-research-lab/resilience/lifecycle"
)

func main() { os.Exit(run()) }

func run() int {
	propagation := flag.Duration("propagation", 0, "propagation delay before listeners close")
	flag.Parse()
	ctx, stop := lifecycle.NotifyContext(context.Background(), nil)
	defer stop()

	// A small tree: one counting actor.
	counter, err := actor.Spawn(actor.Config{Name: "counter"}, func() actor.Behavior[struct{}] {
		return actor.Func[struct{}](func(*actor.Self[struct{}], struct{}) {})
	})
	if err != nil {
		return fail(err)
	}
	tree, err := lifecycle.New(lifecycle.Config{Name: "testbin"}, lifecycle.Spec{Name: "counter", Component: counter})
	if err != nil {
		return fail(err)
	}

	mux := http.NewServeMux()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	coord, err := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{
		PropagationDelay: *propagation,
		Servers:          []*http.Server{srv},
		Tree:             tree,
	})
	if err != nil {
		return fail(err)
	}
	if err := coord.Start(ctx); err != nil { // starts the tree
		return fail(err)
	}
	mux.Handle("/ready", coord.Readiness())
	mux.Handle("/slow", coord.Track(http.HandlerFunc(slow)))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Println("listening", ln.Addr())

	<-ctx.Done()
	fmt.Println("shutting down")
	err = coord.Stop(context.Background())
	<-served
	if err != nil {
		return fail(err)
	}
	fmt.Println("bye")
	return 0
}

func slow(w http.ResponseWriter, r *http.Request) {
	ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
	fmt.Println("begin")
	time.Sleep(time.Duration(ms) * time.Millisecond)
	fmt.Fprint(w, "done")
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "testbin:", err)
	return 1
}
