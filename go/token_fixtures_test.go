package net

// The token/ and channel/ fixtures (see tests/cross_lang/README.md).

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

var scopeByName = map[string]TokenScope{"publish": ScopePublish, "subscribe": ScopeSubscribe,
	"admin": ScopeAdmin, "delegate": ScopeDelegate}

func fixtureScope(v any) TokenScope {
	var scope TokenScope
	for _, n := range v.([]any) {
		bit, ok := scopeByName[n.(string)]
		if !ok {
			bit = 1 << 4 // not a scope bit: the engine refuses it
		}
		scope |= bit
	}
	return scope
}

func fixtureIdentity(doc fixtureFile, name any) (*Identity, error) {
	return IdentityFromSeed(unhex(doc.Identities[name.(string)]))
}

func fixtureTime(v any) time.Time {
	if v == nil {
		return time.Time{}
	}
	return time.Unix(int64(v.(float64)), 0)
}

func fixtureRequest(v any) TokenRequest {
	r := v.(map[string]any)
	req := TokenRequest{
		Subject:   unhex(r["subject"]),
		Scope:     fixtureScope(r["scope"]),
		Channel:   r["channel"].(string),
		TTL:       time.Duration(r["ttl_ms"].(float64)) * time.Millisecond,
		NotBefore: fixtureTime(r["not_before"]),
		Now:       fixtureTime(r["now"]),
	}
	if d, ok := r["depth"].(float64); ok {
		req.Depth = uint8(d)
	}
	if n, ok := r["nonce"].(string); ok {
		req.Nonce, _ = hex.DecodeString(n)
	}
	return req
}

// outcome compares what a case did with what the fixture says.
func outcome(c map[string]any, err error, got map[string]any) error {
	if want, ok := c["error"]; ok {
		return expectKind(err, want)
	}
	if err != nil {
		return fmt.Errorf("%v: %v", c["name"], err)
	}
	for key, value := range got {
		if fmt.Sprint(value) != fmt.Sprint(c[key]) {
			return fmt.Errorf("%v: %s is %v, expected %v", c["name"], key, value, c[key])
		}
	}
	return nil
}

func runTokenCase(doc fixtureFile, c map[string]any) (map[string]any, error) {
	minted := func(t Token, err error) (map[string]any, error) {
		if err != nil {
			return nil, err
		}
		id, err := t.ID()
		return map[string]any{"token": hex.EncodeToString(t), "id": id.String()}, err
	}
	switch c["op"] {
	case "issue":
		issuer, err := fixtureIdentity(doc, c["issuer"])
		if err != nil {
			return nil, err
		}
		defer issuer.Close()
		if c["strict"] == true {
			return minted(issuer.TryIssueToken(fixtureRequest(c["request"])))
		}
		return minted(issuer.IssueToken(fixtureRequest(c["request"])))
	case "delegate":
		delegator, err := fixtureIdentity(doc, c["delegator"])
		if err != nil {
			return nil, err
		}
		defer delegator.Close()
		return minted(delegator.DelegateToken(Token(unhex(c["parent"])), fixtureRequest(c["request"])))
	case "verify":
		return map[string]any{}, Token(unhex(c["token"])).Verify(fixtureTime(c["now"]))
	case "chain":
		cache, err := NewTokenCache()
		if err != nil {
			return nil, err
		}
		defer cache.Close()
		for _, name := range c["trust"].([]any) {
			id, err := fixtureIdentity(doc, name)
			if err != nil {
				return nil, err
			}
			pk, _ := id.PublicKey()
			id.Close()
			if err := cache.Trust(pk); err != nil {
				return nil, err
			}
		}
		for _, r := range c["revoked"].([]any) {
			var id TokenID
			copy(id[:], unhex(r))
			if err := cache.Revoke(id); err != nil {
				return nil, err
			}
		}
		var chain []Token
		for _, t := range c["chain"].([]any) {
			chain = append(chain, Token(unhex(t)))
		}
		subject, err := fixtureIdentity(doc, c["subject"])
		if err != nil {
			return nil, err
		}
		pk, _ := subject.PublicKey()
		subject.Close()
		access := Access{Subject: pk, Scope: fixtureScope(c["scope"]), Channel: c["channel"].(string)}
		at := fixtureTime(c["now"])
		leaf, err := cache.Install(chain, access, at)
		if err != nil {
			return nil, err
		}
		if _, err := cache.Check(access, at); err != nil {
			return nil, err
		}
		return map[string]any{"id": leaf.String()}, nil
	case "covers":
		covers, err := Token(unhex(c["token"])).Covers(c["channel"].(string))
		return map[string]any{"covers": covers}, err
	case "inspect":
		text, err := Token(unhex(c["token"])).inspectJSON()
		if err != nil {
			return nil, err
		}
		var got, want any
		_ = json.Unmarshal([]byte(text), &got)
		raw, _ := json.Marshal(c["json"])
		_ = json.Unmarshal(raw, &want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return nil, fmt.Errorf("fields %v", got)
		}
		info, err := Token(unhex(c["token"])).Inspect()
		if err != nil || info.ID != c["json"].(map[string]any)["id"] || info.Scope() == 0 {
			return nil, fmt.Errorf("TokenInfo %+v %v", info, err)
		}
		return map[string]any{}, nil
	}
	return nil, fmt.Errorf("unknown op %v", c["op"])
}

func tokenUnits(doc fixtureFile) []error {
	var out []error
	for _, c := range doc.Tokens {
		got, err := runTokenCase(doc, c)
		out = append(out, outcome(c, err, got))
	}
	return out
}

func channelNameUnits(doc fixtureFile) []error {
	var out []error
	for _, c := range doc.Names {
		channel := c["channel"].(string)
		if c["op"] == "name" {
			hash, err := ChannelHash(channel)
			if err == nil {
				err = CheckChannelName(channel)
			}
			out = append(out, outcome(c, err, map[string]any{"hash": fmt.Sprint(hash)}))
			continue
		}
		matches, err := ChannelMatches(c["pattern"].(string), channel)
		out = append(out, outcome(c, err, map[string]any{"matches": matches}))
	}
	return out
}
