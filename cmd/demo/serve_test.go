package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeDrainsOnSIGTERM builds the binary, runs it with -serve, holds
// requests in flight, sends SIGTERM, and checks that /readyz failed while
// they were still running, that every one of them completed with 200, and
// that the process exited 0 after a clean shutdown.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "demo")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	cmd := exec.Command(bin, "-serve", "-addr", "127.0.0.1")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	var rest strings.Builder
	var readers sync.WaitGroup
	readers.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "gateway listening on "); ok {
				lines <- u
			}
			rest.WriteString(sc.Text() + "\n")
		}
	})
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // no-op once it has exited
		readers.Wait()
	})

	var base string
	select {
	case base = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not report its address")
	}
	client := &http.Client{Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	get := func(path string) (int, string) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	for range 5 {
		code, _ := get("/api/payments")
		assert.Equal(t, http.StatusOK, code, "payments is healthy at start")
	}
	code, body := get("/metrics")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `resilience_breaker_state{name="payments"} 0`)
	code, body = get("/debug/breakers")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"name": "payments"`)

	// Requests that take 1.5s each, in flight when the signal arrives.
	const inflight = 4
	var done atomic.Int32
	codes := make(chan int, inflight)
	var reqs sync.WaitGroup
	for range inflight {
		reqs.Go(func() {
			c, _ := get("/api/reports?work=1500ms")
			done.Add(1)
			codes <- c
		})
	}
	require.Eventually(t, func() bool {
		_, m := get("/metrics")
		return strings.Contains(m, "gateway_inflight_requests 4")
	}, 10*time.Second, 10*time.Millisecond, "the requests should be in flight")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool {
		c, _ := get("/readyz")
		return c == http.StatusServiceUnavailable
	}, 5*time.Second, 5*time.Millisecond, "/readyz should fail once shutdown begins")
	assert.Zero(t, done.Load(), "/readyz must fail before the requests in flight complete")

	reqs.Wait()
	close(codes)
	for c := range codes {
		assert.Equal(t, http.StatusOK, c, "a request in flight at SIGTERM must complete")
	}
	go func() {
		readers.Wait() // stdout reaches EOF when the process exits
		exited <- cmd.Wait()
	}()
	select {
	case err := <-exited:
		require.NoError(t, err, "the demo should exit 0 after a graceful shutdown; output:\n%s", rest.String())
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not exit after SIGTERM")
	}
	t.Log("\n" + rest.String())
	assert.Contains(t, rest.String(), ": clean")
}
