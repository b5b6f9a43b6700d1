package resiliencehttp

import (
	"strings"
	"time"
)

// maxRetryAfter is the largest delay [parseRetryAfter] returns; larger
// values, hostile or mistaken, are clamped to it. The retry policy further
// clamps every wait to its MaxDelay.
const maxRetryAfter = 24 * time.Hour

// httpDateLayouts are the three date formats HTTP allows (RFC 9110
// §5.6.7): IMF-fixdate, then the obsolete RFC 850 and asctime forms.
var httpDateLayouts = [...]string{
	"Mon, 02 Jan 2006 15:04:05 GMT",
	"Monday, 02-Jan-06 15:04:05 GMT",
	"Mon Jan _2 15:04:05 2006",
}

// parseRetryAfter parses the value of an HTTP Retry-After header (RFC 9110
// §10.2.3) received at now: either a number of seconds or an HTTP date. It
// returns the delay, clamped to [0, maxRetryAfter] (a date in the past
// means 0), and false for an empty or malformed value, which callers should
// ignore. It never panics and never overflows, whatever the input.
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(value)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		return parseSeconds(v)
	}
	if len(v) > 64 { // longer than any HTTP date: do not hand it to time.Parse
		return 0, false
	}
	for _, layout := range httpDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return min(max(t.Sub(now), 0), maxRetryAfter), true
		}
	}
	return 0, false
}

// parseSeconds parses 1*DIGIT, saturating at maxRetryAfter.
func parseSeconds(v string) (time.Duration, bool) {
	const limit = int64(maxRetryAfter / time.Second)
	var secs int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if secs <= limit {
			secs = secs*10 + int64(c-'0')
		}
	}
	return min(time.Duration(min(secs, limit))*time.Second, maxRetryAfter), true
}
