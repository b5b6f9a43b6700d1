// Command fleet runs three replicas of a gateway through an upstream
// outage twice: first each with its own local circuit breaker, then with
// fleet breakers sharing one Redis. It prints, per replica, the calls that
// reached the dead upstream, and the fleet's story: the open on quorum,
// when each replica started refusing, the one probe owner, the close.
//
//	go run ./examples/fleet -redis 127.0.0.1:6379
//
// It needs a running redis-server (apt-get install -y redis-server); its
// test starts one.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	addr := flag.String("redis", "127.0.0.1:6379", "address of the redis-server the replicas share")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fleet example:", err)
		os.Exit(1)
	}
}

// run plays the outage with local breakers, then with fleet breakers, and
// writes the comparison to w.
func run(ctx context.Context, addr string, w io.Writer) error {
	up, err := startUpstream()
	if err != nil {
		return err
	}
	defer up.close()
	local, _, err := play(ctx, up, nil)
	if err != nil {
		return err
	}
	fleet, story, err := play(ctx, up, &addr)
	if err != nil {
		return err
	}
	report(w, local, fleet, story)
	return nil
}
