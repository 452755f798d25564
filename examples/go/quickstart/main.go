// Net bus quick start in Go: ingest, batch, poll, subscribe, typed errors.
// Run: cd examples/go && go run ./quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	net "github.com/netmesh-dev/net/go"
)

func main() {
	node, err := net.New(&net.Config{NumShards: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()

	// Ingest
	node.IngestRaw(`{"token": "hello"}`)

	// Batch (zero allocations per event on the raw path)
	jsons := []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}
	count := node.IngestRawBatch(jsons)
	fmt.Println("batch accepted", count)

	// Poll
	response, _ := node.Poll(100, "")
	for _, event := range response.Events {
		fmt.Println(string(event))
	}

	// Bad input is a typed error.
	if _, err := node.IngestJSON("{oops"); errors.Is(err, net.ErrInvalidJSON) {
		fmt.Println("rejected:", err)
	}

	// A live subscription drains what is buffered and ends after shutdown.
	sub, err := node.Subscribe(context.Background(), net.SubscribeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	if err := node.Shutdown(); err != nil {
		log.Fatal(err)
	}
	for {
		event, err := sub.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("streamed shard %d seq %d: %s\n", event.Shard, event.Seq, event.Raw)
	}
	stats, _ := node.Stats()
	fmt.Printf("stats %+v\n", stats)
}
