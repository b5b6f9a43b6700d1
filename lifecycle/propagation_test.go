package lifecycle

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

// During the propagation delay the service is marked not ready but still
// serves: the requests a load balancer sends before it notices are what
// the delay exists for.
func TestTrackServesDuringPropagationDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := NewCoordinator(ShutdownConfig{PropagationDelay: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		h := c.Track(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
		done := make(chan error, 1)
		go func() { done <- c.Stop(t.Context()) }()
		time.Sleep(time.Second) // 1s into the 5s propagation delay
		synctest.Wait()

		ready := httptest.NewRecorder()
		c.Readiness().ServeHTTP(ready, httptest.NewRequest("GET", "/ready", nil))
		if ready.Code != http.StatusServiceUnavailable {
			t.Fatalf("readiness %d, want 503", ready.Code)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("request during the propagation delay got %d %q, want 200 (keep serving)", rec.Code, rec.Body.String())
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
