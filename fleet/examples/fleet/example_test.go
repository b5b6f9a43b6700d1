package main

import (
	"context"
	"fmt"
)

// Three replicas share one Redis while their upstream dies and comes back.
// The times vary from run to run; the story does not.
func Example() {
	up, err := startUpstream()
	if err != nil {
		panic(err)
	}
	defer up.close()
	_, s, err := play(context.Background(), up, &exampleRedis)
	if err != nil {
		panic(err)
	}
	owners := map[uint64]string{}
	one := true
	for _, o := range s.owners {
		if prev, ok := owners[o.gen]; ok && prev != o.replica {
			one = false
		}
		owners[o.gen] = o.replica
	}
	fmt.Println("the fleet opened:", s.opened >= 0)
	fmt.Println("every replica refused calls:", len(s.refused) == len(replicas))
	fmt.Println("one probe owner per half-open:", one && len(owners) > 0)
	fmt.Println("the fleet closed after the upstream came back:", s.closed >= 0)
	// Output:
	// the fleet opened: true
	// every replica refused calls: true
	// one probe owner per half-open: true
	// the fleet closed after the upstream came back: true
}
