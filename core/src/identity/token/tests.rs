use super::*;
use std::sync::Arc;

const NOW: u64 = 1_800_000_000;

fn id(seed: u8) -> Identity {
    Identity::from_seed(&[seed; 32])
}

fn pattern(text: &str) -> ChannelPattern {
    ChannelPattern::new(text).unwrap()
}

fn name(text: &str) -> ChannelName {
    ChannelName::new(text).unwrap()
}

fn request(subject: &Identity, scope: TokenScope, channel: &str, ttl: u64) -> TokenRequest {
    TokenRequest {
        now: Some(NOW),
        nonce: Some([7; 16]),
        ..TokenRequest::new(
            subject.public_key(),
            scope,
            pattern(channel),
            Duration::from_secs(ttl),
        )
    }
}

fn kind(result: Result<impl std::fmt::Debug>) -> ErrorKind {
    result.unwrap_err().kind()
}

/// root → alice (delegate, depth 2) → bob (depth 1) → carol.
fn chain_of_three() -> (Identity, Vec<PermissionToken>, Identity) {
    let (root, alice, bob, carol) = (id(1), id(2), id(3), id(4));
    let all = TokenScope::SUBSCRIBE | TokenScope::PUBLISH | TokenScope::DELEGATE;
    let first = root
        .issue_token(&request(&alice, all, "sensors/**", 3600).with_depth(2))
        .unwrap();
    let second = alice
        .delegate_token(
            &first,
            &request(
                &bob,
                TokenScope::SUBSCRIBE | TokenScope::DELEGATE,
                "sensors/lidar/*",
                600,
            )
            .with_depth(1),
        )
        .unwrap();
    let third = bob
        .delegate_token(
            &second,
            &request(&carol, TokenScope::SUBSCRIBE, "sensors/lidar/front", 60),
        )
        .unwrap();
    (root, vec![first, second, third], carol)
}

fn trusting(root: &Identity) -> impl Fn(&[u8; 32]) -> bool + '_ {
    move |key| key == root.public_key().as_bytes()
}

fn access<'a>(who: &'a [u8; 32], scope: TokenScope, channel: &'a ChannelName) -> Access<'a> {
    Access {
        subject: who,
        scope,
        channel,
    }
}

#[test]
fn an_issued_token_round_trips_through_its_bytes_and_verifies_in_its_window() {
    let (root, subject) = (id(1), id(2));
    let token = root
        .issue_token(&request(&subject, TokenScope::SUBSCRIBE, "sensors/*", 300))
        .unwrap();
    assert_eq!(token.as_bytes().len(), TOKEN_LEN);
    let back = PermissionToken::from_bytes(token.as_bytes()).unwrap();
    assert_eq!(back, token);
    assert_eq!(back.id(), token.id());
    assert_eq!(
        (
            back.not_before(),
            back.expires(),
            back.depth(),
            back.parent()
        ),
        (NOW, NOW + 300, 0, None)
    );
    assert_eq!(back.issuer(), *root.public_key().as_bytes());
    assert_eq!(back.subject(), *subject.public_key().as_bytes());
    assert_eq!(back.scope().names(), ["subscribe"]);
    assert_eq!(back.channel_kind(), PatternKind::OneLevel);
    assert!(back.covers(&name("sensors/lidar")));
    assert!(!back.covers(&name("sensors/lidar/front")));
    back.verify(NOW).unwrap();
    back.verify(NOW + 299).unwrap();
    assert_eq!(kind(back.verify(NOW - 1)), ErrorKind::TokenNotYetValid);
    assert_eq!(kind(back.verify(NOW + 300)), ErrorKind::TokenExpired);
    let json = back.to_json();
    assert_eq!(json["id"], token.id().to_string());
    assert_eq!(json["expires"], NOW + 300);
    assert_eq!(
        TokenId::from_hex(&token.id().to_string()).unwrap(),
        token.id()
    );
}

#[test]
fn the_same_request_gives_the_same_bytes_and_another_nonce_another_id() {
    let (root, subject) = (id(1), id(2));
    let r = request(&subject, TokenScope::PUBLISH, "a/b", 10);
    assert_eq!(root.issue_token(&r).unwrap(), root.issue_token(&r).unwrap());
    let other = TokenRequest {
        nonce: Some([8; 16]),
        ..r.clone()
    };
    assert_ne!(
        root.issue_token(&other).unwrap().id(),
        root.issue_token(&r).unwrap().id()
    );
    // A random nonce when none is given.
    let random = TokenRequest { nonce: None, ..r };
    assert_ne!(
        root.issue_token(&random).unwrap(),
        root.issue_token(&random).unwrap()
    );
}

