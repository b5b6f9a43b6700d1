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
	"github.com/llm-research-lab/resilience/limit"
	"github.com/redis/go-redis/v9"
)

// childEnv holds the server address when the test binary runs as a
// replica process of TestProcesses.
const childEnv = "FLEET_TEST_CHILD_ADDR"

// childModeEnv picks what a replica process does: "limit" floods the
// fleet limiter of TestProcessesShareOneRate; otherwise it fails calls
// through a fleet breaker.
const childModeEnv = "FLEET_TEST_CHILD_MODE"

// processRate is the fleet limit TestProcessesShareOneRate floods.
var processRate = limit.Config{Name: "search", PerSecond: 100, Burst: 10}

// runLimitChild floods the fleet limiter for 1.5s once it holds a lease,
// and prints how many calls it admitted.
func runLimitChild() int {
	client := redis.NewClient(&redis.Options{Addr: os.Getenv(childEnv)})
	defer client.Close()
	a, err := New(client, fastConfig())
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	l, err := a.Limiter(processRate)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	_ = a.Start(context.Background())
	defer a.Stop(context.Background())
	for deadline := time.Now().Add(5 * time.Second); l.fallback.Load() != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			fmt.Println("error no lease")
			return 1
		}
	}
	n, _, err := flood([]*Limiter{l}, 1500*time.Millisecond)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("admitted", n)
	return 0
}

// runChild is one replica process: it calls a failing dependency through
// a fleet breaker, prints "open" once the fleet refuses, and exits when
// its stdin closes.
func runChild() int {
	if os.Getenv(childModeEnv) == "limit" {
		return runLimitChild()
	}
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

// TestProcessesShareOneRate floods one fleet limiter from two replica
// processes and this one: together they stay within the rate and its
// stated overshoot.
func TestProcessesShareOneRate(t *testing.T) {
	srv := redistest.Start(t)
	start := time.Now()
	var outs []*bufio.Reader
	var cmds []*exec.Cmd
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+srv.Addr, childModeEnv+"=limit")
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill() // by its pid
				_ = cmd.Wait()
			}
		})
		outs, cmds = append(outs, bufio.NewReader(out)), append(cmds, cmd)
	}
	_, ls := limiters(t, srv, 1, processRate)
	total, _, err := flood(ls, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range outs {
		line, _ := r.ReadString('\n')
		var n int64
		if _, err := fmt.Sscanf(line, "admitted %d", &n); err != nil {
			t.Fatalf("child %d said %q", i, line)
		}
		total += n
		if err := cmds[i].Wait(); err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
	}
	took := time.Since(start) // covers every process's flood
	lease := min(float64(processRate.Burst), processRate.PerSecond*2*fastConfig().TroubleInterval.Seconds())
	bound := processRate.PerSecond*took.Seconds() + float64(processRate.Burst) + 3*lease
	t.Logf("3 processes admitted %d within %v; bound %.0f", total, took, bound)
	if float64(total) > bound || float64(total) < 0.5*processRate.PerSecond*1.5 {
		t.Fatalf("3 processes admitted %d within %v, want between %.0f and %.0f", total, took, 0.5*processRate.PerSecond*1.5, bound)
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
