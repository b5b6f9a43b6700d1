package deadline_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/deadline"
)

func Example() {
	limits, err := deadline.NewTable(30*time.Second, map[string]time.Duration{
		"fast_query": 5 * time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	// A Pipeline per operation, built once and reused: its Name goes in
	// the error. With no Timer it uses the shared timer.
	batch := &resilience.Pipeline{Name: "slow_batch", Timeout: limits.Limit("slow_batch")}
	query := &resilience.Pipeline{Name: "fast_query", Timeout: limits.Limit("fast_query")}

	// A call that finishes in time returns its own result.
	n, err := resilience.Do(context.Background(), batch, func(ctx context.Context) (int, error) {
		return 42, nil
	})
	fmt.Println(n, err)

	// A call that outlives its limit is cancelled, and the error says which
	// limit elapsed.
	err = query.Run(context.Background(), func(ctx context.Context) error {
		<-ctx.Done() // stands for work that honours its context
		return ctx.Err()
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, resilience.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// 42 <nil>
	// resilience: fast_query timed out after 5ms
	// true true
}

// A function that ignores its context: RunOrAbandon releases the caller at
// the limit and accounts for the function until it returns.
func ExampleWatchdog_RunOrAbandon() {
	late := make(chan deadline.Late, 1)
	w, err := deadline.New(deadline.Config{OnLate: func(l deadline.Late) { late <- l }})
	if err != nil {
		panic(err)
	}
	release := make(chan struct{})
	err = w.RunOrAbandon(context.Background(), "legacy", time.Millisecond, func(context.Context) error {
		<-release // stands for a call that cannot be cancelled
		return nil
	})
	fmt.Println(err)
	fmt.Println("abandoned:", w.Metrics().Abandoned)

	close(release)
	fmt.Println("late:", (<-late).Op)
	fmt.Println(w.Stop(context.Background()))
	// Output:
	// resilience: legacy timed out after 1ms
	// abandoned: 1
	// late: legacy
	// <nil>
}

func ExampleMiddleware() {
	limits, err := deadline.NewTable(time.Second, map[string]time.Duration{"GET /slow": time.Millisecond})
	if err != nil {
		panic(err)
	}
	mw, err := deadline.Middleware(deadline.HTTPConfig{Table: limits})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /slow", mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // stands for work that outlives its limit
		fmt.Fprintln(w, "too late: dropped")
	})))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/slow", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 503 resilience: GET /slow timed out after 1ms
}