#[test]
fn zero_ttl_is_rounded_up_by_issue_and_refused_by_try_issue_and_depth_is_capped() {
    let (root, subject) = (id(1), id(2));
    let zero = request(&subject, TokenScope::SUBSCRIBE, "a", 0);
    assert_eq!(root.issue_token(&zero).unwrap().expires(), NOW + 1);
    assert_eq!(kind(root.try_issue_token(&zero)), ErrorKind::TokenZeroTtl);
    // Part of a second counts as a whole one.
    let part = TokenRequest {
        ttl: Duration::from_millis(1500),
        ..zero.clone()
    };
    assert_eq!(root.try_issue_token(&part).unwrap().expires(), NOW + 2);
    let deep =
        request(&subject, TokenScope::SUBSCRIBE, "a", 5).with_depth(MAX_DELEGATION_DEPTH + 1);
    assert_eq!(kind(root.issue_token(&deep)), ErrorKind::TokenDepthExceeded);
    let none = request(&subject, TokenScope::default(), "a", 5);
    assert_eq!(
        kind(root.issue_token(&none)),
        ErrorKind::InvalidTokenArgument
    );
    let overflow = TokenRequest {
        not_before: Some(u64::MAX),
        ..request(&subject, TokenScope::SUBSCRIBE, "a", 5)
    };
    assert_eq!(
        kind(root.issue_token(&overflow)),
        ErrorKind::InvalidTokenArgument
    );
}

#[test]
fn every_flipped_bit_is_caught_and_bad_bytes_are_malformed() {
    let token = id(1)
        .issue_token(&request(&id(2), TokenScope::SUBSCRIBE, "a/*", 60))
        .unwrap();
    for i in 0..TOKEN_LEN {
        let mut bytes = *token.as_bytes();
        bytes[i] ^= 0x01;
        let outcome = PermissionToken::from_bytes(&bytes).and_then(|t| t.verify(NOW));
        let k = kind(outcome);
        assert!(
            matches!(k, ErrorKind::TokenBadSignature | ErrorKind::TokenMalformed),
            "byte {i}: {k:?}"
        );
    }
    let bytes = token.as_bytes();
    assert_eq!(
        kind(PermissionToken::from_bytes(&bytes[..TOKEN_LEN - 1])),
        ErrorKind::TokenMalformed
    );
    assert_eq!(
        kind(PermissionToken::from_bytes(&[])),
        ErrorKind::TokenMalformed
    );
    for (at, value) in [
        (0, 2u8),
        (1, 0x10),
        (1, 0),
        (2, MAX_DELEGATION_DEPTH + 1),
        (3, 3),
    ] {
        let mut bad = *bytes;
        bad[at] = value;
        assert_eq!(
            kind(PermissionToken::from_bytes(&bad)),
            ErrorKind::TokenMalformed,
            "{at}"
        );
    }
    assert_eq!(
        kind(PermissionToken::chain_from_bytes(&bytes[..100])),
        ErrorKind::TokenMalformed
    );
}

#[test]
fn a_chain_of_three_verifies_end_to_end_back_to_its_root() {
    let (root, chain, carol) = chain_of_three();
    let carol_key = *carol.public_key().as_bytes();
    let front = name("sensors/lidar/front");
    let wanted = access(&carol_key, TokenScope::SUBSCRIBE, &front);
    verify_chain(&chain, &trusting(&root), &|_| false, &wanted, NOW).unwrap();
    // The child ends no later than its parent.
    assert_eq!(chain[2].expires(), NOW + 60);
    assert_eq!(chain[1].parent(), Some(chain[0].id()));
    let bytes: Vec<u8> = chain.iter().flat_map(|t| t.as_bytes().to_vec()).collect();
    assert_eq!(PermissionToken::chain_from_bytes(&bytes).unwrap(), chain);
}

