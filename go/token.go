package net

// Permission tokens (ed25519-signed grants of what a subject may do on which
// channels), the token cache that checks chains of them, and channel names.

/*
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "net.h"
*/
import "C"

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// TokenLen is the length of a permission token in bytes.
const TokenLen = int(C.NET_TOKEN_LEN)

// TokenScope is what a token lets its subject do: a set of bits.
type TokenScope uint8

// The scope bits (from net.h).
const (
	ScopePublish   = TokenScope(C.NET_TOKEN_SCOPE_PUBLISH)
	ScopeSubscribe = TokenScope(C.NET_TOKEN_SCOPE_SUBSCRIBE)
	ScopeAdmin     = TokenScope(C.NET_TOKEN_SCOPE_ADMIN)
	ScopeDelegate  = TokenScope(C.NET_TOKEN_SCOPE_DELEGATE)
)

// Token is a permission token: TokenLen bytes, as issued, carried and checked.
type Token []byte

// TokenID identifies a token (revocation is by id).
type TokenID [32]byte

// String is the id in hex.
func (id TokenID) String() string { return hex.EncodeToString(id[:]) }

// TokenRequest is what a new token grants.
type TokenRequest struct {
	// Subject is the public key (entity id) of whom it is for.
	Subject []byte
	// Scope is what they may do.
	Scope TokenScope
	// Channel is the channel pattern: "sensors/lidar", "sensors/*" (one
	// level below), "sensors/**" (any depth below).
	Channel string
	// TTL is how long it lasts from NotBefore (whole seconds, rounded up).
	TTL time.Duration
	// Depth is how many further delegations it allows (0: none).
	Depth uint8
	// NotBefore is when it starts; zero: at issue.
	NotBefore time.Time
	// Now is the time of issue; zero: the system clock.
	Now time.Time
	// Nonce is 16 bytes; nil: random.
	Nonce []byte
}

