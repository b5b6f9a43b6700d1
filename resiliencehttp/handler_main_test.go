package resiliencehttp

import (
	"testing"

	"go.uber.org/goleak"
)

// checkLeaks fails t if goroutines are left running when it ends. Call it
// first, so that it runs after every other cleanup.
func checkLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}
