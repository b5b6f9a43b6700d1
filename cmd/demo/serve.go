package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// serve runs the gateway and its upstreams until ctx ends (the first
// SIGINT or SIGTERM), replaying the payments outage every cycle so there
// is something to watch, then shuts down through the tree.
func serve(ctx context.Context, o options, out io.Writer) error {
	con := &console{w: out, origin: time.Now()}
	events := &eventLog{con: con}
	sys, err := newSystem(o, false, events)
	if err != nil {
		return err
	}
	if err := sys.start(ctx); err != nil {
		return err
	}
	con.printf("gateway listening on %s\n", sys.gwURL)
	con.printf("  try: curl %s/api/payments   %s/metrics   %s/debug/breakers   %s/readyz\n", sys.gwURL, sys.gwURL, sys.gwURL, sys.gwURL)
	con.printf("  %s goes down for %v every %v; SIGINT or SIGTERM shuts down, a second one forces\n", outageUpstream, serveOutage, serveCycle)
	cycleCtx, stopCycle := context.WithCancel(ctx)
	defer stopCycle()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sys.cycle(cycleCtx, con)
	}()
	var failed error
	select {
	case <-ctx.Done():
		con.stampf("shutting down (%v): /readyz fails now, listeners close in %v\n", context.Cause(ctx), o.propagation)
	case <-sys.root.Done(): // the tree gave up on a child
		failed = fmt.Errorf("supervision tree failed: %w", sys.root.Err())
		con.stampf("%v; shutting down\n", failed)
	}
	rep := sys.shutdown(context.Background())
	stopCycle()
	<-done
	printShutdown(con, rep)
	return errors.Join(failed, rep.failed())
}

const (
	serveCycle  = 30 * time.Second
	serveOutage = 5 * time.Second
)

// cycle takes the outage upstream down for serveOutage at the end of
// every serveCycle until ctx ends.
func (s *system) cycle(ctx context.Context, con *console) {
	for start := time.Now(); ; start = start.Add(serveCycle) {
		from := start.Add(serveCycle - serveOutage)
		s.script(ctx, con, from, from.Add(serveOutage))
		if ctx.Err() != nil {
			return
		}
	}
}