func (r *TokenRequest) json() (string, error) {
	if r.TTL < 0 {
		return "", ErrInvalidTokenArgument.with("a time to live must not be negative")
	}
	fields := map[string]any{
		"subject": hex.EncodeToString(r.Subject),
		"scope":   int(r.Scope),
		"channel": r.Channel,
		"ttl_ms":  r.TTL.Milliseconds() + boolInt(r.TTL%time.Millisecond != 0),
		"depth":   r.Depth,
	}
	if !r.NotBefore.IsZero() {
		fields["not_before"] = r.NotBefore.Unix()
	}
	if !r.Now.IsZero() {
		fields["now"] = r.Now.Unix()
	}
	if r.Nonce != nil {
		fields["nonce"] = hex.EncodeToString(r.Nonce)
	}
	text, err := json.Marshal(fields)
	return string(text), err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// IssueToken issues a token signed by id (a root grant). A zero TTL is
// rounded up to one second; ErrTokenDepthExceeded above the delegation limit.
func (id *Identity) IssueToken(r TokenRequest) (Token, error) {
	return id.issue(r, false)
}

// TryIssueToken is IssueToken that refuses a zero TTL (ErrTokenZeroTTL).
func (id *Identity) TryIssueToken(r TokenRequest) (Token, error) {
	return id.issue(r, true)
}

func (id *Identity) issue(r TokenRequest, strict bool) (Token, error) {
	request, err := r.json()
	if err != nil {
		return nil, err
	}
	cs := C.CString(request)
	defer C.free(unsafe.Pointer(cs))
	out := make(Token, TokenLen)
	err = cCall(func() C.int32_t {
		dst := (*C.uint8_t)(unsafe.Pointer(&out[0]))
		if strict {
			return C.net_token_try_issue(id.handle, cs, C.size_t(len(request)), dst)
		}
		return C.net_token_issue(id.handle, cs, C.size_t(len(request)), dst)
	})
	runtime.KeepAlive(id)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DelegateToken passes part of parent (a token whose subject is id) on.
// Refused with ErrTokenBrokenChain (id is not the parent's subject),
// ErrTokenDepthExceeded, ErrTokenWidened (a scope or channel the parent does
// not grant) or ErrTokenExpired; the new token ends no later than its parent.
func (id *Identity) DelegateToken(parent Token, r TokenRequest) (Token, error) {
	request, err := r.json()
	if err != nil {
		return nil, err
	}
	cs := C.CString(request)
	defer C.free(unsafe.Pointer(cs))
	out := make(Token, TokenLen)
	err = cCall(func() C.int32_t {
		return C.net_token_delegate(id.handle, (*C.uint8_t)(unsafe.Pointer(bytesPtr(parent))), C.size_t(len(parent)),
			cs, C.size_t(len(request)), (*C.uint8_t)(unsafe.Pointer(&out[0])))
	})
	runtime.KeepAlive(id)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// unix is t as seconds since the epoch for the engine (negative: now).
func unix(t time.Time) C.int64_t {
	if t.IsZero() {
		return -1
	}
	return C.int64_t(t.Unix())
}

// Verify checks the token's signature and that at is within its window
// (zero at: now): nil, ErrTokenMalformed, ErrTokenBadSignature,
// ErrTokenExpired or ErrTokenNotYetValid.
func (t Token) Verify(at time.Time) error {
	return cCall(func() C.int32_t {
		return C.net_token_verify((*C.uint8_t)(unsafe.Pointer(bytesPtr(t))), C.size_t(len(t)), unix(at))
	})
}

// ID returns the token's id.
func (t Token) ID() (TokenID, error) {
	var id TokenID
	err := cCall(func() C.int32_t {
		return C.net_token_id((*C.uint8_t)(unsafe.Pointer(bytesPtr(t))), C.size_t(len(t)), (*C.uint8_t)(unsafe.Pointer(&id[0])))
	})
	return id, err
}

// Covers reports whether the token's channel pattern matches channel.
func (t Token) Covers(channel string) (bool, error) {
	var out C.bool
	cs := C.CString(channel)
	defer C.free(unsafe.Pointer(cs))
	err := cCall(func() C.int32_t {
		return C.net_token_covers((*C.uint8_t)(unsafe.Pointer(bytesPtr(t))), C.size_t(len(t)), cs, C.size_t(len(channel)), &out)
	})
	return bool(out), err
}

// TokenInfo is a token's fields.
type TokenInfo struct {
	ID            string   `json:"id"`
	Version       int      `json:"version"`
	ScopeNames    []string `json:"scope"`
	ScopeBits     uint8    `json:"scope_bits"`
	Depth         uint8    `json:"depth"`
	ChannelKind   string   `json:"channel_kind"`
	ChannelDigest string   `json:"channel_digest"`
	NotBefore     int64    `json:"not_before"`
	Expires       int64    `json:"expires"`
	Nonce         string   `json:"nonce"`
	Issuer        string   `json:"issuer"`
	Subject       string   `json:"subject"`
	// Parent is the parent token's id in hex; empty for a root grant.
	Parent string `json:"parent"`
}

// Scope returns what the token grants.
func (i TokenInfo) Scope() TokenScope { return TokenScope(i.ScopeBits) }

// Inspect returns the token's fields (ErrTokenMalformed if it is not one).
func (t Token) Inspect() (TokenInfo, error) {
	text, err := t.inspectJSON()
	if err != nil {
		return TokenInfo{}, err
	}
	var info TokenInfo
	if err := json.Unmarshal([]byte(text), &info); err != nil {
		return TokenInfo{}, fmt.Errorf("net: token fields: %w", err)
	}
	return info, nil
}

func (t Token) inspectJSON() (string, error) {
	var out *C.char
	var n C.size_t
	if err := cCall(func() C.int32_t {
		return C.net_token_json((*C.uint8_t)(unsafe.Pointer(bytesPtr(t))), C.size_t(len(t)), &out, &n)
	}); err != nil {
		return "", err
	}
	defer C.net_string_free(out)
	return C.GoStringN(out, C.int(n)), nil
}

// TokenCache holds the roots a node trusts, the chains it verified and the
// token ids it revoked. Safe for concurrent use; Close releases it.
type TokenCache struct {
	handle *C.net_token_cache_t
	once   sync.Once
}

// NewTokenCache returns an empty cache that trusts no root.
func NewTokenCache() (*TokenCache, error) {
	var handle *C.net_token_cache_t
	if err := cCall(func() C.int32_t { return C.net_token_cache_new(&handle) }); err != nil {
		return nil, err
	}
	c := &TokenCache{handle: handle}
	runtime.SetFinalizer(c, func(c *TokenCache) { _ = c.Close() })
	return c, nil
}

// Close releases the cache (idempotent); later calls return ErrInvalidHandle.
func (c *TokenCache) Close() error {
	c.once.Do(func() {
		C.net_token_cache_free(c.handle)
		runtime.SetFinalizer(c, nil)
	})
	return nil
}

// Trust trusts the root public key to issue root grants.
func (c *TokenCache) Trust(publicKey []byte) error {
	err := cCall(func() C.int32_t {
		return C.net_token_cache_trust(c.handle, (*C.uint8_t)(unsafe.Pointer(bytesPtr(publicKey))), C.size_t(len(publicKey)))
	})
	runtime.KeepAlive(c)
	return err
}

// Revoke revokes the token id, and every chain resting on it, from the next
// check on.
func (c *TokenCache) Revoke(id TokenID) error {
	err := cCall(func() C.int32_t {
		return C.net_token_cache_revoke(c.handle, (*C.uint8_t)(unsafe.Pointer(&id[0])), C.size_t(len(id)))
	})
	runtime.KeepAlive(c)
	return err
}

// IsRevoked reports whether id was revoked here.
func (c *TokenCache) IsRevoked(id TokenID) (bool, error) {
	var out C.bool
	err := cCall(func() C.int32_t {
		return C.net_token_cache_is_revoked(c.handle, (*C.uint8_t)(unsafe.Pointer(&id[0])), C.size_t(len(id)), &out)
	})
	runtime.KeepAlive(c)
	return bool(out), err
}

// Access is one thing a chain is checked for: who, what, on which channel.
type Access struct {
	Subject []byte
	Scope   TokenScope
	Channel string
}

func (c *TokenCache) chainCall(chain []Token, a Access, at time.Time, install bool) (TokenID, error) {
	var joined []byte
	for _, t := range chain {
		joined = append(joined, t...)
	}
	cs := C.CString(a.Channel)
	defer C.free(unsafe.Pointer(cs))
	var id TokenID
	err := cCall(func() C.int32_t {
		chainPtr := (*C.uint8_t)(unsafe.Pointer(bytesPtr(joined)))
		subject := (*C.uint8_t)(unsafe.Pointer(bytesPtr(a.Subject)))
		out := (*C.uint8_t)(unsafe.Pointer(&id[0]))
		if install {
			return C.net_token_cache_install(c.handle, chainPtr, C.size_t(len(joined)), subject, C.size_t(len(a.Subject)),
				C.uint8_t(a.Scope), cs, C.size_t(len(a.Channel)), unix(at), out)
		}
		return C.net_token_cache_verify(c.handle, chainPtr, C.size_t(len(joined)), subject, C.size_t(len(a.Subject)),
			C.uint8_t(a.Scope), cs, C.size_t(len(a.Channel)), unix(at), out)
	})
	runtime.KeepAlive(c)
	return id, err
}

// Install verifies chain (the root grant first) for a at time at (zero: now)
// against the roots trusted and ids revoked here, keeps it, and returns the
// leaf's id. Refusals: ErrTokenUntrusted, ErrTokenBrokenChain,
// ErrTokenWidened, ErrTokenDenied, ErrTokenRevoked, ErrTokenExpired, ...
func (c *TokenCache) Install(chain []Token, a Access, at time.Time) (TokenID, error) {
	return c.chainCall(chain, a, at, true)
}

// Verify is Install without keeping the chain.
func (c *TokenCache) Verify(chain []Token, a Access, at time.Time) (TokenID, error) {
	return c.chainCall(chain, a, at, false)
}

// Check reports whether a chain held here lets a happen at at (zero: now):
// the leaf's id, ErrTokenDenied (none does) or ErrTokenExpired.
func (c *TokenCache) Check(a Access, at time.Time) (TokenID, error) {
	cs := C.CString(a.Channel)
	defer C.free(unsafe.Pointer(cs))
	var id TokenID
	err := cCall(func() C.int32_t {
		return C.net_token_cache_check(c.handle, (*C.uint8_t)(unsafe.Pointer(bytesPtr(a.Subject))), C.size_t(len(a.Subject)),
			C.uint8_t(a.Scope), cs, C.size_t(len(a.Channel)), unix(at), (*C.uint8_t)(unsafe.Pointer(&id[0])))
	})
	runtime.KeepAlive(c)
	return id, err
}

// Sweep drops the chains expired at at (zero: now) and returns how many went.
func (c *TokenCache) Sweep(at time.Time) (int, error) {
	var n C.size_t
	err := cCall(func() C.int32_t { return C.net_token_cache_sweep(c.handle, unix(at), &n) })
	runtime.KeepAlive(c)
	return int(n), err
}

// Len returns how many verified chains the cache holds.
func (c *TokenCache) Len() (int, error) {
	var n C.size_t
	err := cCall(func() C.int32_t { return C.net_token_cache_len(c.handle, &n) })
	runtime.KeepAlive(c)
	return int(n), err
}

// CheckChannelName returns nil for a valid channel name, ErrInvalidChannelName otherwise.
func CheckChannelName(name string) error {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return cCall(func() C.int32_t { return C.net_channel_check_name(cs, C.size_t(len(name))) })
}

// ChannelHash returns a channel name's stable 64-bit hash.
func ChannelHash(name string) (uint64, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var out C.uint64_t
	err := cCall(func() C.int32_t { return C.net_channel_hash(cs, C.size_t(len(name)), &out) })
	return uint64(out), err
}

// ChannelMatches reports whether the channel pattern ("a/b", "a/*", "a/**",
// "*", "**") matches the channel name.
func ChannelMatches(pattern, name string) (bool, error) {
	cp := C.CString(pattern)
	defer C.free(unsafe.Pointer(cp))
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var out C.bool
	err := cCall(func() C.int32_t {
		return C.net_channel_matches(cp, C.size_t(len(pattern)), cn, C.size_t(len(name)), &out)
	})
	return bool(out), err
}
