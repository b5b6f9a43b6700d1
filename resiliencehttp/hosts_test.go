package resiliencehttp

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// family returns a started breaker family that opens a host's breaker
// after 3 consecutive failures, stopped at cleanup.
func family(t *testing.T, events chan breaker.Event) *breaker.Family[string] {
	t.Helper()
	f, err := breaker.NewFamily[string](breaker.FamilyConfig{
		Breaker: breaker.Config{FailureThreshold: 3, OpenTimeout: time.Hour, Events: events},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Stop(context.Background()) })
	return f
}

func TestOneFailingHostDoesNotOpenTheOthers(t *testing.T) {
	down := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	busy := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTooManyRequests) })
	fine := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	events := make(chan breaker.Event, 16)
	c, _ := client(t, Config{PerHost: family(t, events)})

	get := func(url string) (int, error) {
		resp, err := c.Get(url)
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	for range 3 {
		code, err := get(down.URL)
		require.NoError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, code)
	}
	ev := <-events // the breaker's actor opens it after the third failure
	assert.Equal(t, hostKey(mustRequest(t, down.URL)), ev.Name)
	assert.Equal(t, breaker.Open, ev.To)

	_, err := get(down.URL)
	assert.ErrorIs(t, err, resilience.ErrOpen, "the open host is refused without a request")
	assert.EqualValues(t, 3, down.requests.Load())

	for range 10 {
		code, err := get(busy.URL)
		require.NoError(t, err)
		assert.Equal(t, http.StatusTooManyRequests, code, "429 does not trip the breaker")
		code, err = get(fine.URL)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, code)
	}
	select {
	case ev := <-events:
		t.Fatalf("unexpected breaker event %+v", ev)
	default:
	}
}

func TestTransportErrorsCountForTheBreaker(t *testing.T) {
	up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { hijackClose(t, w) })
	events := make(chan breaker.Event, 4)
	c, _ := client(t, Config{PerHost: family(t, events)})
	for range 3 {
		_, err := c.Get(up.URL)
		require.Error(t, err)
	}
	assert.Equal(t, breaker.Open, (<-events).To)
}

func mustRequest(t *testing.T, url string) *http.Request {
	r, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	return r
}

func TestBudgetBoundsTheRetriesAnUpstreamSees(t *testing.T) {
	up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	other := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	budgets := map[string]retry.Allowance{}
	for _, u := range []*upstream{up, other} {
		b, err := retry.NewBudget(2, 0) // two retries, never refilled
		require.NoError(t, err)
		budgets[hostKey(mustRequest(t, u.URL))] = b
	}
	c, tr := client(t, Config{
		Pipeline: retries(t, 5),
		Budget:   func(key string) retry.Allowance { return budgets[key] },
	})
	for range 4 {
		resp, err := c.Get(up.URL)
		require.NoError(t, err, "a refused retry returns the last response")
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	}
	assert.EqualValues(t, 4+2, up.requests.Load(), "four calls, two retries")
	m := tr.Metrics()
	assert.Equal(t, uint64(2), m.Retries)
	assert.Equal(t, uint64(4), m.BudgetRefused)

	resp, err := c.Get(other.URL)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.EqualValues(t, 3, other.requests.Load(), "another upstream has its own budget")
}

// admitOne is a gate that admits one call and refuses the others.
type admitOne struct{ calls atomic.Int64 }

func (g *admitOne) Allow(context.Context) (func(error), error) {
	if g.calls.Add(1) > 1 {
		return nil, &resilience.RejectedError{Name: "gate", Reason: resilience.ErrOpen}
	}
	return func(error) {}, nil
}

func (g *admitOne) Run(ctx context.Context, fn func(context.Context) error) error {
	done, err := g.Allow(ctx)
	if err != nil {
		return err
	}
	err = fn(ctx)
	done(err)
	return err
}

func TestRefusalAfterAFailureEndsWithTheRefusal(t *testing.T) {
	up := serve(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	p := retries(t, 2)
	p.Breaker = &admitOne{}
	c, tr := client(t, Config{Pipeline: p})

	_, err := c.Get(up.URL)
	assert.ErrorIs(t, err, resilience.ErrOpen, "the last attempt's answer is the refusal")
	assert.EqualValues(t, 1, up.requests.Load())
	assert.Equal(t, uint64(1), tr.Metrics().Drained, "the 502 before it was drained")
}
