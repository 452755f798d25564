// Two mesh nodes in one process: connect, a reliable stream, a reply.
// Run: cd examples/go && go run ./mesh
package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"time"

	net "github.com/netmesh-dev/net/go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Every node of a mesh shares the 32-byte network key.
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

	// Alice needs Bob's address and public key; the handshake proves both sides.
	bobAddr, err := bob.LocalAddr()
	if err != nil {
		log.Fatal(err)
	}
	bobID, err := alice.Connect(ctx, bobAddr, bob.PublicKey())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("alice connected to %016x at %s\n", bobID, bobAddr)

	// A reliable stream: in order, exactly once, at most 64 messages in flight.
	stream, err := alice.OpenStream(bobID, 1, net.StreamConfig{Reliable: true, Window: 64})
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := stream.SendBlocking(ctx, []byte(fmt.Sprintf("hello #%d", i))); err != nil {
			log.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		msg, err := bob.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("bob got %q on stream %d\n", msg.Payload, msg.StreamID)
	}

	// Bob answers on stream 2, fire-and-forget (streams never opened are).
	if err := bob.Send(alice.NodeID(), 2, []byte("hi alice")); err != nil {
		log.Fatal(err)
	}
	answer, err := alice.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("alice got %q\n", answer.Payload)

	stats, err := stream.Stats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("stream 1: sent %d, in flight %d, window %d\n", stats.Sent, stats.InFlight, stats.Window)
}
