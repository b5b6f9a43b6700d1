package breaker

import (
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mustDefaults(t *testing.T, cfg Config) Config {
	t.Helper()
	cfg, err := cfg.withDefaults()
	require.NoError(t, err)
	return cfg
}

// step is one input to the machine in a table test.
type step struct {
	op      string // trip, timeout, admit, ok, fail, ignore, stale, forceOpen, forceClose, reset
	want    State  // state after the step
	wantErr error  // for admit
}

func TestMachineTransitions(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"trip then timeout gives half-open", Config{}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
		}},
		{"two probe successes close", Config{}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: Closed},
		}},
		{"any probe failure reopens", Config{}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: Open},
		}},
		{"ignored probe frees its slot only", Config{HalfOpenMaxRequests: 1}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "admit", want: HalfOpen, wantErr: errProbesBusy},
			{op: "ignore", want: HalfOpen}, {op: "admit", want: HalfOpen},
		}},
		{"probe slots are separate from the success threshold", Config{HalfOpenMaxRequests: 1, SuccessThreshold: 3}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "admit", want: HalfOpen, wantErr: errProbesBusy},
			{op: "ok", want: HalfOpen}, {op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: Closed},
		}},
		{"three slots, fourth rejected", Config{}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "admit", want: HalfOpen}, {op: "admit", want: HalfOpen},
			{op: "admit", want: HalfOpen, wantErr: errProbesBusy},
		}},
		{"admit outside half-open says moved", Config{}, []step{
			{op: "admit", want: Closed, wantErr: errMoved},
			{op: "trip", want: Open}, {op: "admit", want: Open, wantErr: errMoved},
		}},
		{"stale results change nothing", Config{}, []step{
			{op: "trip", want: Open}, {op: "stale", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "stale", want: HalfOpen}, {op: "trip", want: HalfOpen},
		}},
		{"forced open ignores its timer", Config{}, []step{
			{op: "forceOpen", want: Open}, {op: "timeout", want: Open}, {op: "reset", want: Closed},
		}},
		{"forced closed does not trip", Config{}, []step{
			{op: "forceClose", want: Closed}, {op: "trip", want: Closed},
			{op: "reset", want: Closed}, {op: "trip", want: Open},
		}},
		{"force close from half-open", Config{}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen}, {op: "forceClose", want: Closed},
		}},
		{"force half-open from closed, then probes close", Config{SuccessThreshold: 1}, []step{
			{op: "forceHalfOpen", want: HalfOpen}, {op: "admit", want: HalfOpen}, {op: "ok", want: Closed},
		}},
		{"force half-open releases a forced open", Config{}, []step{
			{op: "forceOpen", want: Open}, {op: "forceHalfOpen", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: Open}, {op: "timeout", want: HalfOpen},
		}},
		{"half-open failure threshold of 3", Config{HalfOpenFailureThreshold: 3, SuccessThreshold: 3}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: Open},
		}},
		{"a probe failure breaks the run of successes", Config{HalfOpenFailureThreshold: 2, SuccessThreshold: 2}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: Closed},
		}},
		{"ratio met closes once enough probes finished", Config{HalfOpenSuccessRatio: 0.6, SuccessThreshold: 5}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: Closed},
		}},
		{"ratio missed reopens", Config{HalfOpenSuccessRatio: 0.8, SuccessThreshold: 5}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: Open},
		}},
		{"ignored probes do not count towards the ratio", Config{HalfOpenSuccessRatio: 0.5, SuccessThreshold: 2}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ignore", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "ok", want: Closed},
		}},
		{"ratio with an early failure limit", Config{HalfOpenSuccessRatio: 0.5, SuccessThreshold: 10, HalfOpenFailureThreshold: 2}, []step{
			{op: "trip", want: Open}, {op: "timeout", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: HalfOpen},
			{op: "admit", want: HalfOpen}, {op: "fail", want: Open},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustDefaults(t, tt.cfg)
			m := newMachine(&cfg)
			for i, st := range tt.steps {
				gen := m.gen
				var err error
				switch st.op {
				case "trip":
					m.trip(gen, t0, 0, reasonFailures)
				case "timeout":
					m.timeout(gen)
				case "admit":
					err = m.admit()
				case "ok":
					m.probe(gen, resilience.Success, t0, 0)
				case "fail":
					m.probe(gen, resilience.Failure, t0, 0)
				case "ignore":
					m.probe(gen, resilience.Ignored, t0, 0)
				case "stale":
					m.probe(gen-1, resilience.Failure, t0, 0)
					m.timeout(gen - 1)
				case "forceOpen":
					m.forceOpen()
				case "forceClose":
					m.forceClose()
				case "forceHalfOpen":
					m.forceHalfOpen()
				case "reset":
					m.reset()
				}
				require.ErrorIs(t, err, st.wantErr, "step %d (%s)", i, st.op)
				if st.wantErr == nil {
					require.NoError(t, err, "step %d (%s)", i, st.op)
				}
				require.Equal(t, st.want, m.state, "step %d (%s)", i, st.op)
			}
		})
	}
}

