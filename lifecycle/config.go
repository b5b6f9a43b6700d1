package lifecycle

import (
	"fmt"
	"strings"
	"time"

	"github.com/llm-research-lab/resilience"
)

// Strategy says which children a supervisor restarts when one of them
// exits and must be restarted.
type Strategy int

const (
	// OneForOne restarts only the child that exited. Use it when children
	// are independent.
	OneForOne Strategy = iota
	// OneForAll stops every other child (in reverse start order) and
	// restarts them all (in start order). Use it when every child depends
	// on every other.
	OneForAll
	// RestForOne stops the children started after the one that exited and
	// restarts it and them. Use it when each child depends on those
	// started before it.
	RestForOne
)

// String returns the strategy's name, e.g. "one-for-one".
func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one-for-one"
	case OneForAll:
		return "one-for-all"
	case RestForOne:
		return "rest-for-one"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// Restart says when a child is restarted after it exits on its own.
type Restart int

const (
	// RestartAlways restarts the child whether it failed or returned
	// cleanly. The default.
	RestartAlways Restart = iota
	// RestartOnFailure restarts the child only when it fails (a non-nil
	// error from Err, including a panic).
	RestartOnFailure
	// RestartNever never restarts the child, not even when a sibling's
	// exit makes a OneForAll or RestForOne supervisor stop it.
	RestartNever
)

// String returns the restart policy's name, e.g. "always".
func (r Restart) String() string {
	switch r {
	case RestartAlways:
		return "always"
	case RestartOnFailure:
		return "on-failure"
	case RestartNever:
		return "never"
	}
	return fmt.Sprintf("Restart(%d)", int(r))
}

// restarts reports whether an exit (failed or not) calls for a restart.
func (r Restart) restarts(failed bool) bool {
	return r == RestartAlways || (r == RestartOnFailure && failed)
}

// Defaults for [Config] and [Spec] fields left zero.
const (
	defaultMaxRestarts  = 3
	defaultPeriod       = 5 * time.Second
	defaultBackoff      = 100 * time.Millisecond
	defaultMaxBackoff   = 5 * time.Second
	defaultQuietPeriod  = 10 * time.Second
	defaultStartTimeout = 5 * time.Second
	defaultStopTimeout  = 5 * time.Second
)

// Config configures a [Supervisor]. The zero value is valid: a one-for-one
// supervisor named "supervisor" that allows 3 restarts in 5s, waits 100ms
// before a first restart and doubles that up to 5s, and forgets the backoff
// of a child that has run for 10s.
type Config struct {
	// Name identifies the supervisor; it is the first element of every
	// path in reports. Default "supervisor". It must not contain "/".
	Name string
	// Strategy picks which children restart together. Default OneForOne.
	Strategy Strategy
	// MaxRestarts is how many restarts are allowed within Period; one more
	// and the supervisor stops its children and fails with an
	// *IntensityError. 0 means 3; negative means none: the first exit that
	// needs a restart fails the supervisor.
	MaxRestarts int
	// Period is the window MaxRestarts counts in. 0 means 5s.
	Period time.Duration
	// Backoff is the delay before a child's first restart; each further
	// restart of the same child doubles it, up to MaxBackoff. 0 means
	// 100ms; negative means restart at once, always.
	Backoff time.Duration
	// MaxBackoff caps the delay between restarts. 0 means 5s, or Backoff
	// if that is larger; a value below Backoff is refused.
	MaxBackoff time.Duration
	// QuietPeriod is how long a restarted child must run without exiting
	// for its backoff to start again from Backoff. 0 means 10s.
	QuietPeriod time.Duration
}

