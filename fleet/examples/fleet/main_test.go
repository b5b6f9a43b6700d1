package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
	"go.uber.org/goleak"
)

// exampleRedis is the address of the redis-server the examples use,
// started for the whole test binary.
var exampleRedis string

func TestMain(m *testing.M) {
	addr, stop, err := redistest.StartForMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exampleRedis = addr
	code := m.Run()
	stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// TestOutage runs the example against a real redis-server and checks the
// fleet's story: an open every replica saw, one probe owner per half-open,
// and a close after the upstream came back.
func TestOutage(t *testing.T) {
	srv := redistest.Start(t)
	up, err := startUpstream()
	if err != nil {
		t.Fatal(err)
	}
	defer up.close()
	ctx := context.Background()
	local, _, err := play(ctx, up, nil)
	if err != nil {
		t.Fatal(err)
	}
	fleet, s, err := play(ctx, up, &srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	report(&out, local, fleet, s)
	t.Log("\n" + out.String())
	if s.opened < 0 || s.closed < 0 {
		t.Fatalf("the fleet opened at %v and closed at %v", s.opened, s.closed)
	}
	for _, r := range replicas {
		if _, ok := s.refused[r.name]; !ok {
			t.Errorf("%s never refused", r.name)
		}
		if local[r.name] == 0 {
			t.Errorf("%s: no local call reached the dead upstream", r.name)
		}
	}
	owners := map[uint64]string{}
	for _, o := range s.owners {
		if prev, ok := owners[o.gen]; ok && prev != o.replica {
			t.Errorf("generation %d has two probe owners, %s and %s", o.gen, prev, o.replica)
		}
		owners[o.gen] = o.replica
	}
	if len(owners) == 0 {
		t.Error("no replica owned a probe")
	}
}

// TestRun is the program's own path, output included.
func TestRun(t *testing.T) {
	srv := redistest.Start(t)
	var out bytes.Buffer
	if err := run(context.Background(), srv.Addr, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("calls that reached the dead upstream")) {
		t.Fatalf("output:\n%s", out.String())
	}
}
