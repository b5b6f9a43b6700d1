package lifecycle_test

import (
	"context"
	"fmt"

	"github.com/llm-research-lab/resilience/actor"
	"github.com/llm-research-lab/resilience/lifecycle"
)

// service is an actor behaviour that prints when it stops.
type service struct{ name string }

func (s *service) Receive(*actor.Self[string], string) {}
func (s *service) Stopped(error)                       { fmt.Println("stopped", s.name) }

// spec is a supervised actor that prints when it starts: an actor is a
// lifecycle.Component, restarted in place with a fresh behaviour.
func spec(name string) lifecycle.Spec {
	a, err := actor.Spawn(actor.Config{Name: name}, func() actor.Behavior[string] {
		fmt.Println("started", name)
		return &service{name: name}
	})
	if err != nil {
		panic(err)
	}
	return lifecycle.Spec{Name: name, Component: a}
}

// A tree of three actors, shut down by a coordinator: children stop in
// reverse start order, then the hooks run in reverse registration order.
func Example() {
	ctx := context.Background()
	tree, err := lifecycle.New(lifecycle.Config{Name: "app"}, spec("db"), spec("cache"), spec("api"))
	if err != nil {
		fmt.Println(err)
		return
	}
	coord, err := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{Tree: tree})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := coord.Start(ctx); err != nil { // starts the tree
		fmt.Println(err)
		return
	}
	for _, name := range []string{"close database pool", "flush logs"} {
		_ = coord.Hook(name, 0, func(context.Context) error {
			fmt.Println("hook", name)
			return nil
		})
	}
	fmt.Println("shutdown:", coord.Stop(ctx))
	fmt.Println("again:", coord.Stop(ctx))
	// Output:
	// started db
	// started cache
	// started api
	// stopped api
	// stopped cache
	// stopped db
	// hook flush logs
	// hook close database pool
	// shutdown: <nil>
	// again: <nil>
}

// The usual main: the first SIGINT or SIGTERM starts a graceful shutdown,
// a second one exits at once with code 128+signal.
func ExampleNotifyContext() {
	ctx, stop := lifecycle.NotifyContext(context.Background(), nil)
	defer stop()
	coord, _ := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{})
	// Serve starts the coordinator (and its tree), waits for the signal,
	// then runs the shutdown.
	if err := coord.Serve(ctx); err != nil {
		fmt.Println(err)
	}
}
