package resiliencehttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience/hedge"
	"github.com/llm-research-lab/resilience/resiliencehttp"
)

func ExampleConfig_hedge() {
	// The first request stalls until its client gives up on it; the
	// others answer at once.
	var calls atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, "answered by a hedge")
	}))
	defer upstream.Close()

	hedges, _ := hedge.New(hedge.Config{Delay: 20 * time.Millisecond}) // or Quantile: 0.95
	transport, _ := resiliencehttp.New(resiliencehttp.Config{Hedge: hedges})
	client := &http.Client{Transport: transport}
	defer client.CloseIdleConnections()

	resp, err := client.Get(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 200 answered by a hedge
}
