package net

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func TestMeshChannelsPublishSubscribeRevoke(t *testing.T) {
	p, s := mustMesh(t, MeshConfig{}), mustMesh(t, MeshConfig{})
	addr, _ := p.LocalAddr()
	if _, err := s.Connect(testCtx(t, 5*time.Second), addr, p.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if err := p.RegisterChannel(ChannelConfig{Name: "alerts/fire", RequireToken: true}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "twice", p.RegisterChannel(ChannelConfig{Name: "alerts/fire"}), ErrInvalidChannelConfig)
	wantKind(t, "bad name", p.RegisterChannel(ChannelConfig{Name: "a b"}), ErrInvalidChannelName)
	root, err := IdentityFromSeed(bytes.Repeat([]byte{42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	rootKey, _ := root.PublicKey()
	cache, err := p.TokenCache()
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	if err := cache.Trust(rootKey); err != nil {
		t.Fatal(err)
	}
	token, err := root.IssueToken(TokenRequest{Subject: s.PublicKey(), Scope: ScopeSubscribe, Channel: "alerts/**", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Subscribe(testCtx(t, 5*time.Second), p.NodeID(), "alerts/fire")
	wantKind(t, "no token", err, ErrChannelUnauthorized)
	_, err = s.Subscribe(testCtx(t, 5*time.Second), p.NodeID(), "alerts/none", token)
	wantKind(t, "unknown", err, ErrUnknownChannel)
	sub, err := s.Subscribe(testCtx(t, 5*time.Second), p.NodeID(), "alerts/*", token)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got := sub.Accepted(); len(got) != 1 || got[0] != "alerts/fire" {
		t.Fatalf("accepted %v", got)
	}
	if ids, _ := p.ChannelSubscribers("alerts/fire"); len(ids) != 1 || ids[0] != s.NodeID() {
		t.Fatalf("subscribers %v", ids)
	}
	for i := 0; i < 50; i++ {
		report, err := p.Publish("alerts/fire", []byte{byte(i)})
		if err != nil || report.Delivered != 1 || report.Attempted != 1 {
			t.Fatalf("publish %d: %+v %v", i, report, err)
		}
	}
	msgs := sub.Messages(testCtx(t, 5*time.Second))
	for i := 0; i < 50; i++ {
		m, ok := <-msgs
		if !ok || m.Channel != "alerts/fire" || m.Publisher != p.NodeID() || !bytes.Equal(m.Payload, []byte{byte(i)}) {
			t.Fatalf("message %d: %+v %v", i, m, ok)
		}
	}
	id, _ := token.ID()
	if err := cache.Revoke(id); err != nil {
		t.Fatal(err)
	}
	report, err := p.Publish("alerts/fire", []byte("after"))
	if err != nil || report.Delivered != 0 || len(report.Skipped) != 1 || report.Skipped[0].Reason != "revoked" || report.Skipped[0].NodeID != s.NodeID() {
		t.Fatalf("after revoke: %+v %v", report, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := sub.Next(ctx); err != context.DeadlineExceeded {
		t.Fatalf("nothing after revocation: %v", err)
	}
	_, err = p.Publish("nope", nil)
	wantKind(t, "unknown publish", err, ErrUnknownChannel)
	stats, err := p.ChannelStats()
	if err != nil || stats.EvictedRevoked != 1 || stats.SubscribesAccepted != 1 {
		t.Fatalf("stats %+v %v", stats, err)
	}
	if ok, _ := p.UnregisterChannel("alerts/fire"); !ok {
		t.Fatal("unregister")
	}
	if ok, _ := p.UnregisterChannel("alerts/fire"); ok {
		t.Fatal("unregister twice")
	}
	_ = sub.Close()
	_, err = sub.Next(context.Background())
	wantKind(t, "closed", err, ErrInvalidHandle)
}

func TestMeshChannelCapsAndSubnets(t *testing.T) {
	policy := &SubnetPolicy{Rules: []SubnetRule{{Prefix: "region:", Level: 0, Values: map[string]uint8{"us": 3, "eu": 4}}}}
	us, _ := NewSubnet(3)
	p := mustMesh(t, MeshConfig{Capabilities: &CapabilityConfig{Subnet: us, SubnetPolicy: policy, MinAnnounceInterval: 20 * time.Millisecond}})
	s := mustMesh(t, MeshConfig{Capabilities: &CapabilityConfig{SubnetPolicy: policy, MinAnnounceInterval: 20 * time.Millisecond}})
	addr, _ := p.LocalAddr()
	if _, err := s.Connect(testCtx(t, 5*time.Second), addr, p.PublicKey()); err != nil {
		t.Fatal(err)
	}
	gpu := Exists("hardware.gpu")
	if err := p.RegisterChannel(ChannelConfig{Name: "jobs", SubscribeCaps: &gpu, Visibility: VisibilitySubnetLocal, FireAndForget: true}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Subscribe(testCtx(t, 5*time.Second), p.NodeID(), "jobs")
	wantKind(t, "not in the subnet", err, ErrChannelSubnet)
	if err := s.AnnounceCapabilities(CapabilitySet{Tags: []string{"region:us"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "p indexes s", func() bool { _, ok, _ := p.CapabilitiesOf(s.NodeID()); return ok })
	_, err = s.Subscribe(testCtx(t, 5*time.Second), p.NodeID(), "jobs")
	wantKind(t, "no gpu", err, ErrChannelUnauthorized)
	if err := s.AnnounceCapabilities(CapabilitySet{Tags: []string{"region:us", "hardware.gpu"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "p sees the gpu", func() bool {
		ids, _ := p.FindNodes(gpu)
		return len(ids) == 1
	})
	sub, err := s.Subscribe(testCtx(t, 5*time.Second), p.NodeID(), "jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := p.Publish("jobs", []byte("x")); err != nil {
		t.Fatal(err)
	}
	m, err := sub.Next(testCtx(t, 5*time.Second))
	if err != nil || string(m.Payload) != "x" {
		t.Fatalf("%+v %v", m, err)
	}
}
