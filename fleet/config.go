package fleet

import (
	"math"
	"time"

	"github.com/llm-research-lab/resilience"
)

// Config configures [New]. Every zero field means the documented default.
type Config struct {
	// Namespace prefixes every key and the Pub/Sub channel, so several
	// applications can share one Redis. Lowercase letters, digits, '-' and
	// '_', at most 32. Default "resilience".
	Namespace string
	// Secret keys the HMAC that turns dependency and replica names into the
	// labels stored in Redis, so Redis never holds a host, tenant or pod
	// name. Every replica of a fleet must use the same secret. Empty means
	// the namespace is the key: the labels are still opaque, but anyone who
	// can guess a name can recompute its label.
	Secret []byte
	// Replica names this process (a pod or host name); only its HMAC is
	// stored. Empty means a random name per Agent.
	Replica string

	// Window is how far back the fleet counts calls for the trip rule and
	// the retry budget. It slides in fifths. Default 10s.
	Window time.Duration
	// MinimumCalls is the number of calls the fleet's window must hold
	// before its failure rate can open the fleet. Default 20.
	MinimumCalls int
	// FailureRate, in (0, 1], is the fleet's failure rate that opens it
	// (with MinimumCalls and the quorum), over the whole window or over its
	// newest two fifths. A call refused by a replica's open local breaker
	// counts as a failed call. Default 0.5.
	FailureRate float64
	// Quorum is the least number of replicas that must be failing on their
	// own evidence (their local breaker opened, or at least 3 failures at
	// FailureRate in their own part of the window) before the fleet opens.
	// It is capped at the number of active replicas, so a fleet of one
	// behaves like its local breaker. Default 2.
	Quorum int
	// QuorumFraction, in [0, 1], raises the quorum to this fraction of the
	// active replicas (rounded up) when that is more than Quorum. Default
	// 0.25; negative means 0.
	QuorumFraction float64
	// OpenTimeout is how long the fleet stays open before one replica may
	// probe. Default 30s.
	OpenTimeout time.Duration
	// ProbeSuccesses is how many successful calls the probing replica must
	// see (and no failure) before it closes the fleet. Default 3.
	ProbeSuccesses int

	// FlushCalls is how many calls on one dependency make the agent flush
	// its counts before the quiet interval. Default 100.
	FlushCalls int
	// QuietInterval is the longest time between two flushes of a dependency
	// while it is healthy; it also keeps the replica counted as active.
	// It must be below Window. Default 3s.
	QuietInterval time.Duration
	// TroubleInterval is the time between flushes of a dependency while this
	// replica sees failures or the fleet is not closed; it is also the
	// agent's tick. Default 100ms.
	TroubleInterval time.Duration
	// OpTimeout bounds every Redis operation; an operation that takes
	// longer counts as a failure of the agent's own breaker. Default 250ms.
	OpTimeout time.Duration
	// FallbackReplicas is the number of replicas a fleet limiter divides its
	// rate by while Redis is unreachable. Default: the number the fleet
	// last reported (1 before any report).
	FallbackReplicas int

	// Events, if set, receives the agent's state changes: its connection
	// and each dependency's fleet state. Sends never block; when the channel
	// is full the event is dropped and counted in [Metrics].EventsDropped.
	Events chan<- Event
}

// Event is one change seen by the agent, as sent on Config.Events.
type Event struct {
	// Name is the dependency's name; empty for a change of the agent's
	// connection.
	Name string
	// Change is "connected" or "degraded" for the connection; for a
	// dependency, "fleet open", "fleet half-open", "probe owner" or
	// "fleet closed" (also sent when Redis is lost and the dependency goes
	// back to its local breaker).
	Change string
	// Generation is the fleet generation of the dependency's state: it
	// grows with every change, even across a restarted Redis (it is the
	// Redis time in ms of the change, or one more than the previous one).
	// Zero for the connection and before the first change.
	Generation uint64
	// At is when the agent saw the change.
	At time.Time
}

// defaults returns cfg with every zero field set, or a ConfigError.
func (cfg Config) defaults() (Config, error) {
	setDuration(&cfg.Window, 10*time.Second)
	setInt(&cfg.MinimumCalls, 20)
	setInt(&cfg.Quorum, 2)
	setInt(&cfg.ProbeSuccesses, 3)
	setInt(&cfg.FlushCalls, 100)
	setDuration(&cfg.OpenTimeout, 30*time.Second)
	setDuration(&cfg.QuietInterval, 3*time.Second)
	setDuration(&cfg.TroubleInterval, 100*time.Millisecond)
	setDuration(&cfg.OpTimeout, 250*time.Millisecond)
	if cfg.Namespace == "" {
		cfg.Namespace = "resilience"
	}
	if cfg.FailureRate == 0 {
		cfg.FailureRate = 0.5
	}
	if cfg.QuorumFraction == 0 {
		cfg.QuorumFraction = 0.25
	}
	cfg.QuorumFraction = max(0, cfg.QuorumFraction)
	return cfg, cfg.check()
}

func (cfg Config) check() error {
	switch {
	case !namespacePattern.MatchString(cfg.Namespace):
		return configError("Namespace", "must be 1 to 32 of a-z, 0-9, '-' and '_'")
	case cfg.Window < 10*time.Millisecond || cfg.Window > 24*time.Hour:
		return configError("Window", "must be between 10ms and 24h")
	case cfg.MinimumCalls < 1 || cfg.MinimumCalls > 1e9:
		return configError("MinimumCalls", "must be between 1 and 1e9")
	case math.IsNaN(cfg.FailureRate) || cfg.FailureRate <= 0 || cfg.FailureRate > 1:
		return configError("FailureRate", "must be in (0, 1]")
	case cfg.Quorum < 1 || cfg.Quorum > 1e6:
		return configError("Quorum", "must be between 1 and 1e6")
	case math.IsNaN(cfg.QuorumFraction) || cfg.QuorumFraction > 1:
		return configError("QuorumFraction", "must be in [0, 1]")
	case cfg.OpenTimeout < time.Millisecond || cfg.OpenTimeout > 7*24*time.Hour:
		return configError("OpenTimeout", "must be between 1ms and 7 days")
	case cfg.ProbeSuccesses < 1:
		return configError("ProbeSuccesses", "must not be negative")
	case cfg.FlushCalls < 1:
		return configError("FlushCalls", "must not be negative")
	case cfg.TroubleInterval < time.Millisecond || cfg.TroubleInterval > cfg.QuietInterval:
		return configError("TroubleInterval", "must be between 1ms and QuietInterval")
	case cfg.QuietInterval >= cfg.Window:
		return configError("QuietInterval", "must be below Window")
	case cfg.OpTimeout < time.Millisecond:
		return configError("OpTimeout", "must not be negative")
	case cfg.FallbackReplicas < 0:
		return configError("FallbackReplicas", "must not be negative")
	}
	return nil
}

func setInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

func setDuration(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}

func configError(field, reason string) error {
	return &resilience.ConfigError{Field: "fleet.Config." + field, Reason: reason}
}
