package promresilience_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	promresilience "github.com/llm-research-lab/resilience/prometheus"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func Example() {
	ctx := context.Background()
	b, _ := breaker.New(breaker.Config{Name: "payments"})
	defer b.Stop(ctx)
	r, _ := retry.New(retry.Config{MaxAttempts: 2, InitialDelay: 1})
	payments := &resilience.Pipeline{Name: "payments", Retry: r, Breaker: b}

	// One collector for the whole process, registered once; each
	// pipeline's components are added under its name.
	c := promresilience.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if err := c.Pipeline(payments); err != nil {
		fmt.Println(err)
	}

	// Two calls: one that succeeds, one that fails twice.
	_ = payments.Run(ctx, func(context.Context) error { return nil })
	_ = payments.Run(ctx, func(context.Context) error { return errors.New("declined") })

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		line := lines.Text()
		if strings.HasPrefix(line, "resilience_breaker_calls_total") ||
			strings.HasPrefix(line, "resilience_breaker_state") ||
			strings.HasPrefix(line, "resilience_retry_") && !strings.Contains(line, " 0") {
			fmt.Println(line)
		}
	}
	// Output:
	// resilience_breaker_calls_total{name="payments",result="failure"} 2
	// resilience_breaker_calls_total{name="payments",result="ignored"} 0
	// resilience_breaker_calls_total{name="payments",result="success"} 1
	// resilience_breaker_state{name="payments"} 0
	// resilience_retry_failed_calls_total{name="payments",reason="attempts"} 1
	// resilience_retry_retries_total{name="payments"} 1
}
