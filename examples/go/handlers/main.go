// Handlers in Go: the engine calls your function for each bus event and each
// mesh message (push), instead of you waiting for them (pull).
// Run: cd examples/go && go run ./handlers
package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	net "github.com/netmesh-dev/net/go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A bus handler: called on the engine's callback threads, in order. It
	// ends with Close or when ctx is done.
	node, err := net.New(&net.Config{NumShards: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()
	got := make(chan string, 3)
	handler, err := node.OnEvent(ctx, net.SubscribeOptions{}, func(e net.Event) { got <- string(e.Raw) })
	if err != nil {
		log.Fatal(err)
	}
	for _, text := range []string{"a", "b", "c"} {
		if _, err := node.IngestRaw(text); err != nil {
			log.Fatal(err)
		}
	}
	texts := []string{<-got, <-got, <-got}
	fmt.Println("handler got " + strings.Join(texts, ", "))
	handler.Close()

	// A mesh handler that answers each message from inside the handler.
	cfg := net.MeshConfig{NetworkKey: bytes.Repeat([]byte{7}, 32), Bind: "127.0.0.1:0"}
	alice, err := net.OpenMesh(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer alice.Close()
	bob, err := net.OpenMesh(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer bob.Close()
	bobAddr, err := bob.LocalAddr()
	if err != nil {
		log.Fatal(err)
	}
	bobID, err := alice.Connect(ctx, bobAddr, bob.PublicKey())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := bob.OnMessage(ctx, func(m net.Message) {
		_ = bob.Send(m.From, m.StreamID, append([]byte("re: "), m.Payload...))
	}); err != nil {
		log.Fatal(err)
	}
	stream, err := alice.OpenStream(bobID, 1, net.StreamConfig{Reliable: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := stream.SendBlocking(ctx, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	answer, err := alice.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("alice got %q\n", answer.Payload)
}
