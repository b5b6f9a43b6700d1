package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/llm-research-lab/resilience"
)

func TestVerdictMapsErrorsToStatuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		outcome string
	}{
		{"success", nil, http.StatusOK, outcomeOK},
		{"open breaker", &resilience.RejectedError{Name: "p", Reason: resilience.ErrOpen, Until: time.Now().Add(time.Minute)}, http.StatusServiceUnavailable, outcomeFastFail},
		{"half-open full", &resilience.RejectedError{Name: "p", Reason: resilience.ErrOpen}, http.StatusServiceUnavailable, outcomeFastFail},
		{"attempt deadline", &resilience.TimeoutError{Op: "p", Limit: time.Second}, http.StatusGatewayTimeout, outcomeTimeout},
		{"client gone", context.Canceled, http.StatusServiceUnavailable, outcomeCanceled},
		{"upstream 500", &statusError{"p", 500}, http.StatusBadGateway, outcomeError},
		{"refused", errors.New("connection refused"), http.StatusBadGateway, outcomeError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, outcome, _ := verdict(tc.err)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.outcome, outcome)
		})
	}
}

func TestClassifyTellsTheBreakerWhoFailed(t *testing.T) {
	assert.Equal(t, resilience.Failure, classify(&resilience.TimeoutError{Op: "p", Limit: time.Second, Err: context.Canceled}),
		"an attempt cut by its own deadline is the upstream's failure, even though its late error is Canceled")
	assert.Equal(t, resilience.Ignored, classify(context.Canceled), "the caller giving up is nobody's failure")
	assert.Equal(t, resilience.Success, classify(&statusError{"p", 404}), "a 4xx means the upstream works")
	assert.Equal(t, resilience.Failure, classify(&statusError{"p", 503}))
	assert.False(t, retryable(&resilience.RejectedError{Reason: resilience.ErrOpen}), "the gateway fails fast on an open breaker")
	assert.True(t, retryable(&statusError{"p", 502}))
}