#[test]
fn chains_are_refused_for_each_reason() {
    let (root, chain, carol) = chain_of_three();
    let carol_key = *carol.public_key().as_bytes();
    let front = name("sensors/lidar/front");
    let rear = name("sensors/lidar/rear");
    let ok = access(&carol_key, TokenScope::SUBSCRIBE, &front);
    let check = |chain: &[PermissionToken], access: &Access<'_>, now: u64| {
        kind(verify_chain(
            chain,
            &trusting(&root),
            &|_| false,
            access,
            now,
        ))
    };
    assert_eq!(check(&[], &ok, NOW), ErrorKind::TokenBrokenChain);
    // Out of order, or with a link missing.
    assert_eq!(
        check(
            &[chain[1].clone(), chain[0].clone(), chain[2].clone()],
            &ok,
            NOW
        ),
        ErrorKind::TokenBrokenChain
    );
    assert_eq!(
        check(&[chain[0].clone(), chain[2].clone()], &ok, NOW),
        ErrorKind::TokenBrokenChain
    );
    assert_eq!(check(&chain[1..], &ok, NOW), ErrorKind::TokenBrokenChain);
    // Another root.
    let stranger = trusting(&carol);
    assert_eq!(
        kind(verify_chain(&chain, &stranger, &|_| false, &ok, NOW)),
        ErrorKind::TokenUntrusted
    );
    // Another subject, scope or channel.
    let bob_key = *id(3).public_key().as_bytes();
    assert_eq!(
        check(
            &chain,
            &access(&bob_key, TokenScope::SUBSCRIBE, &front),
            NOW
        ),
        ErrorKind::TokenDenied
    );
    assert_eq!(
        check(
            &chain,
            &access(&carol_key, TokenScope::PUBLISH, &front),
            NOW
        ),
        ErrorKind::TokenDenied
    );
    assert_eq!(
        check(
            &chain,
            &access(&carol_key, TokenScope::SUBSCRIBE, &rear),
            NOW
        ),
        ErrorKind::TokenDenied
    );
    // Time: the leaf's minute is over, the root's hour is not.
    assert_eq!(check(&chain, &ok, NOW + 60), ErrorKind::TokenExpired);
    assert_eq!(check(&chain, &ok, NOW - 1), ErrorKind::TokenNotYetValid);
    // Revoked anywhere in the chain.
    let middle = chain[1].id();
    let revoked = |id: &TokenId| *id == middle;
    assert_eq!(
        kind(verify_chain(&chain, &trusting(&root), &revoked, &ok, NOW)),
        ErrorKind::TokenRevoked
    );
    // A tampered byte anywhere.
    let mut bytes = *chain[1].as_bytes();
    bytes[60] ^= 0x80;
    let tampered = [
        chain[0].clone(),
        PermissionToken::from_bytes(&bytes).unwrap(),
        chain[2].clone(),
    ];
    assert_eq!(check(&tampered, &ok, NOW), ErrorKind::TokenBadSignature);
}

