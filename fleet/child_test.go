package fleet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// childEnv holds the server address when the test binary runs as a
// replica process of TestProcesses.
const childEnv = "FLEET_TEST_CHILD_ADDR"

// runChild is one replica process: it calls a failing dependency through
// a fleet breaker, prints "open" once the fleet refuses, and exits when
// its stdin closes.
func runChild() int {
	client := redis.NewClient(&redis.Options{Addr: os.Getenv(childEnv)})
	defer client.Close()
	a, err := New(client, fastConfig())
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	_ = a.Start(context.Background())
	defer a.Stop(context.Background())
	local, _ := breaker.New(breaker.Config{FailureThreshold: 1000})
	defer local.Stop(context.Background())
	b, err := a.Breaker("payments", local)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	stdin := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stdin) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	said := false
	for {
		select {
		case <-stdin:
			return 0
		case <-tick.C:
		}
		err := b.Run(context.Background(), func(context.Context) error { return errors.New("down") })
		if !said && errors.Is(err, resilience.ErrOpen) {
			fmt.Println("open")
			said = true
		}
	}
}

// TestProcesses runs two replica processes against one server; their
// failures open the fleet for a third replica (this process) that saw
// none.
func TestProcesses(t *testing.T) {
	srv := redistest.Start(t)
	a := newAgent(t, srv, fastConfig())
	b, err := a.Breaker("payments", newLocal(t, breaker.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	var lines []*bufio.Reader
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+srv.Addr)
		stdin, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = stdin.Close()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill() // by its pid
				<-done
			}
		})
		lines = append(lines, bufio.NewReader(out))
	}
	eventually(t, 10*time.Second, "the fleet opens for the replica without failures", func() bool {
		return b.State() == "fleet open"
	})
	for i, r := range lines {
		line, err := r.ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "open" {
			t.Fatalf("child %d said %q, %v; want open", i, line, err)
		}
	}
	err = b.Run(context.Background(), func(context.Context) error { return nil })
	if !errors.Is(err, resilience.ErrOpen) {
		t.Fatalf("call on the open fleet: %v, want ErrOpen", err)
	}
}
