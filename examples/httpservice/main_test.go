package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun serves real requests through the whole service, scrapes its
// metrics, then shuts it down as a signal would and checks it stopped
// cleanly.
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, &out) }()

	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func(path string) (int, string) {
		resp, err := client.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	require.Eventually(t, func() bool {
		resp, err := client.Get(base + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10e9, 10e6, "the service becomes ready")

	for range 6 {
		code, body := get("/quote/book")
		require.Equal(t, http.StatusOK, code, body)
		assert.Contains(t, body, "book: ")
		assert.Contains(t, body, "EUR", "pricing's 503s were retried")
	}
	_, metrics := get("/metrics")
	assert.Contains(t, metrics, "resilience_retry_retries_total{name=\"upstreams\"}")
	assert.NotContains(t, metrics, "resilience_retry_retries_total{name=\"upstreams\"} 0", "some retries happened")
	assert.Contains(t, metrics, "resilience_bulkhead_")

	stop()
	require.NoError(t, <-done)
	assert.True(t, strings.Contains(out.String(), "shut down: clean"), out.String())
}
