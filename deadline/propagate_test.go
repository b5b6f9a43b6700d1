package deadline

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBudget(t *testing.T) {
	const huge = time.Duration(maxBudgetMs) * time.Millisecond
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"250", 250 * time.Millisecond, true},
		{"0", 0, true},
		{"007", 7 * time.Millisecond, true},
		{"99999999999999999999999999", huge, true}, // hostile: clamped, not wrapped
		{strings.Repeat("9", 5000), huge, true},
		{"", 0, false},
		{"-5", 0, false},
		{"+5", 0, false},
		{" 5", 0, false},
		{"5 ", 0, false},
		{"1.5", 0, false},
		{"5ms", 0, false},
		{"0x10", 0, false},
		{"١٢", 0, false}, // non-ASCII digits
	}
	for _, tc := range cases {
		got, ok := parseBudget(tc.in)
		assert.Equal(t, tc.ok, ok, "parseBudget(%.20q)", tc.in)
		assert.Equal(t, tc.want, got, "parseBudget(%.20q)", tc.in)
	}
}

func TestFormatBudget(t *testing.T) {
	assert.Equal(t, "250", formatBudget(250*time.Millisecond+999*time.Microsecond), "rounds down")
	assert.Equal(t, "0", formatBudget(999*time.Microsecond))
	assert.Equal(t, "0", formatBudget(-time.Second))
}

func FuzzParseBudget(f *testing.F) {
	for _, s := range []string{"250", "0", "", "-1", "99999999999999999999999", "1e3", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseBudget(s)
		if !ok {
			if d != 0 {
				t.Fatalf("parseBudget(%q) = %v, false: a refused value must be zero", s, d)
			}
			return
		}
		if d < 0 || d > time.Duration(maxBudgetMs)*time.Millisecond {
			t.Fatalf("parseBudget(%q) = %v: out of range", s, d)
		}
		for _, c := range []byte(s) {
			if c < '0' || c > '9' {
				t.Fatalf("parseBudget(%q) accepted a non-digit", s)
			}
		}
		if back, ok := parseBudget(formatBudget(d)); !ok || back != d {
			t.Fatalf("round trip of %v gave %v, %v", d, back, ok)
		}
	})
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen *http.Request
		tr := &Transport{Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			seen = r
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
		})}

		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		time.Sleep(500 * time.Millisecond)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://example.invalid/", nil)
		require.NoError(t, err)
		req.Header.Set(Header, "999999")
		_, err = tr.RoundTrip(req)
		require.NoError(t, err)
		assert.Equal(t, "1000", seen.Header.Get(Header), "the remaining budget replaces any value already there")
		assert.Equal(t, "999999", req.Header.Get(Header), "the caller's request is not modified")

		req, err = http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
		require.NoError(t, err)
		_, err = tr.RoundTrip(req)
		require.NoError(t, err)
		assert.Same(t, req, seen, "a request without a deadline passes unchanged")
		assert.Empty(t, seen.Header.Get(Header))
	})
}
