package retry

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

func TestConfigDefaults(t *testing.T) {
	r, err := New(Config{})
	require.NoError(t, err)
	c := r.cfg
	assert.Equal(t, 5, c.MaxAttempts)
	assert.Equal(t, 100*time.Millisecond, c.InitialDelay)
	assert.Equal(t, 30*time.Second, c.MaxDelay)
	assert.Equal(t, 2.0, c.Multiplier)
	assert.Equal(t, Exponential, c.Backoff)
	assert.Equal(t, FullJitter, c.Jitter, "jitter is on by default")
	assert.NotNil(t, c.Classify, "errors are classified by resilience.Classify")
}

func TestConfigMaxDelayDefaultFollowsLargeInitial(t *testing.T) {
	r, err := New(Config{InitialDelay: time.Minute})
	require.NoError(t, err, "a large InitialDelay with a default MaxDelay must not be refused")
	assert.Equal(t, time.Minute, r.cfg.MaxDelay)
}

func TestConfigRejectsBadFields(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"negative attempts", Config{MaxAttempts: -1}, "MaxAttempts"},
		{"negative initial", Config{InitialDelay: -time.Second}, "InitialDelay"},
		{"negative max", Config{MaxDelay: -1}, "MaxDelay"},
		{"max below initial", Config{InitialDelay: time.Second, MaxDelay: time.Millisecond}, "MaxDelay"},
		{"NaN multiplier", Config{Multiplier: math.NaN()}, "Multiplier"},
		{"+Inf multiplier", Config{Multiplier: math.Inf(1)}, "Multiplier"},
		{"-Inf multiplier", Config{Multiplier: math.Inf(-1)}, "Multiplier"},
		{"negative multiplier", Config{Multiplier: -2}, "Multiplier"},
		{"shrinking multiplier", Config{Multiplier: 0.5}, "Multiplier"},
		{"unknown backoff", Config{Backoff: Backoff(9)}, "Backoff"},
		{"unknown jitter", Config{Jitter: Jitter(-1)}, "Jitter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			var ce *resilience.ConfigError
			require.True(t, errors.As(err, &ce), "want a *resilience.ConfigError, got %v", err)
			assert.Equal(t, "retry.Config."+tc.field, ce.Field)
			assert.Contains(t, err.Error(), tc.field, "the message must name the field")
		})
	}
}

func TestNewBudgetRejectsBadArguments(t *testing.T) {
	cases := []struct {
		name          string
		tokens, refil float64
		field         string
	}{
		{"NaN tokens", math.NaN(), 0.1, "tokens"},
		{"Inf tokens", math.Inf(1), 0.1, "tokens"},
		{"no tokens", 0, 0, "tokens"},
		{"fraction of a token", 0.5, 0.1, "tokens"},
		{"negative refill", 10, -1, "refill"},
		{"NaN refill", 10, math.NaN(), "refill"},
		{"refill above capacity", 2, 3, "refill"},
		{"refill too small to count", 10, 1e-12, "refill"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewBudget(tc.tokens, tc.refil)
			var ce *resilience.ConfigError
			require.True(t, errors.As(err, &ce), "want a *resilience.ConfigError, got %v", err)
			assert.Equal(t, "retry.NewBudget."+tc.field, ce.Field)
		})
	}
}

func TestStrings(t *testing.T) {
	assert.Equal(t, "linear", Linear.String())
	assert.Equal(t, "Backoff(7)", Backoff(7).String())
	assert.Equal(t, "decorrelated", DecorrelatedJitter.String())
	assert.Equal(t, "Jitter(7)", Jitter(7).String())
}
