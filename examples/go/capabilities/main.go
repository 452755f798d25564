// Capabilities in Go: describe a node, ask questions of it, validate and diff
// sets, derive subnets, and find a node over the mesh by what it can do.
// Run: cd examples/go && go run ./capabilities
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
	// A GPU node: typed hardware becomes tags, beside free-form ones.
	gpuNode, err := net.CapabilitySet{Tags: []string{"software.model=llama3-70b", "region:eu"}}.
		WithHardware(net.Hardware{CPUCores: 16, MemoryGB: 64, GPU: &net.GPU{Vendor: "nvidia", VRAMGB: 24}}).
		Normalize()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("tags:", gpuNode.Tags)
	report, err := gpuNode.Validate()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("valid:", report.Valid)

	// A question, evaluated in the engine (the same JSON in every language).
	wants := net.And(net.Exists("hardware.gpu"), net.AtLeast("hardware.gpu.vram_gb", 16),
		net.Equals("software.model", "llama3-70b"))
	ok, err := wants.Matches(gpuNode)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(wants, "->", ok)

	// What changed when a model was added.
	diff, err := gpuNode.WithTags("software.model=whisper").Diff(gpuNode)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("diff added:", diff.Added)

	// Subnets: the policy every node shares turns tags into a subnet.
	policy := net.SubnetPolicy{Rules: []net.SubnetRule{{Prefix: "region:", Level: 0, Values: map[string]uint8{"eu": 4}}}}
	subnet, err := policy.Assign(gpuNode)
	if err != nil {
		log.Fatal(err)
	}
	other, _ := net.ParseSubnet("5")
	reach, _ := net.VisibilitySubnetLocal.Allows(subnet, other)
	fmt.Println("subnet:", subnet, "| subnet_local reaches 5.0.0.0:", reach)

	// Over the mesh: b announces, a finds it by what it can do.
	key := bytes.Repeat([]byte{7}, 32)
	a, err := net.OpenMesh(net.MeshConfig{NetworkKey: key, Bind: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := net.OpenMesh(net.MeshConfig{NetworkKey: key, Bind: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	addr, _ := b.LocalAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.Connect(ctx, addr, b.PublicKey()); err != nil {
		log.Fatal(err)
	}
	if err := b.AnnounceCapabilities(gpuNode); err != nil {
		log.Fatal(err)
	}
	var found []uint64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if found, err = a.FindNodes(wants); err != nil || len(found) > 0 {
			break
		}
	}
	if len(found) != 1 || found[0] != b.NodeID() {
		log.Fatalf("a did not find b: %v %v", found, err)
	}
	fmt.Println("a finds b:", found[0] == b.NodeID())
}
