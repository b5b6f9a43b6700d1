// Package lifecycle runs a program's long-lived parts as a supervision tree
// and shuts them down gracefully, in order, without ever hanging.
//
// Use it for what main needs between "start everything" and "exit": a
// [Supervisor] starts its children (any [Component]: actors, goroutines
// via [Func], HTTP servers via [Server], nested supervisors) in order, restarts them when they exit by one of
// the Erlang/OTP strategies ([OneForOne], [OneForAll], [RestForOne]) with
// exponential backoff and a restart-intensity limit, and stops them in
// reverse order, one at a time, each within its own timeout. A child that
// will not stop is abandoned and named in a [*ComponentError] wrapping a
// *resilience.TimeoutError; it is never waited on forever. Children
// restart in place: the supervisor calls Start again on the same handle.
// A [Coordinator] runs the whole shutdown: readiness flips to 503, a
// propagation delay, http.Server.Shutdown, draining of tracked
// connections, the tree's stop, then named hooks in reverse registration
// order, each phase bounded. Supervisors and coordinators are Components
// too, with a Serve(ctx) method for main. [NotifyContext] turns SIGINT and
// SIGTERM into the start of that shutdown and a second signal into an
// immediate exit.
//
// Compared with the standard library: [signal.NotifyContext] cancels a
// context on the first signal but lets a second one kill the process with
// no choice of exit code; http.Server.Shutdown drains one server under one
// deadline; errgroup and sync.WaitGroup start goroutines but have no
// order, no restarts and no stop timeouts. This package composes them into
// one ordered, bounded, reported sequence.
//
// The restart decisions are a pure function of (state, event, now), tested
// as tables; one actor per supervisor (package actor) carries them out.
// Stop errors join a [*ComponentError] per failure; errors.Is(err,
// resilience.ErrTimeout) reports that something was abandoned.
package lifecycle
