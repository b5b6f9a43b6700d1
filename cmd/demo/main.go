// Command demo runs an HTTP gateway built from this module's patterns
// against three flaky in-process upstreams, then the same gateway without
// them, and prints what the difference was.
//
// With no flags it plays a scripted scenario of about twenty seconds on
// loopback: one upstream goes down and recovers while load runs, once
// through retry(breaker(deadline(call))) and once through a plain
// http.Client with a timeout. It prints a line per upstream each second,
// breaker state changes as they happen, a side-by-side summary and the
// shutdown report, and exits non-zero if a request went unanswered, a
// goroutine leaked, or the shutdown overran its grace period.
//
// With -serve it runs the gateway until SIGINT or SIGTERM (a second signal
// forces the exit), with /metrics (Prometheus), /healthz, /readyz and
// /debug/breakers. See docs/demo.md.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/llm-research-lab/resilience/lifecycle"
)

func main() {
	ctx, stop := lifecycle.NotifyContext(context.Background(), nil)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
