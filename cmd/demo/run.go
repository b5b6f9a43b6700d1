package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"go.uber.org/goleak"
)

// run parses the flags and runs the scenario or, with -serve, the
// gateway until ctx ends. It returns an error if an invariant failed.
func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	goroutines := goleak.IgnoreCurrent()
	if o.serve {
		err = serve(ctx, o, out)
	} else {
		err = play(ctx, o, out)
	}
	leak := goleak.Find(goroutines)
	if leak != nil {
		err = errors.Join(err, fmt.Errorf("goroutines left behind: %w", leak))
	}
	if !o.serve {
		fmt.Fprintf(out, "\n%s\n", leakLine(leak))
	}
	return err
}

// leakLine reports the goroutine check in the style of the other checks.
func leakLine(leak error) string {
	if leak != nil {
		return "FAIL goroutines were left behind after the shutdown (see the error)"
	}
	return "ok   no goroutine left behind after the shutdown (goleak)"
}

// play runs the scenario and prints its summary and shutdown report.
func play(ctx context.Context, o options, out io.Writer) error {
	res, err := scenario(ctx, o, out)
	if err != nil {
		return err
	}
	con := &console{w: out}
	printSummary(con, res)
	printShutdown(con, res.shutdown)
	if o.timeline != "" {
		if err := writeTimeline(o.timeline, res); err != nil {
			return err
		}
		con.printf("\ntimeline written to %s\n", o.timeline)
	}
	return res.failures()
}

func parseFlags(args []string, out io.Writer) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.BoolVar(&o.serve, "serve", false, "run the gateway until SIGINT/SIGTERM instead of the scripted scenario")
	fs.DurationVar(&o.duration, "duration", o.duration, "length of one pass of the scenario (two passes run)")
	fs.Uint64Var(&o.seed, "rand", o.seed, "starting value of the random source behind the fault draws and the retry jitter")
	addr := fs.String("addr", "127.0.0.1", "address the gateway listens on: host, or host:port (default port: any free one)")
	fs.IntVar(&o.rate, "rate", o.rate, "scenario load: requests per second on each route")
	fs.DurationVar(&o.grace, "grace", o.grace, "grace period of the shutdown")
	fs.StringVar(&o.timeline, "timeline", "", "write every request and breaker change of the scenario to this CSV file")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.addr = *addr
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		o.addr = net.JoinHostPort(o.addr, "0")
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.duration < 2*time.Second:
		return o, errors.New("-duration must be at least 2s: the outage and the recovery need room")
	case o.rate < 1 || o.rate > 1000:
		return o, errors.New("-rate must be between 1 and 1000")
	case o.grace <= 0:
		return o, errors.New("-grace must be positive")
	}
	if o.serve {
		o.propagation = time.Second
	}
	return o, nil
}