func TestMachineGenerationBumpsOnEveryTransition(t *testing.T) {
	cfg := mustDefaults(t, Config{})
	m := newMachine(&cfg)
	g := m.gen
	tr, ok := m.trip(g, t0, 0, reasonFailures)
	require.True(t, ok)
	assert.Equal(t, g+1, tr.gen)
	assert.Equal(t, transition{from: Closed, to: Open, gen: g + 1, reason: reasonFailures}, tr)
	_, ok = m.trip(g, t0, 0, reasonFailures)
	assert.False(t, ok, "a second trip for the same generation must be a no-op")
}

func TestMachineOpenUntilFollowsBackoff(t *testing.T) {
	cfg := mustDefaults(t, Config{OpenTimeout: time.Second, OpenBackoff: 2, MaxOpenTimeout: 5 * time.Second})
	m := newMachine(&cfg)
	m.trip(m.gen, t0, 0, reasonFailures)
	assert.Equal(t, t0.Add(time.Second), m.until)
	var waits []time.Duration
	for range 4 {
		m.timeout(m.gen)
		require.NoError(t, m.admit())
		m.probe(m.gen, resilience.Failure, t0, 0)
		waits = append(waits, m.until.Sub(t0))
	}
	assert.Equal(t, []time.Duration{2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}, waits)
	m.forceClose()
	m.reset()
	m.trip(m.gen, t0, 0, reasonFailures)
	assert.Equal(t, t0.Add(time.Second), m.until, "closing resets the backoff")
}

