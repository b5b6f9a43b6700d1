package resiliencehttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/resiliencehttp"
	"github.com/llm-research-lab/resilience/retry"
)

func Example() {
	// An upstream that is unavailable twice, then answers.
	var calls atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "hello after %d attempts", calls.Load())
	}))
	defer upstream.Close()

	retries, _ := retry.New(retry.Config{MaxAttempts: 4, InitialDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond})
	transport, err := resiliencehttp.New(resiliencehttp.Config{
		Pipeline: &resilience.Pipeline{Retry: retries, AttemptTimeout: 2 * time.Second},
	})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: transport}
	defer client.CloseIdleConnections()

	resp, err := client.Get(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	fmt.Printf("%+v\n", transport.Metrics())
	// Output:
	// 200 hello after 3 attempts
	// {Retries:2 NotRetried:0 BudgetRefused:0 Drained:2}
}
