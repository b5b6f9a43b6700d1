package lifecycle

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run a real process (internal/testbin) and real signals, so
// they use real time, bounded by generous failure deadlines; they never
// sleep to wait for something.

type proc struct {
	cmd   *exec.Cmd
	lines chan string // stdout, line by line; closed at EOF
}

func startTestbin(t *testing.T, args ...string) *proc {
	t.Helper()
	if testing.Short() || runtime.GOOS == "windows" {
		t.Skip("builds and signals a process")
	}
	bin := filepath.Join(t.TempDir(), "testbin")
	out, err := exec.Command("go", "build", "-o", bin, "./internal/testbin").CombinedOutput()
	require.NoError(t, err, "build testbin: %s", out)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, lines: make(chan string, 64)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // no-op once it has exited
		for range p.lines {
		}
		_ = cmd.Wait()
	})
	return p
}

// expect reads lines until one starts with prefix and returns it.
func (p *proc) expect(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			require.True(t, ok, "testbin exited before printing %q", prefix)
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline.C:
			require.FailNow(t, "timed out waiting for "+prefix)
		}
	}
}

// exitCode drains stdout and waits for the process.
func (p *proc) exitCode(t *testing.T) int {
	t.Helper()
	for range p.lines {
	}
	err := p.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

func TestProcessSIGTERMDrainsInFlightRequests(t *testing.T) {
	p := startTestbin(t)
	addr := strings.TrimPrefix(p.expect(t, "listening "), "listening ")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	const n = 5
	type result struct {
		code int
		body string
		err  error
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := client.Get("http://" + addr + "/slow?ms=300")
			if err != nil {
				results <- result{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results <- result{code: resp.StatusCode, body: string(b), err: err}
		})
	}
	for range n {
		p.expect(t, "begin")
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	wg.Wait()
	close(results)
	for r := range results {
		require.NoError(t, r.err, "a request in flight at SIGTERM must complete")
		assert.Equal(t, http.StatusOK, r.code)
		assert.Equal(t, "done", r.body)
	}
	assert.Equal(t, 0, p.exitCode(t), "a graceful shutdown exits 0")
}

func TestProcessSecondSignalForcesExit(t *testing.T) {
	p := startTestbin(t, "-propagation=1h") // the first signal alone would take an hour
	p.expect(t, "listening ")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	p.expect(t, "shutting down")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan int, 1)
	go func() { done <- p.exitCode(t) }()
	select {
	case code := <-done:
		assert.Equal(t, 128+int(syscall.SIGTERM), code, "forced exit with 128+SIGTERM")
	case <-time.After(30 * time.Second):
		require.FailNow(t, "the second signal did not force an exit")
	}
}

func TestNotifyContextInProcess(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("signals")
	}
	forced := make(chan os.Signal, 1)
	ctx, stop := NotifyContext(context.Background(), func(sig os.Signal) { forced <- sig })
	defer stop()
	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGTERM))
	<-ctx.Done()
	var se *SignalError
	require.ErrorAs(t, context.Cause(ctx), &se)
	assert.Equal(t, syscall.SIGTERM, se.Signal)
	assert.Empty(t, forced, "one signal does not force")

	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGINT))
	assert.Equal(t, os.Signal(syscall.SIGINT), <-forced)
	assert.Equal(t, 130, ExitCode(syscall.SIGINT))
}
