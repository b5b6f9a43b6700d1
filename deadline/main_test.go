package deadline

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/llm-research-lab/resilience"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// timerCases is the set of ways a call can be timed; most tests run on
// each: the shared timer (a nil *Watchdog) and a Watchdog of the test's.
var timerCases = []struct {
	name string
	new  func(t *testing.T) *Watchdog
}{
	{"shared", func(*testing.T) *Watchdog { return nil }},
	{"watchdog", newWatchdog},
}

// newWatchdog starts a Watchdog that is stopped when t ends.
func newWatchdog(t *testing.T) *Watchdog {
	t.Helper()
	w, err := New(Config{Shards: 4})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, w.Stop(context.Background())) })
	return w
}

// limit is an operation's name and timeout, as the tests use them.
type limit struct {
	Op      string
	Timeout time.Duration
}

// pipeline is the Pipeline that times a call under lim on w (the shared
// timer if w is nil).
func pipeline(w *Watchdog, lim limit) *resilience.Pipeline {
	p := &resilience.Pipeline{Name: lim.Op, Timeout: lim.Timeout}
	if w != nil {
		p.Timer = w
	}
	return p
}

// run calls fn under lim, timed by w, through a Pipeline.
func run(ctx context.Context, w *Watchdog, lim limit, fn func(context.Context) error) error {
	return pipeline(w, lim).Run(ctx, fn)
}

// randomCall sleeps up to maxStart, then runs a call whose work lasts up to
// maxWork under a limit of up to maxLimit, all drawn from r, and checks
// that it ends exactly when its work or its limit does (virtual time).
// It returns the function to run on its own goroutine; r is read now.
func randomCall(t *testing.T, w *Watchdog, r *rand.Rand, maxLimit, maxWork, maxStart int, label string) func() {
	lim := limit{Timeout: time.Duration(1+r.IntN(maxLimit)) * time.Millisecond}
	work := time.Duration(r.IntN(maxWork)) * time.Millisecond
	start := time.Duration(r.IntN(maxStart)) * time.Millisecond
	return func() {
		time.Sleep(start)
		began := time.Now()
		err := run(context.Background(), w, lim, func(ctx context.Context) error {
			select {
			case <-time.After(work):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		took := time.Since(began)
		switch {
		case work < lim.Timeout:
			assert.NoError(t, err, label)
			assert.Equal(t, work, took, label)
		case work > lim.Timeout:
			assert.ErrorIs(t, err, resilience.ErrTimeout, label)
			assert.Equal(t, lim.Timeout, took, "%s ends at its limit", label)
		}
	}
}