func (c Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"Period", c.Period}, {"MaxBackoff", c.MaxBackoff}, {"QuietPeriod", c.QuietPeriod}} {
		if f.v < 0 {
			return c, &resilience.ConfigError{Field: "lifecycle.Config." + f.name, Reason: "must not be negative"}
		}
	}
	if c.Strategy < OneForOne || c.Strategy > RestForOne {
		return c, &resilience.ConfigError{Field: "lifecycle.Config.Strategy", Reason: "is not OneForOne, OneForAll or RestForOne"}
	}
	if strings.Contains(c.Name, "/") {
		return c, &resilience.ConfigError{Field: "lifecycle.Config.Name", Reason: `must not contain "/"`}
	}
	c.Name = orDefault(c.Name, "supervisor")
	c.MaxRestarts = orDefault(c.MaxRestarts, defaultMaxRestarts)
	c.MaxRestarts = max(c.MaxRestarts, 0)
	c.Period = orDefault(c.Period, defaultPeriod)
	c.Backoff = orDefault(c.Backoff, defaultBackoff)
	c.Backoff = max(c.Backoff, 0)
	c.MaxBackoff = orDefault(c.MaxBackoff, max(defaultMaxBackoff, c.Backoff))
	c.QuietPeriod = orDefault(c.QuietPeriod, defaultQuietPeriod)
	if c.MaxBackoff < c.Backoff {
		return c, &resilience.ConfigError{Field: "lifecycle.Config.MaxBackoff", Reason: "must not be less than Backoff"}
	}
	return c, nil
}

// Spec describes one child of a supervisor: set exactly one of Component
// and New.
type Spec struct {
	// Name identifies the child among its siblings; required, unique,
	// without "/".
	Name string
	// Component is the child. The supervisor calls its Start to start it
	// and again to restart it, in place, after it exits or is stopped; an
	// actor, a nested *Supervisor or a [Func] restart this way.
	Component Component
	// New builds a fresh, not yet started child before every start and
	// restart, for components that cannot start twice (an http.Server
	// behind [Server]).
	New func() (Component, error)
	// Restart says when the child is restarted. 0 means RestartAlways.
	Restart Restart
	// StartTimeout bounds the child's Start. 0 means 5s.
	StartTimeout time.Duration
	// StopTimeout bounds the child's Stop; a child that has not stopped by
	// then is abandoned and reported. 0 means 5s.
	StopTimeout time.Duration
}

func (s Spec) withDefaults(i int) (Spec, error) {
	field := func(f string) string { return fmt.Sprintf("lifecycle.Spec[%d].%s", i, f) }
	bad := func(f, reason string) (Spec, error) {
		return s, &resilience.ConfigError{Field: field(f), Reason: reason}
	}
	switch {
	case s.Name == "":
		return bad("Name", "is required")
	case strings.Contains(s.Name, "/"):
		return bad("Name", `must not contain "/"`)
	case (s.New == nil) == (s.Component == nil):
		return bad("Component", "exactly one of Component and New is required")
	case s.Restart < RestartAlways || s.Restart > RestartNever:
		return bad("Restart", "is not RestartAlways, RestartOnFailure or RestartNever")
	case s.StartTimeout < 0:
		return bad("StartTimeout", "must not be negative")
	case s.StopTimeout < 0:
		return bad("StopTimeout", "must not be negative")
	}
	s.StartTimeout = orDefault(s.StartTimeout, defaultStartTimeout)
	s.StopTimeout = orDefault(s.StopTimeout, defaultStopTimeout)
	return s, nil
}

// validateSpecs applies defaults and checks that names are unique.
func validateSpecs(specs []Spec) ([]Spec, error) {
	out := make([]Spec, len(specs))
	seen := make(map[string]bool, len(specs))
	for i, s := range specs {
		s, err := s.withDefaults(i)
		if err != nil {
			return nil, err
		}
		if seen[s.Name] {
			return nil, &resilience.ConfigError{Field: fmt.Sprintf("lifecycle.Spec[%d].Name", i), Reason: fmt.Sprintf("%q is used twice", s.Name)}
		}
		seen[s.Name] = true
		out[i] = s
	}
	return out, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
