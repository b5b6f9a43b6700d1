package resiliencehttp

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{"seconds", "120", 2 * time.Minute, true},
		{"zero", "0", 0, true},
		{"spaces", "  7 \t", 7 * time.Second, true},
		{"leading zeros", "0005", 5 * time.Second, true},
		{"huge", "99999999999999999999999999999999", maxRetryAfter, true},
		{"just over the cap", "86401", maxRetryAfter, true},
		{"IMF date", "Sun, 29 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"RFC 850 date", "Sunday, 29-Nov-26 12:01:00 GMT", time.Minute, true},
		{"asctime date", "Sun Nov 29 12:00:05 2026", 5 * time.Second, true},
		{"date in the past", "Sat, 28 Nov 2026 12:00:00 GMT", 0, true},
		{"date far away", "Fri, 31 Dec 9999 23:59:59 GMT", maxRetryAfter, true},
		{"empty", "", 0, false},
		{"blank", "   ", 0, false},
		{"negative", "-5", 0, false},
		{"plus sign", "+5", 0, false},
		{"fraction", "1.5", 0, false},
		{"unit", "10s", 0, false},
		{"hex", "0x10", 0, false},
		{"garbage", "soon", 0, false},
		{"date without zone", "Sun, 29 Nov 2026 12:00:30", 0, false},
		{"very long garbage", strings.Repeat("A", 1<<16), 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseRetryAfter(tc.value, now)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "Sun, 29 Nov 2026 12:00:30 GMT", "Sun Nov 29 12:00:05 2026", "-1", "", "9999999999999999999999"} {
		f.Add(s, int64(1_700_000_000))
	}
	f.Fuzz(func(t *testing.T, value string, unix int64) {
		d, ok := parseRetryAfter(value, time.Unix(unix, 0))
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, outside [0, %v]", value, d, maxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("a refused value must return 0, got %v", d)
		}
	})
}
