package deadline

import (
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestAdaptiveDerive(t *testing.T) {
	base := Adaptive{Percentile: 0.9, Factor: 2, Min: 5 * time.Millisecond, Max: time.Second}
	cases := []struct {
		name     string
		a        Adaptive
		observed []time.Duration
		want     time.Duration
	}{
		{"nothing observed", base, nil, time.Second},
		{"p90 of ten, doubled", base, ms(10, 1, 2, 3, 4, 5, 6, 7, 8, 9), 18 * time.Millisecond},
		{"p100", Adaptive{Percentile: 1, Factor: 1, Min: 1, Max: time.Second}, ms(3, 7, 5), 7 * time.Millisecond},
		{"clamped up to Min", base, ms(1, 1, 1), 5 * time.Millisecond},
		{"clamped down to Max", base, ms(900, 900), time.Second},
		{"huge factor saturates", Adaptive{Percentile: 0.5, Factor: math.MaxFloat64, Min: 1, Max: time.Hour}, ms(1), time.Hour},
		{"tiny percentile takes the smallest", Adaptive{Percentile: 1e-9, Factor: 1, Min: 1, Max: time.Hour}, ms(4, 2, 9), 2 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.a.Derive(tc.observed))
		})
	}
}

func TestAdaptiveConfig(t *testing.T) {
	cases := []struct {
		name  string
		a     Adaptive
		field string
	}{
		{"no Max", Adaptive{}, "deadline.Adaptive.Max"},
		{"Max below Min", Adaptive{Min: time.Second, Max: time.Millisecond}, "deadline.Adaptive.Max"},
		{"percentile above 1", Adaptive{Percentile: 1.5, Max: time.Second}, "deadline.Adaptive.Percentile"},
		{"percentile NaN", Adaptive{Percentile: math.NaN(), Max: time.Second}, "deadline.Adaptive.Percentile"},
		{"factor below 1", Adaptive{Factor: 0.5, Max: time.Second}, "deadline.Adaptive.Factor"},
		{"factor infinite", Adaptive{Factor: math.Inf(1), Max: time.Second}, "deadline.Adaptive.Factor"},
		{"negative Min", Adaptive{Min: -1, Max: time.Second}, "deadline.Adaptive.Min"},
		{"negative Window", Adaptive{Window: -1, Max: time.Second}, "deadline.Adaptive.Window"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ce *resilience.ConfigError
			require.ErrorAs(t, (&Table{}).SetAdaptive("op", tc.a), &ce)
			assert.Equal(t, tc.field, ce.Field)
		})
	}
}

func TestAdaptiveTable(t *testing.T) {
	var tbl Table
	require.NoError(t, tbl.SetAdaptive("op", Adaptive{Max: time.Second, Window: 100}))
	assert.Equal(t, time.Second, tbl.Limit("op"), "Max until a tenth of the window is seen")
	for range 9 {
		tbl.Observe("op", 10*time.Millisecond)
	}
	assert.Equal(t, time.Second, tbl.Limit("op"))
	tbl.Observe("op", 10*time.Millisecond)
	assert.Equal(t, 20*time.Millisecond, tbl.Limit("op"), "p99 × 2 after ten observations")
	for range 200 { // the window slides: old observations fall out
		tbl.Observe("op", 40*time.Millisecond)
	}
	assert.Equal(t, 80*time.Millisecond, tbl.Limit("op"))

	tbl.Observe("other", time.Hour) // not adaptive: ignored
	assert.Equal(t, defaultTimeout, tbl.Limit("other"))
	allocs := testing.AllocsPerRun(100, func() { _ = tbl.Limit("op") })
	assert.Zero(t, allocs)
}

func TestAdaptiveMiddleware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tbl Table
		require.NoError(t, tbl.SetAdaptive("/x", Adaptive{Max: time.Second, Window: 10}))
		mw, err := Middleware(HTTPConfig{Table: &tbl, Watchdog: newWatchdog(t)})
		require.NoError(t, err)
		h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(30 * time.Millisecond)
		}))
		for range 10 {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
		}
		assert.Equal(t, 60*time.Millisecond, tbl.Limit("/x"), "the route's limit follows its latency")
	})
}
