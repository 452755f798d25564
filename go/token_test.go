package net

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func tokenIdentities(t *testing.T, seeds ...byte) []*Identity {
	t.Helper()
	var out []*Identity
	for _, s := range seeds {
		seed := make([]byte, 32)
		for i := range seed {
			seed[i] = s
		}
		id, err := IdentityFromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { id.Close() })
		out = append(out, id)
	}
	return out
}

func publicKey(t *testing.T, id *Identity) []byte {
	t.Helper()
	pk, err := id.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func TestTokensIssueDelegateAndVerifyAChain(t *testing.T) {
	ids := tokenIdentities(t, 1, 2, 3)
	root, alice, bob := ids[0], ids[1], ids[2]
	grant, err := root.IssueToken(TokenRequest{Subject: publicKey(t, alice), Scope: ScopeSubscribe | ScopeDelegate,
		Channel: "sensors/**", TTL: time.Hour, Depth: 1})
	if err != nil || len(grant) != TokenLen {
		t.Fatalf("issue: %v (%d bytes)", err, len(grant))
	}
	if err := grant.Verify(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := grant.Verify(time.Now().Add(2 * time.Hour)); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("an hour later: %v", err)
	}
	child, err := alice.DelegateToken(grant, TokenRequest{Subject: publicKey(t, bob), Scope: ScopeSubscribe,
		Channel: "sensors/lidar", TTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	info, err := child.Inspect()
	if err != nil || info.Scope() != ScopeSubscribe || info.Parent == "" || info.ChannelKind != "exact" {
		t.Fatalf("inspect: %+v %v", info, err)
	}
	if _, err := alice.DelegateToken(grant, TokenRequest{Subject: publicKey(t, bob), Scope: ScopePublish,
		Channel: "sensors/lidar", TTL: time.Minute}); !errors.Is(err, ErrTokenWidened) {
		t.Fatalf("widened scope: %v", err)
	}
	if _, err := bob.DelegateToken(grant, TokenRequest{Subject: publicKey(t, bob), Scope: ScopeSubscribe,
		Channel: "sensors/lidar", TTL: time.Minute}); !errors.Is(err, ErrTokenBrokenChain) {
		t.Fatalf("not the subject: %v", err)
	}
	if _, err := root.TryIssueToken(TokenRequest{Subject: publicKey(t, bob), Scope: ScopeAdmin, Channel: "a"}); !errors.Is(err, ErrTokenZeroTTL) {
		t.Fatalf("zero ttl: %v", err)
	}
	if _, err := root.IssueToken(TokenRequest{Subject: []byte{1, 2}, Scope: ScopeAdmin, Channel: "a", TTL: time.Second}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("short subject: %v", err)
	}
	if _, err := root.IssueToken(TokenRequest{Subject: publicKey(t, bob), Scope: ScopeAdmin, Channel: "a//b", TTL: time.Second}); !errors.Is(err, ErrInvalidChannelName) {
		t.Fatalf("bad channel: %v", err)
	}
	cache, err := NewTokenCache()
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	access := Access{Subject: publicKey(t, bob), Scope: ScopeSubscribe, Channel: "sensors/lidar"}
	if _, err := cache.Install([]Token{grant, child}, access, time.Time{}); !errors.Is(err, ErrTokenUntrusted) {
		t.Fatalf("untrusted: %v", err)
	}
	if err := cache.Trust(publicKey(t, root)); err != nil {
		t.Fatal(err)
	}
	leaf, err := cache.Install([]Token{grant, child}, access, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := cache.Check(access, time.Time{}); err != nil || id != leaf {
		t.Fatalf("check: %v %v", id, err)
	}
	if err := cache.Revoke(leaf); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Check(access, time.Time{}); !errors.Is(err, ErrTokenDenied) {
		t.Fatalf("after revoke: %v", err)
	}
	if revoked, _ := cache.IsRevoked(leaf); !revoked {
		t.Fatal("not revoked")
	}
	if _, err := cache.Verify([]Token{grant, child}, access, time.Time{}); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("verify after revoke: %v", err)
	}
	if err := Token([]byte{1, 2, 3}).Verify(time.Time{}); !errors.Is(err, ErrTokenMalformed) {
		t.Fatalf("garbage: %v", err)
	}
	cache.Close()
	if _, err := cache.Len(); !errors.Is(err, ErrInvalidHandle) {
		t.Fatalf("closed cache: %v", err)
	}
}

func TestTokenCacheFromManyGoroutines(t *testing.T) {
	ids := tokenIdentities(t, 1, 20, 21, 22, 23, 24, 25, 26, 27)
	root := ids[0]
	cache, err := NewTokenCache()
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	if err := cache.Trust(publicKey(t, root)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, subject := range ids[1:] {
		pk := publicKey(t, subject)
		wg.Add(1)
		go func() {
			defer wg.Done()
			access := Access{Subject: pk, Scope: ScopePublish, Channel: "t/x"}
			for i := 0; i < 50; i++ {
				token, err := root.IssueToken(TokenRequest{Subject: pk, Scope: ScopePublish, Channel: "t/*", TTL: time.Minute})
				if err != nil {
					t.Error(err)
					return
				}
				id, err := cache.Install([]Token{token}, access, time.Time{})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := cache.Check(access, time.Time{}); err != nil {
					t.Error(err)
				}
				if err := cache.Revoke(id); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n, _ := cache.Len(); n != 0 {
		t.Fatalf("%d chains left", n)
	}
}

func TestChannelNames(t *testing.T) {
	if err := CheckChannelName("sensors/lidar"); err != nil {
		t.Fatal(err)
	}
	if err := CheckChannelName("sensors/"); !errors.Is(err, ErrInvalidChannelName) {
		t.Fatalf("trailing slash: %v", err)
	}
	if m, err := ChannelMatches("sensors/**", "sensors/a/b"); err != nil || !m {
		t.Fatalf("match: %v %v", m, err)
	}
	a, _ := ChannelHash("a")
	b, _ := ChannelHash("b")
	if a == b || a == 0 {
		t.Fatalf("hashes %d %d", a, b)
	}
}
