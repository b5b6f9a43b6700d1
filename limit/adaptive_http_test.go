package limit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/limit"
)

// A real HTTP server on loopback with 2 workers and 50 ms of work a
// request: requests beyond 2 queue in the server. 16 clients calling
// through an adaptive limiter that starts at 16 bring the limit down
// towards the workers, since the queueing shows in the latency. This runs
// on the real clock; it asserts on the limit, never on a duration, and
// the work is long enough that a loaded machine's scheduling delays do
// not hide the queueing.
func TestAdaptiveFindsTheWorkersOfARealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for four seconds of real time")
	}
	workers := make(chan struct{}, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		workers <- struct{}{}
		defer func() { <-workers }()
		time.Sleep(50 * time.Millisecond) // the work
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	defer client.CloseIdleConnections()

	a := mustAdaptive(t, limit.AdaptiveConfig{Name: "loopback", InitialLimit: 16, MaxQueue: 16, Window: 50 * time.Millisecond})
	p := &resilience.Pipeline{Bulkhead: a}
	get := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for ctx.Err() == nil {
				err := p.Run(ctx, get)
				if err != nil && ctx.Err() == nil && !errors.Is(err, resilience.ErrFull) {
					assert.NoError(t, err, "only a full line may refuse")
					return
				}
			}
		})
	}
	wg.Wait()
	m := a.Metrics()
	t.Logf("limit %d after %d calls; unloaded latency %v", m.Limit, m.Admitted, m.Unloaded)
	require.Positive(t, m.Unloaded)
	assert.LessOrEqual(t, m.Limit, 8, "queueing in the server brought the limit down from 16")
	assert.Zero(t, m.InFlight)
	assert.Zero(t, m.Queued)
}