#[test]
fn delegation_only_narrows() {
    let (root, alice, bob) = (id(1), id(2), id(3));
    let parent = root
        .issue_token(
            &request(
                &alice,
                TokenScope::SUBSCRIBE | TokenScope::DELEGATE,
                "sensors/*",
                100,
            )
            .with_depth(1),
        )
        .unwrap();
    let delegate = |scope, channel: &str, depth| {
        alice.delegate_token(
            &parent,
            &request(&bob, scope, channel, 1000).with_depth(depth),
        )
    };
    // Clamped to the parent's end.
    assert_eq!(
        delegate(TokenScope::SUBSCRIBE, "sensors/a", 0)
            .unwrap()
            .expires(),
        NOW + 100
    );
    assert_eq!(
        kind(delegate(TokenScope::PUBLISH, "sensors/a", 0)),
        ErrorKind::TokenWidened
    );
    assert_eq!(
        kind(delegate(TokenScope::SUBSCRIBE, "sensors/**", 0)),
        ErrorKind::TokenWidened
    );
    assert_eq!(
        kind(delegate(TokenScope::SUBSCRIBE, "other/a", 0)),
        ErrorKind::TokenWidened
    );
    assert_eq!(
        kind(delegate(TokenScope::SUBSCRIBE, "sensors/a/b", 0)),
        ErrorKind::TokenWidened
    );
    assert_eq!(
        kind(delegate(TokenScope::SUBSCRIBE, "sensors/a", 1)),
        ErrorKind::TokenDepthExceeded
    );
    // Only the subject delegates, and a leaf with no depth left cannot.
    assert_eq!(
        kind(bob.delegate_token(
            &parent,
            &request(&bob, TokenScope::SUBSCRIBE, "sensors/a", 10)
        )),
        ErrorKind::TokenBrokenChain
    );
    let leaf = delegate(TokenScope::SUBSCRIBE | TokenScope::DELEGATE, "sensors/a", 0).unwrap();
    assert_eq!(
        kind(bob.delegate_token(
            &leaf,
            &request(&alice, TokenScope::SUBSCRIBE, "sensors/a", 10)
        )),
        ErrorKind::TokenDepthExceeded
    );
    let no_delegate = root
        .issue_token(&request(&alice, TokenScope::SUBSCRIBE, "sensors/*", 100).with_depth(3))
        .unwrap();
    assert_eq!(
        kind(alice.delegate_token(
            &no_delegate,
            &request(&bob, TokenScope::SUBSCRIBE, "sensors/a", 10)
        )),
        ErrorKind::TokenDepthExceeded
    );
    // From a parent over by the time the child would start.
    let later = TokenRequest {
        not_before: Some(NOW + 500),
        ..request(&bob, TokenScope::SUBSCRIBE, "sensors/a", 10)
    };
    assert_eq!(
        kind(alice.delegate_token(&parent, &later)),
        ErrorKind::TokenExpired
    );
}

#[test]
fn a_forged_chain_that_widens_the_channel_is_caught_by_the_verifier() {
    // Signed by the right keys but never through delegate_token: the middle
    // token claims a wider pattern than its parent's.
    let (root, alice, bob) = (id(1), id(2), id(3));
    let all = TokenScope::SUBSCRIBE | TokenScope::DELEGATE;
    let first = root
        .issue_token(&request(&alice, all, "sensors/lidar/*", 100).with_depth(1))
        .unwrap();
    let wide = alice
        .sign_token(Fields {
            scope: TokenScope::SUBSCRIBE,
            depth: 0,
            pattern: pattern("sensors/**"),
            not_before: NOW,
            expires: NOW + 50,
            subject: *bob.public_key().as_bytes(),
            parent: *first.id().as_bytes(),
            nonce: [1; 16],
        })
        .unwrap();
    let bob_key = *bob.public_key().as_bytes();
    let front = name("sensors/lidar/front");
    let wanted = access(&bob_key, TokenScope::SUBSCRIBE, &front);
    assert_eq!(
        kind(verify_chain(
            &[first, wide],
            &trusting(&root),
            &|_| false,
            &wanted,
            NOW
        )),
        ErrorKind::TokenWidened
    );
}

#[test]
fn the_cache_checks_what_it_holds_revokes_at_the_next_check_and_sweeps_expired_chains() {
    let (root, chain, carol) = chain_of_three();
    let cache = TokenCache::new();
    let carol_key = *carol.public_key().as_bytes();
    let front = name("sensors/lidar/front");
    let wanted = access(&carol_key, TokenScope::SUBSCRIBE, &front);
    assert_eq!(
        kind(cache.install(&chain, &wanted, NOW)),
        ErrorKind::TokenUntrusted
    );
    cache.trust(&root.public_key());
    assert_eq!(kind(cache.check(&wanted, NOW)), ErrorKind::TokenDenied);
    let leaf = cache.install(&chain, &wanted, NOW).unwrap();
    assert_eq!(leaf, chain[2].id());
    assert_eq!(cache.check(&wanted, NOW + 10).unwrap(), leaf);
    assert_eq!(cache.len(), 1);
    // Installing it again replaces it.
    cache.install(&chain, &wanted, NOW).unwrap();
    assert_eq!(cache.len(), 1);
    assert_eq!(
        kind(cache.check(&wanted, NOW + 60)),
        ErrorKind::TokenExpired
    );
    // Revoking the root takes the chain away at once.
    cache.revoke(chain[0].id());
    assert!(cache.is_revoked(&chain[0].id()));
    assert_eq!(kind(cache.check(&wanted, NOW + 10)), ErrorKind::TokenDenied);
    assert_eq!(
        kind(cache.install(&chain, &wanted, NOW)),
        ErrorKind::TokenRevoked
    );
    assert!(cache.is_empty());
    // The sweep.
    let fresh = TokenCache::new();
    fresh.trust(&root.public_key());
    fresh.install(&chain, &wanted, NOW).unwrap();
    assert_eq!(fresh.sweep(NOW + 59), 0);
    assert_eq!(fresh.sweep(NOW + 60), 1);
    assert!(fresh.is_empty());
}

