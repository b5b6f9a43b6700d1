package lifecycle

import (
	"fmt"
	"strings"
	"time"
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
	// Permanent children are always restarted, whether they failed or
	// returned cleanly. The default.
	Permanent Restart = iota
	// Transient children are restarted only when they fail (a non-nil
	// error from Err, including a panic).
	Transient
	// Temporary children are never restarted, not even when a sibling's
	// exit makes a OneForAll or RestForOne supervisor stop them.
	Temporary
)

// String returns the restart type's name, e.g. "permanent".
func (r Restart) String() string {
	switch r {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return fmt.Sprintf("Restart(%d)", int(r))
}

// restarts reports whether an exit (failed or not) calls for a restart.
func (r Restart) restarts(failed bool) bool {
	return r == Permanent || (r == Transient && failed)
}

// Defaults for [Config] and [Spec] fields left zero.
const (
	DefaultMaxRestarts  = 3                      // DefaultMaxRestarts is Config.MaxRestarts's default.
	DefaultPeriod       = 5 * time.Second        // DefaultPeriod is Config.Period's default.
	DefaultBackoff      = 100 * time.Millisecond // DefaultBackoff is Config.Backoff's default.
	DefaultMaxBackoff   = 5 * time.Second        // DefaultMaxBackoff is Config.MaxBackoff's default.
	DefaultQuietPeriod  = 10 * time.Second       // DefaultQuietPeriod is Config.QuietPeriod's default.
	DefaultStartTimeout = 5 * time.Second        // DefaultStartTimeout is Spec.StartTimeout's default.
	DefaultStopTimeout  = 5 * time.Second        // DefaultStopTimeout is Spec.StopTimeout's default.
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
	// *IntensityError. Default 3; negative means none: the first exit that
	// needs a restart fails the supervisor.
	MaxRestarts int
	// Period is the window MaxRestarts counts in. Default 5s.
	Period time.Duration
	// Backoff is the delay before a child's first restart; each further
	// restart of the same child doubles it, up to MaxBackoff. Default
	// 100ms; negative means restart at once, always.
	Backoff time.Duration
	// MaxBackoff caps the delay between restarts. Default 5s, or Backoff
	// if that is larger; a value below Backoff is refused.
	MaxBackoff time.Duration
	// QuietPeriod is how long a restarted child must run without exiting
	// for its backoff to start again from Backoff. Default 10s.
	QuietPeriod time.Duration
}

func (c Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"Period", c.Period}, {"MaxBackoff", c.MaxBackoff}, {"QuietPeriod", c.QuietPeriod}} {
		if f.v < 0 {
			return c, &ConfigError{Field: f.name, Reason: "must not be negative"}
		}
	}
	if c.Strategy < OneForOne || c.Strategy > RestForOne {
		return c, &ConfigError{Field: "Strategy", Reason: "is not OneForOne, OneForAll or RestForOne"}
	}
	if strings.Contains(c.Name, "/") {
		return c, &ConfigError{Field: "Name", Reason: `must not contain "/"`}
	}
	c.Name = orDefault(c.Name, "supervisor")
	c.MaxRestarts = orDefault(c.MaxRestarts, DefaultMaxRestarts)
	c.MaxRestarts = max(c.MaxRestarts, 0)
	c.Period = orDefault(c.Period, DefaultPeriod)
	c.Backoff = orDefault(c.Backoff, DefaultBackoff)
	c.Backoff = max(c.Backoff, 0)
	c.MaxBackoff = orDefault(c.MaxBackoff, max(DefaultMaxBackoff, c.Backoff))
	c.QuietPeriod = orDefault(c.QuietPeriod, DefaultQuietPeriod)
	if c.MaxBackoff < c.Backoff {
		return c, &ConfigError{Field: "MaxBackoff", Reason: "must not be less than Backoff"}
	}
	return c, nil
}

// Spec describes one child of a supervisor.
type Spec struct {
	// Name identifies the child among its siblings; required, unique,
	// without "/".
	Name string
	// New builds a fresh, not yet started child; it is called before every
	// start and restart, in start order. Required. See [Spawner],
	// [FromActor], [FromFunc], [FromServer] and [Sub].
	New func() (Child, error)
	// Restart says when the child is restarted. Default Permanent.
	Restart Restart
	// StartTimeout bounds the child's Start. Default 5s.
	StartTimeout time.Duration
	// StopTimeout bounds the child's Stop; a child that has not stopped by
	// then is abandoned and reported. Default 5s.
	StopTimeout time.Duration
}

func (s Spec) withDefaults(i int) (Spec, error) {
	field := func(f string) string { return fmt.Sprintf("Spec[%d].%s", i, f) }
	switch {
	case s.Name == "":
		return s, &ConfigError{Field: field("Name"), Reason: "is required"}
	case strings.Contains(s.Name, "/"):
		return s, &ConfigError{Field: field("Name"), Reason: `must not contain "/"`}
	case s.New == nil:
		return s, &ConfigError{Field: field("New"), Reason: "is required"}
	case s.Restart < Permanent || s.Restart > Temporary:
		return s, &ConfigError{Field: field("Restart"), Reason: "is not Permanent, Transient or Temporary"}
	case s.StartTimeout < 0 || s.StopTimeout < 0:
		return s, &ConfigError{Field: field("StartTimeout/StopTimeout"), Reason: "must not be negative"}
	}
	s.StartTimeout = orDefault(s.StartTimeout, DefaultStartTimeout)
	s.StopTimeout = orDefault(s.StopTimeout, DefaultStopTimeout)
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
			return nil, &ConfigError{Field: fmt.Sprintf("Spec[%d].Name", i), Reason: fmt.Sprintf("%q is used twice", s.Name)}
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
