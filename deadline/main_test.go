package deadline

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// timers is the set of ways a call can be timed; most tests run on each.
var timers = []struct {
	name string
	new  func(t *testing.T) *Scheduler
}{
	{"runtime", func(*testing.T) *Scheduler { return nil }},
	{"scheduler", newScheduler},
}

// newScheduler starts a Scheduler that is stopped when t ends.
func newScheduler(t *testing.T) *Scheduler {
	t.Helper()
	s, err := New(Config{Shards: 4})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Stop(context.Background())) })
	return s
}
