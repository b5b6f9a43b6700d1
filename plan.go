package resilience

import (
	"context"
	"time"
)

// Plan is one call's retry loop, stepped by a caller that runs the attempts
// itself, such as [Submit], which runs each attempt as its own job and
// waits between them without holding a goroutine. A retry policy makes one
// per call (retry.Policy.Plan). A Plan is used by one caller at a time.
type Plan interface {
	// Next is told how the attempt just made ended; it reports whether to
	// try again and after how long.
	Next(err error) (wait time.Duration, again bool)
	// Err is the error the call ends with once Next has said stop (nil
	// after a success): the policy's own error, which wraps the last
	// attempt's.
	Err() error
}

// planner is a retry policy that can hand out a [Plan] per call. Its Run
// numbers the attempts it makes with [WithAttempt], as a Plan's caller
// does, so a Pipeline adds no numbering of its own.
type planner interface {
	Plan(ctx context.Context) Plan
}
