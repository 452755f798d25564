package net

import (
	"testing"
	"time"
)

func TestMeshCapabilitiesAcrossThreeNodes(t *testing.T) {
	policy := &SubnetPolicy{Rules: []SubnetRule{{Prefix: "region:", Level: 0, Values: map[string]uint8{"eu": 4}}}}
	home, _ := NewSubnet(3, 7)
	cfg := MeshConfig{Capabilities: &CapabilityConfig{Subnet: home, SubnetPolicy: policy, MinAnnounceInterval: 50 * time.Millisecond}}
	nodes := []*Mesh{mustMesh(t, cfg), mustMesh(t, cfg), mustMesh(t, cfg)}
	for i := 0; i < 2; i++ {
		addr, _ := nodes[i+1].LocalAddr()
		if _, err := nodes[i].Connect(testCtx(t, 10*time.Second), addr, nodes[i+1].PublicKey()); err != nil {
			t.Fatal(err)
		}
	}
	origin := nodes[2]
	set := CapabilitySet{Tags: []string{"region:eu"}}.WithHardware(Hardware{GPU: &GPU{Vendor: "nvidia", VRAMGB: 24}})
	if err := origin.AnnounceCapabilities(set); err != nil {
		t.Fatal(err)
	}
	want := And(Exists("hardware.gpu"), AtLeast("hardware.gpu.vram_gb", 16))
	waitFor(t, "the announcement two hops out", func() bool {
		ids, err := nodes[0].FindNodes(want)
		return err == nil && len(ids) == 1 && ids[0] == origin.NodeID()
	})
	self, _ := origin.FindNodes(want)
	if len(self) != 1 || self[0] != origin.NodeID() {
		t.Fatalf("the origin does not find itself: %v", self)
	}
	got, ok, err := nodes[0].CapabilitiesOf(origin.NodeID())
	if err != nil || !ok || len(got.Tags) == 0 || got.Tags[len(got.Tags)-1] != "region:eu" {
		t.Fatalf("CapabilitiesOf: %+v %v %v", got, ok, err)
	}
	if _, ok, err := nodes[0].CapabilitiesOf(12345); ok || err != nil {
		t.Fatalf("unknown node: %v %v", ok, err)
	}
	subnet, ok, err := nodes[0].SubnetOf(origin.NodeID())
	if err != nil || !ok || subnet.String() != "4.0.0.0" {
		t.Fatalf("SubnetOf peer: %v %v %v", subnet, ok, err)
	}
	if own, ok, _ := nodes[0].SubnetOf(nodes[0].NodeID()); !ok || own != home {
		t.Fatalf("SubnetOf self: %v", own)
	}
	scoped, err := nodes[0].FindNodesScoped(want, "global")
	if err != nil || len(scoped) != 1 {
		t.Fatalf("scoped: %v %v", scoped, err)
	}
	stats, err := nodes[1].CapabilityStats()
	if err != nil || stats.Forwarded != 1 || stats.Indexed != 1 {
		t.Fatalf("stats %+v %v", stats, err)
	}
	_, err = nodes[0].FindNodesScoped(want, "planet")
	wantKind(t, "bad scope", err, ErrInvalidPredicate)
	err = origin.AnnounceCapabilities(CapabilitySet{Tags: []string{"a b"}})
	wantKind(t, "bad tag", err, ErrInvalidCapabilityTag)
	_ = origin.Close()
	_, err = origin.FindNodes(want)
	wantKind(t, "closed", err, ErrMeshShutdown)
}

func TestMeshCapabilityConfigErrors(t *testing.T) {
	_, err := OpenMesh(MeshConfig{NetworkKey: testNetworkKey, Bind: "127.0.0.1:0",
		Capabilities: &CapabilityConfig{SubnetPolicy: &SubnetPolicy{Rules: []SubnetRule{{Prefix: "x:", Level: 9}}}}})
	wantKind(t, "bad policy", err, ErrInvalidMeshConfig)
	_, err = OpenMesh(MeshConfig{NetworkKey: testNetworkKey, Bind: "127.0.0.1:0",
		Capabilities: &CapabilityConfig{TTL: time.Millisecond}})
	wantKind(t, "short ttl", err, ErrInvalidMeshConfig)
}
