// The bus over the mesh: events emitted on Alice's bus are read on Bob's.
// Run: cd examples/go && go run ./bus_over_mesh
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

	// Two mesh nodes sharing a network key; Alice connects to Bob.
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

	// A bus on each node. One shard keeps a total order on Alice's side.
	outbox, err := net.New(&net.Config{NumShards: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer outbox.Close()
	inbox, err := net.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer inbox.Close()

	// Bob receives from Alice into his bus; Alice sends hers to Bob.
	receiving, err := bob.ReceiveBus(inbox, alice.NodeID())
	if err != nil {
		log.Fatal(err)
	}
	defer receiving.Close()
	sending, err := alice.SendBus(outbox, bobID)
	if err != nil {
		log.Fatal(err)
	}
	defer sending.Close()

	for i, city := range []string{"Lisbon", "Osaka", "Quito"} {
		if _, err := outbox.Ingest(map[string]any{"seq": i, "city": city}); err != nil {
			log.Fatal(err)
		}
	}

	// Bob reads them like local events.
	sub, err := inbox.Subscribe(ctx, net.SubscribeOptions{Limit: 3})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	arrived := 0
	for ; arrived < 3; arrived++ {
		event, err := sub.Next(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("bob got %s\n", event.Raw)
	}

	// Alice's link counts events once Bob's node acknowledged them.
	for {
		st, err := sending.Stats()
		if err != nil {
			log.Fatal(err)
		}
		if st.Events == 3 {
			break
		}
		select {
		case <-ctx.Done():
			log.Fatalf("not acknowledged: %+v", st)
		case <-time.After(5 * time.Millisecond):
		}
	}
	for _, link := range []*net.BusLink{sending, receiving} {
		st, err := link.Stats()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-7s link: stream %d, %d events, %d bytes, %d messages, running %v\n",
			st.Direction, st.StreamID, st.Events, st.Bytes, st.Messages, st.Running)
	}
	if err := sending.Close(); err != nil {
		log.Fatal(err)
	}
	if err := receiving.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("bus over mesh: %d events arrived\n", arrived)
}