#[test]
fn the_cache_serves_checks_installs_and_revocations_from_many_threads() {
    let root = id(1);
    let cache = Arc::new(TokenCache::new());
    cache.trust(&root.public_key());
    let subjects: Vec<Identity> = (10..18).map(id).collect();
    let chan = name("t/x");
    std::thread::scope(|s| {
        for subject in &subjects {
            let (cache, root, chan) = (&cache, &root, &chan);
            s.spawn(move || {
                let key = *subject.public_key().as_bytes();
                let wanted = access(&key, TokenScope::PUBLISH, chan);
                for round in 0..200u8 {
                    let token = root
                        .issue_token(&TokenRequest {
                            nonce: Some([round; 16]),
                            ..request(subject, TokenScope::PUBLISH, "t/*", 100)
                        })
                        .unwrap();
                    let got = cache
                        .install(std::slice::from_ref(&token), &wanted, NOW)
                        .unwrap();
                    assert_eq!(got, token.id());
                    assert!(cache.check(&wanted, NOW).is_ok());
                    cache.revoke(token.id());
                    assert!(cache.check(&wanted, NOW).is_err());
                }
            });
        }
    });
    assert!(cache.is_empty());
}

/// A chain fixture: name, tokens, trusted, subject, scope, channel, now,
/// revoked ids, the error expected.
type ChainCase<'a> = (
    &'a str,
    Vec<String>,
    &'a [&'a str],
    &'a str,
    &'a [&'a str],
    &'a str,
    u64,
    &'a [String],
    Option<&'a str>,
);

