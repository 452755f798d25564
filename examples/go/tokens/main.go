// Permission tokens in Go: a root grant, a delegation that narrows it, a
// chain checked by a token cache, and a revocation.
// Run: cd examples/go && go run ./tokens
package main

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"time"

	net "github.com/netmesh-dev/net/go"
)

func identity(fill byte) (*net.Identity, []byte) {
	id, err := net.IdentityFromSeed(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		log.Fatal(err)
	}
	pk, err := id.PublicKey()
	if err != nil {
		log.Fatal(err)
	}
	return id, pk
}

func main() {
	root, rootKey := identity(1)
	defer root.Close()
	gateway, gatewayKey := identity(2)
	defer gateway.Close()
	sensor, sensorKey := identity(3)
	defer sensor.Close()

	// The root lets the gateway subscribe below sensors/ and pass that on once.
	grant, err := root.IssueToken(net.TokenRequest{Subject: gatewayKey, Scope: net.ScopeSubscribe | net.ScopeDelegate,
		Channel: "sensors/**", TTL: time.Hour, Depth: 1})
	if err != nil {
		log.Fatal(err)
	}
	// The gateway lets one sensor reader subscribe to the lidar channels only.
	narrow, err := gateway.DelegateToken(grant, net.TokenRequest{Subject: sensorKey, Scope: net.ScopeSubscribe,
		Channel: "sensors/lidar/*", TTL: 10 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	id, _ := narrow.ID()
	fmt.Printf("token: %d bytes, id %s\n", len(narrow), id)
	// Widening is refused.
	_, err = gateway.DelegateToken(grant, net.TokenRequest{Subject: sensorKey, Scope: net.ScopePublish,
		Channel: "sensors/lidar/*", TTL: 10 * time.Minute})
	var netErr *net.Error
	if errors.As(err, &netErr) {
		fmt.Println("publish from a subscribe grant:", netErr.Kind)
	}

	// A node that trusts the root checks the chain, then revokes it.
	cache, err := net.NewTokenCache()
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	if err := cache.Trust(rootKey); err != nil {
		log.Fatal(err)
	}
	access := net.Access{Subject: sensorKey, Scope: net.ScopeSubscribe, Channel: "sensors/lidar/front"}
	if _, err := cache.Install([]net.Token{grant, narrow}, access, time.Time{}); err != nil {
		log.Fatal(err)
	}
	_, err = cache.Check(access, time.Time{})
	fmt.Println("lidar/front allowed:", err == nil)
	_, err = cache.Check(net.Access{Subject: sensorKey, Scope: net.ScopeSubscribe, Channel: "sensors/temp"}, time.Time{})
	fmt.Println("temp allowed:", err == nil)
	grantID, _ := grant.ID()
	if err := cache.Revoke(grantID); err != nil {
		log.Fatal(err)
	}
	_, err = cache.Check(access, time.Time{})
	fmt.Println("after revoking the root grant:", err == nil)
}
