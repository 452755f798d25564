package net

import (
	"errors"
	"sync"
	"testing"
)

func gpuNode() CapabilitySet {
	return CapabilitySet{}.
		WithHardware(Hardware{CPUCores: 16, MemoryGB: 64, GPU: &GPU{Vendor: "nvidia", Model: "RTX 4090", VRAMGB: 24}}).
		WithTags("inference").
		WithMetadata("intent", "ml-training")
}

func TestCapabilityBuildersAndViews(t *testing.T) {
	set, err := gpuNode().Normalize()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"hardware.cpu.cores=16", "hardware.gpu", "hardware.gpu.model=RTX 4090", "hardware.gpu.vendor=nvidia",
		"hardware.gpu.vram_gb=24", "hardware.memory_gb=64", "inference"}
	if len(set.Tags) != len(want) {
		t.Fatalf("tags %v", set.Tags)
	}
	for i := range want {
		if set.Tags[i] != want[i] {
			t.Fatalf("tag %d is %q, want %q", i, set.Tags[i], want[i])
		}
	}
	views, err := set.Views()
	if err != nil || views.Hardware.GPU == nil || views.Hardware.GPU.VRAMGB != 24 || views.Hardware.CPUCores != 16 {
		t.Fatalf("views %+v %v", views, err)
	}
	report, err := set.Validate()
	if err != nil || !report.Valid || len(report.Warnings) != 0 {
		t.Fatalf("report %+v %v", report, err)
	}
}

func TestPredicates(t *testing.T) {
	set := gpuNode()
	p := And(Exists("hardware.gpu"), AtLeast("hardware.gpu.vram_gb", 16), Not(In("region", "cn")),
		Or(Equals("intent", "ml-training"), SemverCompatible("software.runtime.python", "3.10")))
	ok, err := p.Matches(set)
	if err != nil || !ok {
		t.Fatalf("matches %v %v", ok, err)
	}
	ok, err = AtMost("hardware.cpu.cores", 8).Matches(set)
	if err != nil || ok {
		t.Fatalf("at most %v %v", ok, err)
	}
	// The canonical form pads versions ("3.10" → "3.10.0"); it is stable.
	back, err := ParsePredicate([]byte(p.String()))
	again, _ := ParsePredicate([]byte(back.String()))
	if err != nil || back.String() != again.String() || len(back.String()) != len(p.String())+2 {
		t.Fatalf("round trip %s vs %s (%v)", back, p, err)
	}
	if _, err := SemverCompatible("a", "x.y").Matches(set); !errors.Is(err, ErrInvalidPredicate) {
		t.Fatalf("bad version: %v", err)
	}
	if _, err := ParsePredicate([]byte(`{"exist":"a"}`)); !errors.Is(err, ErrInvalidPredicate) {
		t.Fatalf("unknown operator: %v", err)
	}
	if _, err := Exists("a").Matches(CapabilitySet{Tags: []string{"a b"}}); !errors.Is(err, ErrInvalidCapabilityTag) {
		t.Fatalf("bad tag: %v", err)
	}
}

func TestCapabilityDiffAndApply(t *testing.T) {
	before := gpuNode()
	after := gpuNode().WithTags("software.model=llama3-70b")
	diff, err := after.Diff(before)
	if err != nil || len(diff.Added) != 1 || diff.Added[0] != "software.model=llama3-70b" || len(diff.Removed) != 0 {
		t.Fatalf("diff %+v %v", diff, err)
	}
	next, err := before.Apply(diff)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := after.Diff(next)
	if !again.Empty() {
		t.Fatalf("applied set differs: %+v", again)
	}
	if _, err := next.Apply(diff); !errors.Is(err, ErrInvalidCapabilityDiff) {
		t.Fatalf("stale diff: %v", err)
	}
}

func TestSubnets(t *testing.T) {
	fleet, err := NewSubnet(3, 7)
	if err != nil || fleet.String() != "3.7.0.0" || uint32(fleet) != 0x03070000 || len(fleet.Levels()) != 2 {
		t.Fatalf("subnet %v %v", fleet, err)
	}
	child, _ := ParseSubnet("3.7.1")
	if ok, _ := VisibilitySubnetLocal.Allows(fleet, child); ok {
		t.Fatal("subnet_local admitted a child subnet")
	}
	if ok, _ := VisibilityParentVisible.Allows(fleet, child); !ok {
		t.Fatal("parent_visible refused a child subnet")
	}
	if _, err := Visibility("public").Allows(fleet, child); !errors.Is(err, ErrInvalidSubnetPolicy) {
		t.Fatalf("bad visibility: %v", err)
	}
	if _, err := ParseSubnet("0.7"); !errors.Is(err, ErrInvalidSubnet) {
		t.Fatalf("bad subnet: %v", err)
	}
	policy := SubnetPolicy{Rules: []SubnetRule{
		{Prefix: "region:", Level: 0, Values: map[string]uint8{"us": 3}},
		{Prefix: "fleet:", Level: 1, Values: map[string]uint8{"blue": 7}},
	}}
	got, err := policy.Assign(CapabilitySet{Tags: []string{"region:us", "fleet:blue"}})
	if err != nil || got != fleet {
		t.Fatalf("assign %v %v", got, err)
	}
	if SubnetID(0x00070000).String() != "invalid(0x00070000)" {
		t.Fatalf("invalid prints as %s", SubnetID(0x00070000))
	}
}

func TestCapabilityConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	p := And(Exists("hardware.gpu"), AtLeast("hardware.memory_gb", 32))
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if ok, err := p.Matches(gpuNode()); err != nil || !ok {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent evaluation: %v", err)
	}
}
