package deadline

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

func TestTable(t *testing.T) {
	tbl, err := NewTable(30*time.Second, map[string]time.Duration{
		"fast_query": 5 * time.Second,
		"slow_batch": 300 * time.Second,
	})
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, tbl.Limit("fast_query"))
	assert.Equal(t, 30*time.Second, tbl.Limit("other"))

	require.NoError(t, tbl.Set("other", time.Second))
	assert.Equal(t, time.Second, tbl.Limit("other"))
	tbl.Delete("other")
	assert.Equal(t, 30*time.Second, tbl.Limit("other"))
	require.NoError(t, tbl.SetDefault(time.Minute))
	assert.Equal(t, time.Minute, tbl.Default())
	assert.Equal(t, 5*time.Second, tbl.Limit("fast_query"), "overrides survive a new default")
}

func TestTableZeroValue(t *testing.T) {
	var tbl Table
	assert.Equal(t, defaultTimeout, tbl.Limit("x"))
	require.NoError(t, tbl.Set("x", time.Second))
	assert.Equal(t, time.Second, tbl.Limit("x"))
	assert.Equal(t, defaultTimeout, tbl.Limit("y"))

	def, err := NewTable(0, nil)
	require.NoError(t, err)
	assert.Equal(t, defaultTimeout, def.Default())
}

func TestTableBadInput(t *testing.T) {
	cases := []struct {
		name  string
		do    func() error
		field string
	}{
		{"negative default", func() error { _, err := NewTable(-1, nil); return err }, "deadline.Table.Default"},
		{"zero override", func() error { _, err := NewTable(0, map[string]time.Duration{"a": 0}); return err }, `deadline.Table["a"]`},
		{"negative Set", func() error { return (&Table{}).Set("b", -time.Second) }, `deadline.Table["b"]`},
		{"zero SetDefault", func() error { return (&Table{}).SetDefault(0) }, "deadline.Table.Default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ce *resilience.ConfigError
			require.ErrorAs(t, tc.do(), &ce)
			assert.Equal(t, tc.field, ce.Field)
		})
	}
}

func TestTableCopiesOverrides(t *testing.T) {
	m := map[string]time.Duration{"a": time.Second}
	tbl, err := NewTable(0, m)
	require.NoError(t, err)
	m["a"] = time.Hour
	assert.Equal(t, time.Second, tbl.Limit("a"))
}

func TestTableLookupAllocs(t *testing.T) {
	tbl, err := NewTable(0, map[string]time.Duration{"a": time.Second})
	require.NoError(t, err)
	op := "a"
	allocs := testing.AllocsPerRun(100, func() { _ = tbl.Limit(op) })
	assert.Zero(t, allocs, "lookups must not allocate")
}

// Readers and writers at once, for the race detector.
func TestTableConcurrent(t *testing.T) {
	var tbl Table
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				d := tbl.Limit("k")
				assert.True(t, d == defaultTimeout || d == time.Second)
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			assert.NoError(t, tbl.Set("k", time.Second))
			tbl.Delete("k")
		}
	})
	wg.Wait()
}
