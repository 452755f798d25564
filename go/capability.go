package net

// Capabilities (what a node can do, as tags and metadata), the predicates
// that ask for them, and subnets. Every operation runs in the engine: the Go
// types here build and read the one JSON shape every language shares.

/*
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "net.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unsafe"
)

// GPU describes a GPU (the hardware.gpu.* tags). Zero fields are left out.
type GPU struct {
	Vendor string  `json:"vendor,omitempty"`
	Model  string  `json:"model,omitempty"`
	VRAMGB float64 `json:"vram_gb,omitempty"`
	Count  uint32  `json:"count,omitempty"`
}

// Hardware is the hardware view (the hardware.* tags). Zero fields are left
// out.
type Hardware struct {
	CPUCores   uint32  `json:"cpu_cores,omitempty"`
	CPUThreads uint32  `json:"cpu_threads,omitempty"`
	MemoryGB   float64 `json:"memory_gb,omitempty"`
	GPU        *GPU    `json:"gpu,omitempty"`
}

// Software is the software view: models and tools (many each) and runtime
// versions by name (the software.* tags).
type Software struct {
	Models   []string          `json:"models,omitempty"`
	Tools    []string          `json:"tools,omitempty"`
	Runtimes map[string]string `json:"runtimes,omitempty"`
}

// Limits is the limits view (the limits.* tags). Zero fields are left out.
type Limits struct {
	MaxConcurrent   uint64  `json:"max_concurrent,omitempty"`
	MaxPayloadBytes uint64  `json:"max_payload_bytes,omitempty"`
	MaxRatePerSec   float64 `json:"max_rate_per_sec,omitempty"`
}

// CapabilitySet is what a node can do: tags ("gpu", "nrpc:echo",
// "hardware.memory_gb=64") and metadata, plus typed sections the engine
// writes out as tags. Build one with the With methods (each returns a copy);
// Normalize gives the canonical form.
type CapabilitySet struct {
	Tags     []string          `json:"tags,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Hardware *Hardware         `json:"hardware,omitempty"`
	Software *Software         `json:"software,omitempty"`
	Limits   *Limits           `json:"limits,omitempty"`
}

// WithTags returns a copy with the tags added.
func (s CapabilitySet) WithTags(tags ...string) CapabilitySet {
	s.Tags = append(append([]string(nil), s.Tags...), tags...)
	return s
}

// WithMetadata returns a copy with the metadata entry set.
func (s CapabilitySet) WithMetadata(key, value string) CapabilitySet {
	m := make(map[string]string, len(s.Metadata)+1)
	for k, v := range s.Metadata {
		m[k] = v
	}
	m[key] = value
	s.Metadata = m
	return s
}

// WithHardware returns a copy with the hardware section set.
func (s CapabilitySet) WithHardware(h Hardware) CapabilitySet { s.Hardware = &h; return s }

// WithSoftware returns a copy with the software section set.
func (s CapabilitySet) WithSoftware(sw Software) CapabilitySet { s.Software = &sw; return s }

// WithLimits returns a copy with the limits section set.
func (s CapabilitySet) WithLimits(l Limits) CapabilitySet { s.Limits = &l; return s }

// JSON is the set's JSON as built (not normalized).
func (s CapabilitySet) JSON() string {
	data, err := json.Marshal(s)
	if err != nil {
		return "{}"
	}
	return string(data)
}

// ParseCapabilitySet reads a set from its JSON and normalizes it.
func ParseCapabilitySet(data []byte) (CapabilitySet, error) {
	return normalizeSet(string(data))
}

func normalizeSet(text string) (CapabilitySet, error) {
	out, err := jsonCall(text, func(in *C.char, n C.size_t, out **C.char, outLen *C.size_t) C.int32_t {
		return C.net_capability_normalize(in, n, out, outLen)
	})
	if err != nil {
		return CapabilitySet{}, err
	}
	var set CapabilitySet
	if err := json.Unmarshal([]byte(out), &set); err != nil {
		return CapabilitySet{}, fmt.Errorf("net: capability set: %w", err)
	}
	return set, nil
}

// Normalize returns the canonical set: sections written out as tags, tags
// sorted by key then value, duplicates dropped. Errors are
// ErrInvalidCapabilityTag or ErrInvalidCapabilitySet.
func (s CapabilitySet) Normalize() (CapabilitySet, error) { return normalizeSet(s.JSON()) }

// CapabilityViews are the typed views of a set's tags.
type CapabilityViews struct {
	Hardware Hardware `json:"hardware"`
	Software Software `json:"software"`
	Limits   Limits   `json:"limits"`
}

// Views reads the typed views back from the set's tags.
func (s CapabilitySet) Views() (CapabilityViews, error) {
	var views CapabilityViews
	err := jsonResult(s.JSON(), &views, func(in *C.char, n C.size_t, out **C.char, outLen *C.size_t) C.int32_t {
		return C.net_capability_views(in, n, out, outLen)
	})
	return views, err
}

// ValidationIssue is one finding of Validate.
type ValidationIssue struct {
	Code    string `json:"code"`
	Key     string `json:"key"`
	Message string `json:"message"`
}

// ValidationReport is what Validate found: errors an operator must fix and
// warnings about hygiene or forward compatibility.
type ValidationReport struct {
	Valid    bool              `json:"valid"`
	Errors   []ValidationIssue `json:"errors"`
	Warnings []ValidationIssue `json:"warnings"`
}

// Validate checks the set against the schema of its typed views and
// reserved tags. A set that does not parse is an error, not a report.
func (s CapabilitySet) Validate() (ValidationReport, error) {
	var report ValidationReport
	err := jsonResult(s.JSON(), &report, func(in *C.char, n C.size_t, out **C.char, outLen *C.size_t) C.int32_t {
		return C.net_capability_validate(in, n, out, outLen)
	})
	return report, err
}

// CapabilityDiff is what changed between two sets.
type CapabilityDiff struct {
	Added           []string          `json:"added"`
	Removed         []string          `json:"removed"`
	MetadataSet     map[string]string `json:"metadata_set"`
	MetadataRemoved []string          `json:"metadata_removed"`
}

// Empty reports whether nothing changed.
func (d CapabilityDiff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.MetadataSet) == 0 && len(d.MetadataRemoved) == 0
}

// Diff returns what changed from prev to s: Apply it to prev to get s.
func (s CapabilitySet) Diff(prev CapabilitySet) (CapabilityDiff, error) {
	var diff CapabilityDiff
	out, err := jsonCall2(prev.JSON(), s.JSON(), func(a *C.char, an C.size_t, b *C.char, bn C.size_t, out **C.char, outLen *C.size_t) C.int32_t {
		return C.net_capability_diff(a, an, b, bn, out, outLen)
	})
	if err == nil {
		err = json.Unmarshal([]byte(out), &diff)
	}
	return diff, err
}

// Apply returns s with the diff applied; ErrInvalidCapabilityDiff when the
// diff was taken against another set.
func (s CapabilitySet) Apply(diff CapabilityDiff) (CapabilitySet, error) {
	// The engine reads lists and maps, not nulls.
	if diff.Added == nil {
		diff.Added = []string{}
	}
	if diff.Removed == nil {
		diff.Removed = []string{}
	}
	if diff.MetadataSet == nil {
		diff.MetadataSet = map[string]string{}
	}
	if diff.MetadataRemoved == nil {
		diff.MetadataRemoved = []string{}
	}
	d, err := json.Marshal(diff)
	if err != nil {
		return CapabilitySet{}, err
	}
	out, err := jsonCall2(s.JSON(), string(d), func(a *C.char, an C.size_t, b *C.char, bn C.size_t, out **C.char, outLen *C.size_t) C.int32_t {
		return C.net_capability_apply(a, an, b, bn, out, outLen)
	})
	if err != nil {
		return CapabilitySet{}, err
	}
	var set CapabilitySet
	err = json.Unmarshal([]byte(out), &set)
	return set, err
}

// Predicate asks something of a capability set. Build one with Exists,
// Equals, AtLeast, AtMost, SemverCompatible, In, And, Or and Not; it
// marshals to the JSON every language shares, and the engine evaluates it.
type Predicate struct{ node any }

func keyed(op, key, name string, v any) Predicate {
	return Predicate{map[string]any{op: map[string]any{"key": key, name: v}}}
}

// Exists: the key is a tag (bare or with a value) or a metadata key.
func Exists(key string) Predicate { return Predicate{map[string]any{"exists": key}} }

// Equals: a value of the key is this text.
func Equals(key, value string) Predicate { return keyed("equals", key, "value", value) }

// EqualsNumber: a value of the key reads as this number.
func EqualsNumber(key string, value float64) Predicate {
	return keyed("equals", key, "value", value)
}

// AtLeast: a value of the key reads as a number of at least min.
func AtLeast(key string, min float64) Predicate {
	return keyed("numeric_at_least", key, "value", min)
}

// AtMost: a value of the key reads as a number of at most max.
func AtMost(key string, max float64) Predicate { return keyed("numeric_at_most", key, "value", max) }

// SemverCompatible: a value of the key is a version compatible with version
// (same major and not older; for 0.x, same minor).
func SemverCompatible(key, version string) Predicate {
	return keyed("semver_compatible", key, "version", version)
}

// In: a value of the key is one of values.
func In(key string, values ...string) Predicate {
	if values == nil {
		values = []string{}
	}
	return keyed("in", key, "values", values)
}

func list(ps []Predicate) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = p.node
	}
	return out
}

// And: every part holds (true when there are none).
func And(parts ...Predicate) Predicate { return Predicate{map[string]any{"and": list(parts)}} }

// Or: some part holds (false when there are none).
func Or(parts ...Predicate) Predicate { return Predicate{map[string]any{"or": list(parts)}} }

// Not: the part does not hold.
func Not(part Predicate) Predicate { return Predicate{map[string]any{"not": part.node}} }

// MarshalJSON writes the predicate's JSON.
func (p Predicate) MarshalJSON() ([]byte, error) { return json.Marshal(p.node) }

// UnmarshalJSON reads a predicate's JSON and checks it in the engine.
func (p *Predicate) UnmarshalJSON(data []byte) error {
	q, err := ParsePredicate(data)
	if err == nil {
		*p = q
	}
	return err
}

// String is the predicate's JSON.
func (p Predicate) String() string {
	data, _ := json.Marshal(p.node)
	return string(data)
}

// ParsePredicate reads a predicate's JSON; ErrInvalidPredicate when it is
// not one. The result is the canonical form.
func ParsePredicate(data []byte) (Predicate, error) {
	out, err := jsonCall(string(data), func(in *C.char, n C.size_t, out **C.char, outLen *C.size_t) C.int32_t {
		return C.net_predicate_normalize(in, n, out, outLen)
	})
	if err != nil {
		return Predicate{}, err
	}
	var node any
	if err := json.Unmarshal([]byte(out), &node); err != nil {
		return Predicate{}, err
	}
	return Predicate{node}, nil
}

// Matches reports whether the set satisfies the predicate (evaluated in the
// engine). ErrInvalidPredicate when the predicate is not valid (a bad
// version, say).
func (p Predicate) Matches(s CapabilitySet) (bool, error) {
	pj, sj := p.String(), s.JSON()
	cp, cs := C.CString(pj), C.CString(sj)
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(cs))
	var out C.bool
	err := cCall(func() C.int32_t {
		return C.net_predicate_evaluate(cp, C.size_t(len(pj)), cs, C.size_t(len(sj)), &out)
	})
	return bool(out), err
}

// SubnetID is a subnet: four levels (region, fleet, vehicle, subsystem), one
// byte each, outermost in the high byte. 0 (SubnetGlobal) is the root.
type SubnetID uint32

// SubnetGlobal is the root subnet, above every other.
const SubnetGlobal SubnetID = 0

// ParseSubnet reads "3.7" or "3.7.0.0"; ErrInvalidSubnet otherwise.
func ParseSubnet(text string) (SubnetID, error) {
	cs := C.CString(text)
	defer C.free(unsafe.Pointer(cs))
	var out C.uint32_t
	err := cCall(func() C.int32_t { return C.net_subnet_parse(cs, C.size_t(len(text)), &out) })
	return SubnetID(out), err
}

// NewSubnet builds a subnet from up to four levels (each 1 to 255).
func NewSubnet(levels ...uint8) (SubnetID, error) {
	var out C.uint32_t
	var ptr *C.uint8_t
	if len(levels) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&levels[0]))
	}
	err := cCall(func() C.int32_t { return C.net_subnet_from_levels(ptr, C.size_t(len(levels)), &out) })
	return SubnetID(out), err
}

// String is the dotted form ("3.7.0.0"); an encoding that is not a subnet
// prints as "invalid(0x...)".
func (s SubnetID) String() string {
	var out *C.char
	var n C.size_t
	if err := cCall(func() C.int32_t { return C.net_subnet_format(C.uint32_t(s), &out, &n) }); err != nil {
		return fmt.Sprintf("invalid(0x%08x)", uint32(s))
	}
	defer C.net_string_free(out)
	return C.GoStringN(out, C.int(n))
}

// Levels are the set levels, outermost first.
func (s SubnetID) Levels() []uint8 {
	var out []uint8
	for shift := 24; shift >= 0; shift -= 8 {
		b := uint8(uint32(s) >> uint(shift))
		if b == 0 {
			break
		}
		out = append(out, b)
	}
	return out
}

// Visibility says which subnets take part in a channel.
type Visibility string

// The visibilities.
const (
	// VisibilityGlobal: every subnet.
	VisibilityGlobal Visibility = "global"
	// VisibilitySubnetLocal: the publisher's subnet only.
	VisibilitySubnetLocal Visibility = "subnet_local"
	// VisibilityParentVisible: the publisher's subnet, those above and those below it.
	VisibilityParentVisible Visibility = "parent_visible"
)

// Allows reports whether a peer in subnet peer takes part in a channel of
// this visibility published from subnet publisher.
func (v Visibility) Allows(publisher, peer SubnetID) (bool, error) {
	cs := C.CString(string(v))
	defer C.free(unsafe.Pointer(cs))
	var out C.bool
	err := cCall(func() C.int32_t {
		return C.net_subnet_visible(cs, C.size_t(len(v)), C.uint32_t(publisher), C.uint32_t(peer), &out)
	})
	return bool(out), err
}

// SubnetRule maps tags starting with Prefix to the byte of one level: the
// rest of the tag is looked up in Values.
type SubnetRule struct {
	Prefix string           `json:"prefix"`
	Level  uint8            `json:"level"`
	Values map[string]uint8 `json:"values"`
}

// SubnetPolicy derives a node's subnet from its capability tags; every node
// applies the same policy to every peer's announced set.
type SubnetPolicy struct {
	Rules []SubnetRule `json:"rules"`
}

// Assign returns the subnet the set puts a node in;
// ErrInvalidSubnetPolicy when the policy is not valid.
func (p SubnetPolicy) Assign(s CapabilitySet) (SubnetID, error) {
	if p.Rules == nil {
		p.Rules = []SubnetRule{}
	}
	pj, err := json.Marshal(p)
	if err != nil {
		return 0, err
	}
	sj := s.JSON()
	cp, cs := C.CString(string(pj)), C.CString(sj)
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(cs))
	var out C.uint32_t
	err = cCall(func() C.int32_t {
		return C.net_subnet_assign(cp, C.size_t(len(pj)), cs, C.size_t(len(sj)), &out)
	})
	return SubnetID(out), err
}

type jsonFn func(in *C.char, n C.size_t, out **C.char, outLen *C.size_t) C.int32_t

// jsonCall runs a JSON-in, JSON-out entry point.
func jsonCall(input string, f jsonFn) (string, error) {
	cs := C.CString(input)
	defer C.free(unsafe.Pointer(cs))
	var out *C.char
	var n C.size_t
	if err := cCall(func() C.int32_t { return f(cs, C.size_t(len(input)), &out, &n) }); err != nil {
		return "", err
	}
	defer C.net_string_free(out)
	return C.GoStringN(out, C.int(n)), nil
}

func jsonResult(input string, into any, f jsonFn) error {
	out, err := jsonCall(input, f)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(out), into)
}

func jsonCall2(a, b string, f func(*C.char, C.size_t, *C.char, C.size_t, **C.char, *C.size_t) C.int32_t) (string, error) {
	ca, cb := C.CString(a), C.CString(b)
	defer C.free(unsafe.Pointer(ca))
	defer C.free(unsafe.Pointer(cb))
	var out *C.char
	var n C.size_t
	if err := cCall(func() C.int32_t { return f(ca, C.size_t(len(a)), cb, C.size_t(len(b)), &out, &n) }); err != nil {
		return "", err
	}
	defer C.net_string_free(out)
	return C.GoStringN(out, C.int(n)), nil
}

// ParseCapabilityDiff reads a diff from its JSON; ErrInvalidCapabilityDiff
// when it is not one (unknown fields included).
func ParseCapabilityDiff(data []byte) (CapabilityDiff, error) {
	var diff CapabilityDiff
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&diff); err != nil {
		return CapabilityDiff{}, ErrInvalidCapabilityDiff.with("not a capability diff: " + err.Error())
	}
	return diff, nil
}

// ParseSubnetPolicy reads a policy from its JSON ({"rules": [{"prefix",
// "level", "values"}]}); ErrInvalidSubnetPolicy when it is not one (unknown
// fields included). The rules themselves are checked by Assign.
func ParseSubnetPolicy(data []byte) (SubnetPolicy, error) {
	var policy SubnetPolicy
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&policy); err != nil {
		return SubnetPolicy{}, ErrInvalidSubnetPolicy.with("not a subnet policy: " + err.Error())
	}
	return policy, nil
}
