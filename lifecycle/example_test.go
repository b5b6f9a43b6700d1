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

// spec is a supervised actor that prints when it starts.
func spec(name string) lifecycle.Spec {
	return lifecycle.Spec{Name: name, New: lifecycle.Spawner(actor.Config{Name: name},
		func() actor.Behavior[string] { return &service{name: name} },
		func(*actor.Actor[string]) { fmt.Println("started", name) })}
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
	if err := tree.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	coord, err := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{Tree: tree})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"close database pool", "flush logs"} {
		_ = coord.Hook(name, 0, func(context.Context) error {
			fmt.Println("hook", name)
			return nil
		})
	}
	fmt.Println("shutdown:", coord.Shutdown(ctx))
	fmt.Println("again:", coord.Shutdown(ctx))
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
	// again: lifecycle: already shutting down
}

// The usual main: the first SIGINT or SIGTERM starts a graceful shutdown,
// a second one exits at once with code 128+signal.
func ExampleNotifyContext() {
	ctx, stop := lifecycle.NotifyContext(context.Background(), nil)
	defer stop()
	coord, _ := lifecycle.NewCoordinator(lifecycle.ShutdownConfig{})
	<-ctx.Done()
	if err := coord.Shutdown(context.Background()); err != nil {
		fmt.Println(err)
	}
}
