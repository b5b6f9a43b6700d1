package deadline

import (
	"net/http"
	"strconv"
	"time"
)

// Header carries a caller's remaining time budget to the server it calls,
// in whole milliseconds as ASCII digits ("250"). It is a duration, not a
// point in time, so the two machines' clocks need not agree; the time the
// request spends on the wire is on the caller's side of the budget.
const Header = "Deadline-Budget-Ms"

// maxBudgetMs caps parsed budgets so that converting them to a Duration
// cannot overflow (about 146 years).
const maxBudgetMs = int64(1<<62) / int64(time.Millisecond)

// parseBudget parses a [Header] value. It accepts only a non-empty string
// of ASCII digits and reports false for anything else (signs, spaces,
// units, fractions), so garbage is ignored; a number too large for a
// Duration is clamped to about 146 years rather than overflowing, and the
// server's own limit clamps it further.
func parseBudget(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var ms int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if ms <= maxBudgetMs {
			ms = ms*10 + int64(c-'0')
		}
	}
	return time.Duration(min(ms, maxBudgetMs)) * time.Millisecond, true
}

// formatBudget formats d for [Header]: whole milliseconds rounded down, so
// a server is never told it has more time than the caller, and "0" for
// anything below one millisecond.
func formatBudget(d time.Duration) string {
	return strconv.FormatInt(max(int64(d/time.Millisecond), 0), 10)
}

// Transport is an http.RoundTripper that tells the server how much time
// the request has left: if the request's context has a deadline, it sends
// the remaining time in [Header] (replacing any value already there).
// Requests without a deadline pass unchanged. The zero value uses
// http.DefaultTransport; a Transport is safe for concurrent use.
type Transport struct {
	Base http.RoundTripper // nil means http.DefaultTransport
}

var _ http.RoundTripper = (*Transport)(nil)

// RoundTrip sends r through Base with the budget header added to a copy of
// r (r itself is not modified, as RoundTrip's contract requires).
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	dl, ok := r.Context().Deadline()
	if !ok {
		return base.RoundTrip(r)
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	if r2.Header == nil {
		r2.Header = make(http.Header)
	}
	r2.Header.Set(Header, formatBudget(time.Until(dl)))
	return base.RoundTrip(r2)
}
