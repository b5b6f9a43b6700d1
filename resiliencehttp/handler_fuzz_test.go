package resiliencehttp

import (
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience/deadline"
)

// FuzzMiddlewareBudgetHeader throws arbitrary budget headers and handler
// durations at the whole middleware: it never panics, the answer always
// comes within the route's limit (virtual time), and it is either the
// handler's own (200, when it finished in time) or a 503.
func FuzzMiddlewareBudgetHeader(f *testing.F) {
	for _, v := range []string{"", "0", "1", "50", "100", "99999999999999999999999", "-1", "NaN", "Inf",
		"1e3", "0x10", " 5", "5 ", "+5", "１２", "\x00", strings.Repeat("9", 4096), strings.Repeat("z", 4096)} {
		f.Add(v, uint16(30))
		f.Add(v, uint16(500))
	}
	const limit = 100 * time.Millisecond
	f.Fuzz(func(t *testing.T, header string, workMs uint16) {
		work := time.Duration(workMs) * time.Millisecond
		synctest.Test(t, func(t *testing.T) {
			tbl, err := deadline.NewTable(limit, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := protect(t, HandlerConfig{Timeout: deadline.HTTPConfig{Table: tbl}},
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-time.After(work):
						_, _ = w.Write([]byte("done"))
					case <-r.Context().Done():
					}
				}))
			start := time.Now()
			rec := get(h, "/", deadline.Header, header)
			took := time.Since(start)
			if took > limit {
				t.Fatalf("answered after %v, beyond the route's limit %v (header %.40q)", took, limit, header)
			}
			switch rec.Code {
			case http.StatusOK:
				if took != work || rec.Body.String() != "done" {
					t.Fatalf("200 after %v with %q; the handler took %v", took, rec.Body.String(), work)
				}
			case http.StatusServiceUnavailable:
			default:
				t.Fatalf("status %d (header %.40q)", rec.Code, header)
			}
		})
	})
}