func TestOpenTimeout(t *testing.T) {
	base := Config{OpenTimeout: time.Second, OpenBackoff: 2, MaxOpenTimeout: time.Minute}
	tests := []struct {
		name    string
		cfg     Config
		reopens int
		u       float64
		want    time.Duration
	}{
		{"first opening", base, 0, 0, time.Second},
		{"grows by the factor", base, 3, 0, 8 * time.Second},
		{"capped", base, 10, 0, time.Minute},
		{"huge attempt never overflows", base, 1 << 30, 0, time.Minute},
		{"no backoff stays flat", Config{OpenTimeout: time.Second}, 50, 0, time.Second},
		{"jitter shortens by up to the fraction", Config{OpenTimeout: time.Second, OpenJitter: 0.5}, 0, 0.5, 750 * time.Millisecond},
		{"jitter at u=0 is none", Config{OpenTimeout: time.Second, OpenJitter: 0.5}, 0, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := openTimeout(mustDefaults(t, tt.cfg), tt.reopens, tt.u)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCountWindow(t *testing.T) {
	w := &countWindow{pos: make([]uint64, 4)}
	w.reset(totals{}, 0)
	tests := []struct {
		name          string
		at            totals
		calls, failed uint64
	}{
		{"empty", totals{}, 0, 0},
		{"one failure", totals{calls: 1, failures: 1}, 1, 1},
		{"window fills", totals{calls: 4, failures: 2}, 4, 2},
		{"old failure slides out", totals{calls: 5, failures: 2}, 4, 1},
		{"all slide out", totals{calls: 9, failures: 2}, 4, 0},
		{"a storm keeps only the window", totals{calls: 109, failures: 102}, 4, 4},
	}
	for _, tt := range tests {
		calls, failed := w.observe(tt.at, 0)
		assert.Equal(t, tt.calls, calls, tt.name)
		assert.Equal(t, tt.failed, failed, tt.name)
	}
	w.reset(totals{calls: 109, failures: 102}, 0)
	calls, failed := w.observe(totals{calls: 111, failures: 103}, 0)
	assert.Equal(t, []uint64{2, 1}, []uint64{calls, failed}, "after reset the window starts empty")
}

func TestShouldTrip(t *testing.T) {
	cfg := mustDefaults(t, Config{FailureRate: 0.5, MinimumCalls: 4, WindowSize: 10})
	tests := []struct {
		calls, failures uint64
		want            bool
	}{
		{0, 0, false}, {3, 3, false}, {4, 2, true}, {4, 1, false}, {10, 10, true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, shouldTrip(cfg, tt.calls, tt.failures), "%d/%d", tt.failures, tt.calls)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		cfg   Config
		field string
	}{
		{Config{FailureThreshold: -1}, "FailureThreshold"},
		{Config{SuccessThreshold: -1}, "SuccessThreshold"},
		{Config{OpenTimeout: -time.Second}, "OpenTimeout"},
		{Config{HalfOpenMaxRequests: -3}, "HalfOpenMaxRequests"},
		{Config{FailureRate: 1.5}, "FailureRate"},
		{Config{FailureRate: -0.1}, "FailureRate"},
		{Config{WindowSize: 10}, "FailureRate"},
		{Config{FailureRate: 0.5, WindowSize: 10, MinimumCalls: 11}, "MinimumCalls"},
		{Config{FailureRate: 0.5, WindowSize: 10, WindowDuration: time.Second}, "WindowSize"},
		{Config{FailureRate: 0.5, WindowDuration: 5}, "WindowDuration"},
		{Config{SlowCallIsFailure: true}, "SlowCallIsFailure"},
		{Config{OpenBackoff: 0.5}, "OpenBackoff"},
		{Config{OpenJitter: 1}, "OpenJitter"},
		{Config{OpenTimeout: time.Minute, MaxOpenTimeout: time.Second}, "MaxOpenTimeout"},
		{Config{Mailbox: -1}, "Mailbox"},
		{Config{Shards: 1000}, "Shards"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		var ce *resilience.ConfigError
		require.ErrorAs(t, err, &ce, "%+v", tt.cfg)
		assert.Equal(t, "breaker.Config."+tt.field, ce.Field)
		assert.Contains(t, err.Error(), "invalid breaker.Config."+tt.field)
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg := mustDefaults(t, Config{})
	assert.Equal(t, 5, cfg.FailureThreshold)
	assert.Equal(t, 2, cfg.SuccessThreshold)
	assert.Equal(t, 60*time.Second, cfg.OpenTimeout)
	assert.Equal(t, 3, cfg.HalfOpenMaxRequests)
	assert.Equal(t, 60*time.Second, cfg.MaxOpenTimeout)
	rate := mustDefaults(t, Config{FailureRate: 0.5})
	assert.Equal(t, 0, rate.FailureThreshold, "a rate window replaces the consecutive default")
	assert.Equal(t, 100, rate.WindowSize)
	assert.Equal(t, 10, rate.MinimumCalls)
	assert.Equal(t, 1, mustDefaults(t, Config{Shards: 1}).Shards)
	assert.Equal(t, 8, mustDefaults(t, Config{Shards: 5}).Shards)
}

func TestStateStrings(t *testing.T) {
	assert.Equal(t, "half-open", HalfOpen.String())
	assert.Equal(t, "unknown", State(9).String())
}
