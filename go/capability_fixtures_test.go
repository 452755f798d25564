package net

// The capability/ and subnet/ fixtures (see tests/cross_lang/README.md).

import (
	"encoding/json"
	"fmt"
)

func raw(v any) []byte {
	data, _ := json.Marshal(v)
	return data
}

// plain turns a Go value into what decoding its JSON gives (maps, slices,
// float64), so it compares with a fixture's value.
func plain(v any) any {
	var out any
	_ = json.Unmarshal(raw(v), &out)
	return out
}

func issuePairs(issues []ValidationIssue) []any {
	out := []any{}
	for _, i := range issues {
		out = append(out, []any{i.Code, i.Key})
	}
	return out
}

func runCapabilityCase(c map[string]any) (map[string]any, error) {
	set := func(key string) (CapabilitySet, error) { return ParseCapabilitySet(raw(c[key])) }
	switch c["op"] {
	case "normalize":
		s, err := set("set")
		return map[string]any{"result": plain(s)}, err
	case "views":
		s, err := set("set")
		if err != nil {
			return nil, err
		}
		views, err := s.Views()
		// The engine writes empty lists and maps; Go leaves them out.
		got := plain(views).(map[string]any)
		sw := got["software"].(map[string]any)
		for _, k := range []string{"models", "tools"} {
			if sw[k] == nil {
				sw[k] = []any{}
			}
		}
		if sw["runtimes"] == nil {
			sw["runtimes"] = map[string]any{}
		}
		return map[string]any{"result": got}, err
	case "evaluate":
		p, err := ParsePredicate(raw(c["predicate"]))
		if err != nil {
			return nil, err
		}
		s, err := set("set")
		if err != nil {
			return nil, err
		}
		m, err := p.Matches(s)
		return map[string]any{"matches": m}, err
	case "predicate":
		p, err := ParsePredicate(raw(c["predicate"]))
		return map[string]any{"result": plain(p)}, err
	case "validate":
		s, err := set("set")
		if err != nil {
			return nil, err
		}
		r, err := s.Validate()
		return map[string]any{"valid": r.Valid, "errors": issuePairs(r.Errors), "warnings": issuePairs(r.Warnings)}, err
	case "diff":
		before, err := set("before")
		if err != nil {
			return nil, err
		}
		after, err := set("after")
		if err != nil {
			return nil, err
		}
		d, err := after.Diff(before)
		return map[string]any{"result": plain(d)}, err
	case "apply":
		s, err := set("set")
		if err != nil {
			return nil, err
		}
		d, err := ParseCapabilityDiff(raw(c["diff"]))
		if err != nil {
			return nil, err
		}
		next, err := s.Apply(d)
		got := plain(next)
		if m, ok := got.(map[string]any); ok && m["metadata"] == nil {
			m["metadata"] = map[string]any{}
		}
		return map[string]any{"result": got}, err
	}
	return nil, fmt.Errorf("unknown op %v", c["op"])
}

func capabilityUnits(doc fixtureFile) []error {
	var out []error
	for _, c := range doc.Capability {
		got, err := runCapabilityCase(c)
		if got != nil {
			if r, ok := got["result"].(map[string]any); ok && c["op"] != "predicate" && c["op"] != "views" && c["op"] != "diff" {
				if r["metadata"] == nil {
					r["metadata"] = map[string]any{}
				}
				if r["tags"] == nil {
					r["tags"] = []any{}
				}
			}
		}
		out = append(out, outcome(c, err, got))
	}
	return out
}

func subnetUnits(doc fixtureFile) []error {
	var out []error
	for _, c := range doc.Subnet {
		var id SubnetID
		var err error
		switch c["op"] {
		case "parse":
			id, err = ParseSubnet(c["text"].(string))
		case "levels":
			var levels []uint8
			for _, l := range c["levels"].([]any) {
				levels = append(levels, uint8(l.(float64)))
			}
			id, err = NewSubnet(levels...)
		case "value":
			id = SubnetID(uint32(c["value"].(float64)))
			if _, ok := c["error"]; ok {
				// The encoding is checked where it is used.
				_, err = VisibilityGlobal.Allows(id, id)
			}
		case "visible":
			pub, err1 := ParseSubnet(c["publisher"].(string))
			peer, err2 := ParseSubnet(c["peer"].(string))
			if err1 != nil || err2 != nil {
				out = append(out, fmt.Errorf("%v: %v %v", c["name"], err1, err2))
				continue
			}
			allowed, err := Visibility(c["visibility"].(string)).Allows(pub, peer)
			out = append(out, outcome(c, err, map[string]any{"allowed": allowed}))
			continue
		case "assign":
			policy, perr := ParseSubnetPolicy(raw(c["policy"]))
			if perr != nil {
				err = perr
				break
			}
			s, serr := ParseCapabilitySet(raw(c["set"]))
			if serr != nil {
				err = serr
				break
			}
			id, err = policy.Assign(s)
		}
		got := map[string]any{"result": id.String()}
		if c["op"] == "parse" || c["op"] == "levels" {
			got["value"] = float64(id)
		}
		out = append(out, outcome(c, err, got))
	}
	return out
}
