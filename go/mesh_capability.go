package net

// Capability announcements on a mesh node: announce what this node can do,
// find the nodes that can do something.

/*
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "net.h"
*/
import "C"

import (
	"encoding/json"
	"time"
	"unsafe"
)

// CapabilityConfig is the capability part of a MeshConfig. Zero values keep
// the engine's defaults.
type CapabilityConfig struct {
	// Subnet is this node's subnet (default SubnetGlobal).
	Subnet SubnetID
	// SubnetPolicy derives peers' subnets from their announced tags (nil:
	// every peer in SubnetGlobal).
	SubnetPolicy *SubnetPolicy
	// TTL is how long this node's announcement stays in other indexes
	// without a refresh (default 5 min; refreshed at half of it).
	TTL time.Duration
	// MinAnnounceInterval is the shortest time between two announcements
	// sent (default 10 s); announcing sooner sends the latest set when it
	// is up.
	MinAnnounceInterval time.Duration
}

func (c *CapabilityConfig) json() map[string]any {
	m := map[string]any{}
	if c.Subnet != SubnetGlobal {
		m["subnet"] = c.Subnet.String()
	}
	if c.SubnetPolicy != nil {
		p := *c.SubnetPolicy
		if p.Rules == nil {
			p.Rules = []SubnetRule{}
		}
		m["subnet_policy"] = p
	}
	if c.TTL != 0 {
		m["ttl_ms"] = millis(c.TTL)
	}
	if c.MinAnnounceInterval != 0 {
		m["min_announce_interval_ms"] = millis(c.MinAnnounceInterval)
	}
	return m
}

// AnnounceCapabilities tells the mesh what this node can do: the set is
// signed, indexed as this node's own at once and sent to every peer, which
// passes it on (up to 16 hops). Announcing again within the configured
// MinAnnounceInterval sends the latest set when the interval is up.
func (m *Mesh) AnnounceCapabilities(set CapabilitySet) error {
	text := set.JSON()
	cs := C.CString(text)
	defer C.free(unsafe.Pointer(cs))
	return m.call(func(h *C.net_mesh_t) C.int32_t {
		return C.net_mesh_announce_capabilities(h, cs, C.size_t(len(text)))
	})
}

// FindNodes returns the ids of the nodes whose announced sets satisfy p,
// this node's own included, in ascending order. Providers' scope tags are
// ignored; see FindNodesScoped.
func (m *Mesh) FindNodes(p Predicate) ([]uint64, error) { return m.findNodes(p, nil) }

// FindNodesScoped is FindNodes filtered by the providers' scope tags:
// scope is "global", "same_subnet", "tenant:<id>" or "region:<name>".
func (m *Mesh) FindNodesScoped(p Predicate, scope string) ([]uint64, error) {
	return m.findNodes(p, &scope)
}

func (m *Mesh) findNodes(p Predicate, scope *string) ([]uint64, error) {
	pj := p.String()
	cp := C.CString(pj)
	defer C.free(unsafe.Pointer(cp))
	var cscope *C.char
	var scopeLen C.size_t
	if scope != nil {
		cscope = C.CString(*scope)
		defer C.free(unsafe.Pointer(cscope))
		scopeLen = C.size_t(len(*scope))
	}
	var ids *C.uint64_t
	var count C.size_t
	err := m.call(func(h *C.net_mesh_t) C.int32_t {
		return C.net_mesh_find_nodes(h, cp, C.size_t(len(pj)), cscope, scopeLen, &ids, &count)
	})
	if err != nil {
		return nil, err
	}
	out := make([]uint64, int(count))
	if count > 0 {
		copy(out, unsafe.Slice((*uint64)(unsafe.Pointer(ids)), int(count)))
		C.net_node_ids_free(ids, count)
	}
	return out, nil
}

// CapabilitiesOf returns the set node announced (this node's own included);
// ok is false when it is not known or has expired.
func (m *Mesh) CapabilitiesOf(node uint64) (set CapabilitySet, ok bool, err error) {
	var out *C.char
	var n C.size_t
	var rc C.int32_t
	err = m.call(func(h *C.net_mesh_t) C.int32_t {
		rc = C.net_mesh_capabilities_of(h, C.uint64_t(node), &out, &n)
		return rc
	})
	if err != nil || rc == C.NET_DONE || out == nil {
		return CapabilitySet{}, false, err
	}
	defer C.net_string_free(out)
	err = json.Unmarshal([]byte(C.GoStringN(out, C.int(n))), &set)
	return set, err == nil, err
}

// SubnetOf returns node's subnet: this node's configured one for itself, the
// one its SubnetPolicy derives from a peer's announced tags; ok is false for
// a peer that has not announced.
func (m *Mesh) SubnetOf(node uint64) (subnet SubnetID, ok bool, err error) {
	var out C.uint32_t
	var rc C.int32_t
	err = m.call(func(h *C.net_mesh_t) C.int32_t {
		rc = C.net_mesh_subnet_of(h, C.uint64_t(node), &out)
		return rc
	})
	if err != nil || rc == C.NET_DONE {
		return 0, false, err
	}
	return SubnetID(out), true, nil
}

// CapabilityStats returns the node's capability counters.
func (m *Mesh) CapabilityStats() (CapabilityStats, error) {
	var s CapabilityStats
	err := m.jsonCall(func(h *C.net_mesh_t, out **C.char) C.int32_t {
		return C.net_mesh_capability_stats(h, out, nil)
	}, &s)
	return s, err
}
