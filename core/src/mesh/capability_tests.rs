//! Capability announcements over real UDP on 127.0.0.1: multi-hop reach,
//! diamonds, tampering, expiry, the origin's rate limit, late joiners,
//! subnets and scopes.

use super::capabilities::{encode, STREAM, WINDOW};
use super::protocol::CAPABILITIES;
use super::test_support::{addr, eventually, node_with};
use super::*;
use crate::capability::{CapabilitySet, Predicate, ScopeFilter};
use crate::identity::Identity;
use crate::subnet::{SubnetId, SubnetPolicy, SubnetRule};
use std::time::Duration;

fn link(a: &MeshNode, b: &MeshNode) {
    a.connect(addr(b), &b.public_key()).unwrap();
}

fn quick(config: &mut MeshConfig) {
    config.capabilities.min_announce_interval = Duration::from_millis(50);
}

fn gpu() -> CapabilitySet {
    CapabilitySet::from_json(
        r#"{"tags":["inference"],"hardware":{"gpu":{"vendor":"nvidia","vram_gb":24}}}"#,
    )
    .unwrap()
}

fn wants_gpu() -> Predicate {
    Predicate::exists("hardware.gpu") & Predicate::at_least("hardware.gpu.vram_gb", 16.0)
}

#[test]
fn announcements_reach_nodes_three_hops_away_and_the_origin_finds_itself() {
    let nodes: Vec<MeshNode> = (0..4).map(|i| node_with(110 + i, quick)).collect();
    for pair in nodes.windows(2) {
        link(&pair[0], &pair[1]);
    }
    let origin = &nodes[3];
    origin.announce_capabilities(gpu()).unwrap();
    assert_eq!(origin.find_nodes(&wants_gpu()), [origin.node_id()]);
    for node in &nodes[..3] {
        eventually("the announcement three hops out", || {
            node.find_nodes(&wants_gpu()) == [origin.node_id()]
        });
        assert_eq!(
            node.capabilities_of(origin.node_id()).as_deref(),
            Some(&gpu())
        );
    }
    // Each link carried it once: forwarded by the two middle nodes only.
    let forwarded: u64 = nodes.iter().map(|n| n.capability_stats().forwarded).sum();
    assert_eq!(forwarded, 2);
    assert!(nodes[0].find_nodes(&Predicate::exists("tpu")).is_empty());
}

#[test]
fn a_diamond_delivers_once_and_drops_the_second_copy() {
    //   a
    //  / \
    // b   c
    //  \ /
    //   d
    let n: Vec<MeshNode> = (0..4).map(|i| node_with(120 + i, quick)).collect();
    link(&n[0], &n[1]);
    link(&n[0], &n[2]);
    link(&n[1], &n[3]);
    link(&n[2], &n[3]);
    n[0].announce_capabilities(gpu()).unwrap();
    // The second copy is dropped where it arrives second: usually at d (from
    // b and from c), but when a -> b -> d -> c outruns a -> c, at c.
    eventually("a second copy is dropped", || {
        n[1..]
            .iter()
            .map(|node| node.capability_stats().duplicates)
            .sum::<u64>()
            >= 1
    });
    for node in &n[1..] {
        eventually("a indexed", || node.capability_stats().indexed == 1);
    }
    for node in &n[1..] {
        let stats = node.capability_stats();
        assert_eq!(stats.indexed, 1, "each node indexes a once: {stats:?}");
    }
    assert_eq!(n[3].find_nodes(&wants_gpu()), [n[0].node_id()]);
    // A newer version replaces the older one everywhere.
    n[0].announce_capabilities(CapabilitySet::new().with_tag("cpu-only").unwrap())
        .unwrap();
    for node in &n[1..] {
        eventually("the update", || node.find_nodes(&wants_gpu()).is_empty());
        assert_eq!(
            node.find_nodes(&Predicate::exists("cpu-only")),
            [n[0].node_id()]
        );
    }
}

#[test]
fn a_tampered_or_forged_announcement_is_rejected() {
    let a = node_with(130, quick);
    let b = node_with(131, quick);
    link(&a, &b);
    let stranger = Identity::from_seed(&[77; 32]);
    let good = encode(
        &stranger,
        5,
        Duration::from_secs(60),
        gpu().to_json().as_bytes(),
    );
    let mut tampered = good.clone();
    let at = tampered.len() - 80; // inside the set
    tampered[at] ^= 0x20;
    let stream = a
        .open_stream_in(
            CAPABILITIES,
            b.node_id(),
            STREAM,
            StreamConfig::reliable().with_window(WINDOW),
        )
        .unwrap();
    stream.send(&tampered).unwrap();
    stream.send(b"not an announcement").unwrap();
    eventually("two rejections", || b.capability_stats().rejected == 2);
    assert!(b.find_nodes(&wants_gpu()).is_empty());
    // The same bytes untampered, relayed by a: indexed under the signer's
    // id, not a's.
    stream.send(&good).unwrap();
    eventually("the forwarded original", || {
        b.find_nodes(&wants_gpu()) == [stranger.node_id()]
    });
}

