package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

// The service end to end: a quote through both upstreams (pricing's 503
// is retried by the transport), then a shutdown as a signal would start it.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, os.Stdout) }()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	// The listener is open already: the request waits in its backlog
	// until the server starts.
	resp, err := client.Get("http://" + ln.Addr().String() + "/quote/book")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Status, ": ", string(body))

	stop()
	<-done
	// Output:
	// 200 OK: book: 11 in stock, 11.99 EUR
	// shut down: clean
}
