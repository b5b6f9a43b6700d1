package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the worker end to end and checks what its summary claims:
// every accepted job answered, inventory always ok, and the open email
// breaker sparing email calls it would have failed.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, 100))
	text := out.String()
	t.Log("\n" + text)

	line := regexp.MustCompile(`(?m)^(\w+)\s+accepted\s+(\d+), answered\s+(\d+) \(lost (\d+)\): ok\s+(\d+), failed\s+(\d+), refused by the open breaker\s+(\d+); calls that reached it\s+(\d+)$`)
	rows := map[string][]int{}
	for _, m := range line.FindAllStringSubmatch(text, -1) {
		for _, v := range m[2:] {
			n, _ := strconv.Atoi(v)
			rows[m[1]] = append(rows[m[1]], n)
		}
	}
	require.Len(t, rows, 2, "one summary line per dependency")
	inv, email := rows["inventory"], rows["email"]
	assert.Equal(t, []int{100, 100, 0, 100, 0, 0, 100}, inv, "inventory: every job accepted and ok, one call each")
	assert.Equal(t, 100, email[0], "every email job accepted")
	assert.Zero(t, email[2], "no email job lost")
	assert.Positive(t, email[5], "the open breaker refused some email jobs")
	assert.Less(t, email[6], 3*100, "refused jobs cost no call: fewer calls than three attempts per job")
	assert.Contains(t, text, "tree stopped cleanly")
}
