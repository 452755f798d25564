// Channels in Go: a publisher registers a token-gated channel and trusts a
// root; a subscriber presents the root's grant and receives what is
// published; a revocation stops delivery on the next publish.
// Run: cd examples/go && go run ./channels
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	net "github.com/netmesh-dev/net/go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := bytes.Repeat([]byte{7}, 32)
	publisher, err := net.OpenMesh(net.MeshConfig{NetworkKey: key, Bind: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer publisher.Close()
	subscriber, err := net.OpenMesh(net.MeshConfig{NetworkKey: key, Bind: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer subscriber.Close()
	addr, _ := publisher.LocalAddr()
	if _, err := subscriber.Connect(ctx, addr, publisher.PublicKey()); err != nil {
		log.Fatal(err)
	}

	// The publisher's channel wants a token; it trusts one root.
	if err := publisher.RegisterChannel(net.ChannelConfig{Name: "alerts/fire", RequireToken: true}); err != nil {
		log.Fatal(err)
	}
	root, err := net.IdentityFromSeed(bytes.Repeat([]byte{42}, 32))
	if err != nil {
		log.Fatal(err)
	}
	defer root.Close()
	rootKey, _ := root.PublicKey()
	cache, err := publisher.TokenCache()
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	if err := cache.Trust(rootKey); err != nil {
		log.Fatal(err)
	}

	// Without a token: refused with the reason.
	_, err = subscriber.Subscribe(ctx, publisher.NodeID(), "alerts/fire")
	fmt.Println("without a token:", errors.Is(err, net.ErrChannelUnauthorized))

	// With the root's grant for alerts/**: admitted.
	grant, err := root.IssueToken(net.TokenRequest{Subject: subscriber.PublicKey(), Scope: net.ScopeSubscribe,
		Channel: "alerts/**", TTL: 10 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	sub, err := subscriber.Subscribe(ctx, publisher.NodeID(), "alerts/*", grant)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	fmt.Println("admitted to", sub.Accepted())
	for _, text := range []string{"smoke", "heat", "flame"} {
		if _, err := publisher.Publish("alerts/fire", []byte(text)); err != nil {
			log.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		m, err := sub.Next(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s on %s\n", m.Payload, m.Channel)
	}

	// Revoked: the next publish skips the subscriber and drops it.
	id, _ := grant.ID()
	if err := cache.Revoke(id); err != nil {
		log.Fatal(err)
	}
	report, err := publisher.Publish("alerts/fire", []byte("after"))
	if err != nil || report.Delivered != 0 {
		log.Fatalf("after revoking: %+v %v", report, err)
	}
	fmt.Printf("after revoking: delivered %d, skipped %+v\n", report.Delivered, report.Skipped)
}