#[test]
fn a_silent_node_leaves_the_index_when_its_time_to_live_runs_out() {
    let a = node_with(140, |c| {
        quick(c);
        c.capabilities.ttl = Duration::from_secs(1);
    });
    let b = node_with(141, quick);
    link(&a, &b);
    a.announce_capabilities(gpu()).unwrap();
    eventually("b indexes a", || {
        b.find_nodes(&wants_gpu()) == [a.node_id()]
    });
    // Refreshed at half its time to live while a runs.
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(b.find_nodes(&wants_gpu()), [a.node_id()]);
    assert!(a.capability_stats().announced >= 2);
    a.shutdown();
    eventually("a expires at b", || b.find_nodes(&wants_gpu()).is_empty());
    assert_eq!(b.capability_stats().expired, 1);
    assert_eq!(b.capabilities_of(a.node_id()), None);
}

#[test]
fn the_origin_coalesces_rapid_announcements() {
    let a = node_with(150, |c| {
        c.capabilities.min_announce_interval = Duration::from_millis(400);
    });
    let b = node_with(151, quick);
    link(&a, &b);
    for i in 0..10 {
        let caps = CapabilitySet::new().with_tag(&format!("load={i}")).unwrap();
        a.announce_capabilities(caps).unwrap();
        // The node's own entry is always the latest.
        assert_eq!(
            a.capabilities_of(a.node_id()).unwrap().value("load"),
            Some(i.to_string().as_str())
        );
    }
    eventually("the latest reaches b", || {
        b.capabilities_of(a.node_id())
            .is_some_and(|c| c.value("load") == Some("9"))
    });
    assert_eq!(a.capability_stats().announced, 2, "one now, one coalesced");
    assert!(b.capability_stats().indexed <= 2);
}

#[test]
fn a_late_joiner_learns_what_is_already_known() {
    let a = node_with(160, quick);
    let b = node_with(161, quick);
    link(&a, &b);
    a.announce_capabilities(gpu()).unwrap();
    b.announce_capabilities(CapabilitySet::new().with_tag("relay").unwrap())
        .unwrap();
    eventually("b knows a", || b.find_nodes(&wants_gpu()) == [a.node_id()]);
    let c = node_with(162, quick);
    link(&c, &b);
    eventually("c learns a through b", || {
        c.find_nodes(&wants_gpu()) == [a.node_id()]
    });
    eventually("c learns b", || {
        c.find_nodes(&Predicate::exists("relay")) == [b.node_id()]
    });
}

#[test]
fn subnets_come_from_the_policy_and_scopes_filter_queries() {
    let policy = SubnetPolicy::new()
        .add_rule(SubnetRule::new("region:", 0).map("us", 3).map("eu", 4))
        .unwrap();
    let home = SubnetId::new(&[3]).unwrap();
    let a = node_with(170, |c| {
        quick(c);
        c.capabilities.subnet = home;
        c.capabilities.subnet_policy = policy.clone();
    });
    let b = node_with(171, |c| {
        quick(c);
        c.capabilities.subnet_policy = policy.clone();
    });
    let c = node_with(172, |c| {
        quick(c);
        c.capabilities.subnet_policy = policy.clone();
    });
    link(&a, &b);
    link(&a, &c);
    let local = gpu()
        .with_tag("region:us")
        .unwrap()
        .with_tag("scope:subnet-local")
        .unwrap();
    b.announce_capabilities(local).unwrap();
    let tenant = gpu()
        .with_tag("region:eu")
        .unwrap()
        .with_tag("scope:tenant:oem")
        .unwrap();
    c.announce_capabilities(tenant).unwrap();
    eventually("a indexes both", || a.find_nodes(&wants_gpu()).len() == 2);
    assert_eq!(a.subnet(), home);
    assert_eq!(a.subnet_of(b.node_id()), Some(home));
    assert_eq!(a.subnet_of(c.node_id()), Some(SubnetId::new(&[4]).unwrap()));
    assert_eq!(
        a.find_nodes_scoped(&wants_gpu(), &ScopeFilter::SameSubnet),
        [b.node_id()]
    );
    assert_eq!(
        a.find_nodes_scoped(&wants_gpu(), &ScopeFilter::Tenant("oem".into())),
        [c.node_id()]
    );
    assert!(a
        .find_nodes_scoped(&wants_gpu(), &ScopeFilter::Global)
        .is_empty());
}

#[test]
fn an_oversized_set_is_refused_before_anything_is_sent() {
    let a = node_with(180, quick);
    let mut caps = CapabilitySet::new();
    for i in 0..240 {
        caps.insert_tag(&format!("k{i}={}", "v".repeat(250)))
            .unwrap();
    }
    let err = a.announce_capabilities(caps).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidCapabilitySet);
    assert_eq!(a.capability_stats().announced, 0);
    assert!(a.find_nodes(&Predicate::exists("k1")).is_empty());
}
