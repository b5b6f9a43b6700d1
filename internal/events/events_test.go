package events_test

import (
	"fmt"
	"sync/atomic"

	"github.com/llm-research-lab/resilience/internal/events"
)

// A channel with room for one event: the second send is dropped and
// counted, and a nil channel is ignored.
func ExampleSend() {
	var dropped atomic.Uint64
	ch := make(chan string, 1)
	events.Send(ch, "opened", &dropped)
	events.Send(ch, "closed", &dropped)
	events.Send[string](nil, "ignored", &dropped)
	fmt.Println(<-ch, dropped.Load())
	// Output: opened 1
}
