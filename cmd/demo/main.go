// Command demo shows the actor runtime at work: it spawns a small pipeline
// of actors, sends them jobs, and stops them in order, printing what
// happened. The full gateway demo of every pattern is not built yet.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