/// Writes `tests/cross_lang/token/tokens.json` and
/// `tests/cross_lang/channel/names.json` from the engine (run once, by hand,
/// when the fixtures change on purpose:
/// `cargo test -p net-core -- --ignored write_token_fixtures`). The files
/// are then the contract: every runner, Rust's included, checks them.
#[test]
#[ignore]
fn write_token_fixtures() {
    use serde_json::{json, Value};
    let seeds = [
        ("root", 0x11u8),
        ("alice", 0x22),
        ("bob", 0x33),
        ("carol", 0x44),
    ];
    let who = |n: &str| id(seeds.iter().find(|(s, _)| *s == n).unwrap().1);
    let key = |n: &str| hex::encode(who(n).public_key().as_bytes());
    let req = |subject: &str, scope: &[&str], channel: &str, ttl_ms: u64, depth: u8, nonce: u8| {
        json!({"subject": key(subject), "scope": scope, "channel": channel, "ttl_ms": ttl_ms,
               "depth": depth, "now": NOW, "nonce": hex::encode([nonce; 16])})
    };
    let parse = |v: &Value| {
        let scope: Vec<String> = serde_json::from_value(v["scope"].clone()).unwrap();
        TokenRequest {
            subject: PublicKey::from_bytes(&hex::decode(v["subject"].as_str().unwrap()).unwrap())
                .unwrap(),
            scope: TokenScope::from_names(&scope).unwrap(),
            channel: pattern(v["channel"].as_str().unwrap()),
            ttl: Duration::from_millis(v["ttl_ms"].as_u64().unwrap()),
            depth: v["depth"].as_u64().unwrap_or(0) as u8,
            not_before: v["not_before"].as_u64(),
            now: v["now"].as_u64(),
            nonce: v["nonce"]
                .as_str()
                .map(|n| hex::decode(n).unwrap().try_into().unwrap()),
        }
    };
    let hexed = |t: &PermissionToken| hex::encode(t.as_bytes());
    let mut cases = Vec::new();
    let r1 = req(
        "alice",
        &["publish", "subscribe", "delegate"],
        "sensors/**",
        3_600_000,
        2,
        1,
    );
    let t1 = who("root").issue_token(&parse(&r1)).unwrap();
    cases.push(
        json!({"name": "a root grant", "op": "issue", "issuer": "root", "request": r1,
                      "token": hexed(&t1), "id": t1.id().to_string()}),
    );
    let r2 = req(
        "bob",
        &["subscribe", "delegate"],
        "sensors/lidar/*",
        600_000,
        1,
        2,
    );
    let t2 = who("alice").delegate_token(&t1, &parse(&r2)).unwrap();
    cases.push(json!({"name": "delegated one level", "op": "delegate", "delegator": "alice",
                      "parent": hexed(&t1), "request": r2, "token": hexed(&t2), "id": t2.id().to_string()}));
    let r3 = req("carol", &["subscribe"], "sensors/lidar/front", 60_000, 0, 3);
    let t3 = who("bob").delegate_token(&t2, &parse(&r3)).unwrap();
    cases.push(json!({"name": "delegated again, to one channel", "op": "delegate", "delegator": "bob",
                      "parent": hexed(&t2), "request": r3, "token": hexed(&t3), "id": t3.id().to_string()}));
    let mut r4 = req("bob", &["publish"], "sensors/temp", 10_000, 0, 4);
    r4["not_before"] = json!(NOW + 100);
    let t4 = who("root").issue_token(&parse(&r4)).unwrap();
    cases.push(
        json!({"name": "a grant that starts later", "op": "issue", "issuer": "root", "request": r4,
                      "token": hexed(&t4), "id": t4.id().to_string()}),
    );
    let r5 = req("bob", &["admin"], "*", 0, 0, 5);
    let t5 = who("root").issue_token(&parse(&r5)).unwrap();
    cases.push(json!({"name": "a zero time to live is rounded up to a second", "op": "issue", "issuer": "root",
                      "request": r5, "token": hexed(&t5), "id": t5.id().to_string()}));
    cases.push(json!({"name": "the strict issue refuses a zero time to live", "op": "issue", "issuer": "root",
                      "strict": true, "request": r5, "error": "token:zero_ttl"}));
    let bad_requests = [
        (
            "a depth above the limit",
            req("bob", &["publish"], "a", 1000, 9, 6),
            "token:depth_exceeded",
        ),
        (
            "an unknown scope",
            req("bob", &["write"], "a", 1000, 0, 6),
            "token:invalid_argument",
        ),
        (
            "no scope",
            req("bob", &[], "a", 1000, 0, 6),
            "token:invalid_argument",
        ),
        (
            "a bad channel pattern",
            req("bob", &["publish"], "a/*/b", 1000, 0, 6),
            "channel:invalid_name",
        ),
    ];
    for (name, request, error) in bad_requests {
        cases.push(json!({"name": name, "op": "issue", "issuer": "root", "request": request, "error": error}));
    }
    let mut short_subject = req("bob", &["publish"], "a", 1000, 0, 6);
    short_subject["subject"] = json!("abcd");
    cases.push(
        json!({"name": "a subject that is not a key", "op": "issue", "issuer": "root",
                      "request": short_subject, "error": "identity:invalid_key"}),
    );
    let refusals = [
        (
            "a scope the parent lacks",
            "bob",
            &t2,
            req("carol", &["publish"], "sensors/lidar/front", 1000, 0, 7),
            "token:widened",
        ),
        (
            "a wider channel than the parent's",
            "bob",
            &t2,
            req("carol", &["subscribe"], "sensors/**", 1000, 0, 7),
            "token:widened",
        ),
        (
            "another channel",
            "bob",
            &t2,
            req("carol", &["subscribe"], "sensors/temp", 1000, 0, 7),
            "token:widened",
        ),
        (
            "by someone else than the parent's subject",
            "carol",
            &t2,
            req("carol", &["subscribe"], "sensors/lidar/front", 1000, 0, 7),
            "token:broken_chain",
        ),
        (
            "as deep as the parent",
            "bob",
            &t2,
            req("carol", &["subscribe"], "sensors/lidar/front", 1000, 1, 7),
            "token:depth_exceeded",
        ),
        (
            "from a token that may not delegate",
            "carol",
            &t3,
            req("alice", &["subscribe"], "sensors/lidar/front", 1000, 0, 7),
            "token:depth_exceeded",
        ),
    ];
    for (name, delegator, parent, request, error) in refusals {
        cases.push(
            json!({"name": name, "op": "delegate", "delegator": delegator, "parent": hexed(parent),
                          "request": request, "error": error}),
        );
    }
    let mut tampered = *t1.as_bytes();
    tampered[70] ^= 0x04;
    let verifies: Vec<(&str, String, u64, Option<&str>)> = vec![
        ("valid at issue", hexed(&t1), NOW, None),
        (
            "valid the second before it expires",
            hexed(&t1),
            NOW + 3599,
            None,
        ),
        ("expired", hexed(&t1), NOW + 3600, Some("token:expired")),
        (
            "not valid yet",
            hexed(&t4),
            NOW,
            Some("token:not_yet_valid"),
        ),
        ("valid once started", hexed(&t4), NOW + 100, None),
        (
            "a tampered byte",
            hex::encode(tampered),
            NOW,
            Some("token:bad_signature"),
        ),
        (
            "too short",
            hexed(&t1)[..200].to_owned(),
            NOW,
            Some("token:malformed"),
        ),
    ];
    for (name, token, now, error) in verifies {
        let mut case = json!({"name": name, "op": "verify", "token": token, "now": now});
        if let Some(error) = error {
            case["error"] = json!(error);
        }
        cases.push(case);
    }
    let chain = [hexed(&t1), hexed(&t2), hexed(&t3)];
    let middle = [t2.id().to_string()];
    let chains: Vec<ChainCase<'_>> = vec![
        (
            "a chain of three, end to end",
            chain.to_vec(),
            &["root"],
            "carol",
            &["subscribe"],
            "sensors/lidar/front",
            NOW + 10,
            &[],
            None,
        ),
        (
            "another channel",
            chain.to_vec(),
            &["root"],
            "carol",
            &["subscribe"],
            "sensors/lidar/rear",
            NOW + 10,
            &[],
            Some("token:denied"),
        ),
        (
            "another subject",
            chain.to_vec(),
            &["root"],
            "bob",
            &["subscribe"],
            "sensors/lidar/front",
            NOW + 10,
            &[],
            Some("token:denied"),
        ),
        (
            "a scope the leaf lacks",
            chain.to_vec(),
            &["root"],
            "carol",
            &["publish"],
            "sensors/lidar/front",
            NOW + 10,
            &[],
            Some("token:denied"),
        ),
        (
            "an untrusted root",
            chain.to_vec(),
            &["alice"],
            "carol",
            &["subscribe"],
            "sensors/lidar/front",
            NOW + 10,
            &[],
            Some("token:untrusted"),
        ),
        (
            "a link missing",
            vec![chain[0].clone(), chain[2].clone()],
            &["root"],
            "carol",
            &["subscribe"],
            "sensors/lidar/front",
            NOW + 10,
            &[],
            Some("token:broken_chain"),
        ),
        (
            "out of order",
            vec![chain[1].clone(), chain[0].clone(), chain[2].clone()],
            &["root"],
            "carol",
            &["subscribe"],
            "sensors/lidar/front",
            NOW + 10,
            &[],
            Some("token:broken_chain"),
        ),
        (
            "the leaf expired",
            chain.to_vec(),
            &["root"],
            "carol",
            &["subscribe"],
            "sensors/lidar/front",
            NOW + 60,
            &[],
            Some("token:expired"),
        ),
        (
            "the middle revoked",
            chain.to_vec(),
            &["root"],
            "carol",
            &["subscribe"],
            "sensors/lidar/front",
            NOW + 10,
            &middle,
            Some("token:revoked"),
        ),
        (
            "a tampered root",
            vec![hex::encode(tampered), chain[1].clone(), chain[2].clone()],
            &["root"],
            "carol",
            &["subscribe"],
            "sensors/lidar/front",
            NOW + 10,
            &[],
            Some("token:bad_signature"),
        ),
    ];
    let mut chain_cases = Vec::new();
    for (name, tokens, trust, subject, scope, channel, now, revoked, error) in chains {
        let mut case = json!({"name": name, "op": "chain", "chain": tokens, "trust": trust, "subject": subject,
                              "scope": scope, "channel": channel, "now": now, "revoked": revoked});
        match error {
            Some(error) => case["error"] = json!(error),
            None => case["id"] = json!(t3.id().to_string()),
        }
        chain_cases.push(case);
    }
    cases.extend(chain_cases);
    for (name, token, channel, covers) in [
        ("one level below", &t2, "sensors/lidar/left", true),
        ("two levels below", &t2, "sensors/lidar/left/x", false),
        ("any depth", &t1, "sensors/a/b/c", true),
        ("exact", &t3, "sensors/lidar/front", true),
        ("exact, another", &t3, "sensors/lidar/fronts", false),
    ] {
        cases.push(json!({"name": name, "op": "covers", "token": hexed(token), "channel": channel, "covers": covers}));
    }
    cases.push(json!({"name": "inspect a delegated token", "op": "inspect", "token": hexed(&t2), "json": t2.to_json()}));
    let doc = json!({
        "abi_version": crate::ABI_VERSION,
        "description": "Permission tokens from fixed seeds at fixed times (NOW = 1800000000 s). `identities`: name → seed (hex). issue (`issuer`, `request` as the JSON request, `strict`), delegate (`delegator`, `parent`, `request`) → exact `token` bytes and `id`, or `error`. verify (`token`, `now`) → ok or `error`. chain: trust the `trust` identities' keys, revoke the `revoked` ids, then verify `chain` (root first) for `subject` (an identity name), `scope`, `channel` at `now` → the leaf `id` or `error`. covers (`token`, `channel`) → `covers`. inspect (`token`) → `json`, equal as JSON. One case per entry of `tokens`.",
        "identities": seeds.iter().map(|(n, s)| (n.to_string(), json!(hex::encode([*s; 32])))).collect::<serde_json::Map<_, _>>(),
        "tokens": cases,
    });
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cross_lang");
    std::fs::create_dir_all(root.join("token")).unwrap();
    std::fs::write(
        root.join("token/tokens.json"),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();

    let mut names = Vec::new();
    for good in [
        "a",
        "sensors/lidar/front",
        "Robot-7/arm_2/joint.3",
        &"abcdefghijklmno/".repeat(16)[..255],
    ] {
        names.push(json!({"name": format!("valid: {}", &good[..good.len().min(40)]), "op": "name", "channel": good,
                          "hash": ChannelName::new(good).unwrap().hash().to_string()}));
    }
    for (why, bad) in [
        ("empty", ""),
        ("leading slash", "/a"),
        ("trailing slash", "a/"),
        ("empty segment", "a//b"),
        ("a space", "a b"),
        ("a wildcard", "a/*"),
        ("non-ASCII", "caf\u{e9}"),
        ("a segment of 65 bytes", &"x".repeat(65)),
        ("17 segments", &["a"; 17].join("/")),
        ("256 bytes", &"ab/".repeat(86)[..256]),
    ] {
        names.push(json!({"name": format!("invalid: {why}"), "op": "name", "channel": bad, "error": "channel:invalid_name"}));
    }
    for (p, n, m) in [
        ("sensors/lidar", "sensors/lidar", true),
        ("sensors/lidar", "sensors/lidar/front", false),
        ("sensors/*", "sensors/lidar", true),
        ("sensors/*", "sensors/lidar/front", false),
        ("sensors/*", "sensors", false),
        ("sensors/**", "sensors/lidar/front", true),
        ("sensors/**", "sensors", false),
        ("sensors/**", "sensorsx/a", false),
        ("*", "sensors", true),
        ("*", "sensors/lidar", false),
        ("**", "a/b/c", true),
    ] {
        names.push(json!({"name": format!("{p} vs {n}"), "op": "match", "pattern": p, "channel": n, "matches": m}));
    }
    for bad in ["a/*/b", "/*", "a*", "***"] {
        names.push(json!({"name": format!("bad pattern {bad}"), "op": "match", "pattern": bad, "channel": "a", "error": "channel:invalid_name"}));
    }
    let doc = json!({
        "abi_version": crate::ABI_VERSION,
        "description": "Channel names and patterns. name (`channel`) → its stable 64-bit `hash` (a decimal string: the first 8 bytes, little-endian, of BLAKE2s-256(\"net/channel/v1\" ‖ name)) or `error`. match (`pattern`, `channel`) → `matches` or `error`. One case per entry of `names`.",
        "names": names,
    });
    std::fs::create_dir_all(root.join("channel")).unwrap();
    std::fs::write(
        root.join("channel/names.json"),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();
}
