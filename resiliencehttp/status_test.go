package resiliencehttp

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatusOutcomes(t *testing.T) {
	want := map[int]resilience.Outcome{
		200: resilience.Success, 204: resilience.Success, 304: resilience.Success,
		400: resilience.Success, 404: resilience.Success, 408: resilience.Success,
		429: resilience.Throttled,
		500: resilience.Terminal, 501: resilience.Terminal, 505: resilience.Terminal,
		502: resilience.Failure, 503: resilience.Failure, 504: resilience.Failure,
	}
	for code, o := range want {
		assert.Equal(t, o, statusOutcome(code), code)
	}
}

func TestStatusErrorClassifiesItself(t *testing.T) {
	err := error(&StatusError{Method: "GET", URL: &url.URL{Scheme: "http", Host: "a", Path: "/", User: url.UserPassword("u", "secret")}, StatusCode: 429, Wait: 3 * time.Second, outcome: resilience.Throttled})
	assert.Equal(t, resilience.Throttled, resilience.Classify(errors.Join(errors.New("wrapped"), err)))
	assert.Equal(t, "GET http://u:xxxxx@a/: 429 Too Many Requests", err.Error())
	var h interface{ RetryAfter() time.Duration }
	require.True(t, errors.As(err, &h))
	assert.Equal(t, 3*time.Second, h.RetryAfter())
}

func TestStatusesAndClassifyOverrideTheTable(t *testing.T) {
	tr, err := New(Config{
		Statuses: map[int]resilience.Outcome{500: resilience.Failure, 409: resilience.Failure},
		Classify: func(resp *http.Response, def resilience.Outcome) resilience.Outcome {
			if resp.Header.Get("X-Overloaded") != "" {
				return resilience.Throttled
			}
			return def
		},
	})
	require.NoError(t, err)
	out := func(code int, h ...string) resilience.Outcome {
		resp := &http.Response{StatusCode: code, Header: http.Header{}}
		if len(h) > 0 {
			resp.Header.Set(h[0], "1")
		}
		return tr.outcome(resp)
	}
	assert.Equal(t, resilience.Failure, out(500))
	assert.Equal(t, resilience.Failure, out(409))
	assert.Equal(t, resilience.Terminal, out(501))
	assert.Equal(t, resilience.Throttled, out(200, "X-Overloaded"))
}

func TestIdempotentMethods(t *testing.T) {
	for m, want := range map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "TRACE": true, "PUT": true, "DELETE": true, "": true, "POST": false, "PATCH": false, "CONNECT": false} {
		r := &http.Request{Method: m, Header: http.Header{}}
		assert.Equal(t, want, idempotent(r), m)
		r.Header.Set("Idempotency-Key", "k")
		assert.True(t, idempotent(r), m)
	}
}
