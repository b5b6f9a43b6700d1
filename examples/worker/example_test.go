package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
)

// The worker end to end. Inventory's line and the lost counts are the same
// on every run; how many email jobs the open breaker refused depends on
// timing, so the example prints only whether it refused some.
func Example() {
	var out bytes.Buffer
	if err := run(context.Background(), &out, 50); err != nil {
		panic(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		switch {
		case strings.HasPrefix(line, "email"):
			fmt.Println("email: every job answered:", strings.Contains(line, "(lost 0)"),
				"- some refused by the open breaker:", !strings.Contains(line, "refused by the open breaker   0"))
		default:
			fmt.Println(line)
		}
	}
	// Output:
	// 50 orders, one job per order for each dependency
	// inventory accepted  50, answered  50 (lost 0): ok  50, failed   0, refused by the open breaker   0; calls that reached it  50
	// email: every job answered: true - some refused by the open breaker: true
	// tree stopped cleanly, in reverse start order
}
