package timers_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience/internal/timers"
)

// A Set hands out contexts with a timeout, all served by one runtime timer.
// Release takes a call's deadline out as soon as its work returns.
func ExampleSet() {
	s := timers.New(0)
	ctx := s.Arm(context.Background(), time.Hour)
	expired := ctx.Release()
	fmt.Println(expired, errors.Is(ctx.Err(), context.Canceled), s.Pending())
	// Output: false true 0
}
