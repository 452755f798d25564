//! The routing table: which neighbour to hand a packet to for each node
//! this node can reach, learned from neighbours' beacons.
//!
//! A neighbour is a peer with a direct session. Every beacon interval each
//! node tells each neighbour the nodes it can reach and in how many hops;
//! the receiver records "`dest` via that neighbour, one hop further". Loops
//! are avoided by split horizon (a route is never advertised back to the
//! neighbour it was learned from) and by the hop limit; routes not refreshed
//! within three beacon intervals expire. The best route is the one with the
//! fewest hops whose neighbour is not failed, so when a relay fails, traffic
//! moves to the next best neighbour without any action from the endpoints.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How a neighbour is doing, from how recently anything was heard from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerHealth {
    /// Heard from within three beacon intervals.
    Alive,
    /// Silent for three beacon intervals.
    Suspect,
    /// Silent for six: routes through it are no longer used.
    Failed,
}

impl PeerHealth {
    /// The health after `silence` without a packet, beacons every `interval`.
    pub(crate) fn after(silence: Duration, interval: Duration) -> PeerHealth {
        if silence >= interval * 6 {
            PeerHealth::Failed
        } else if silence >= interval * 3 {
            PeerHealth::Suspect
        } else {
            PeerHealth::Alive
        }
    }
}

/// A route as reported by [`MeshNode::routes`](super::MeshNode::routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RouteInfo {
    /// The node the route leads to.
    pub dest: u64,
    /// The neighbour packets are handed to.
    pub next_hop: u64,
    /// Hops to the destination (1: the neighbour itself).
    pub hops: u8,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    hops: u8,
    refreshed: Instant,
}

/// Routes learned from beacons, per destination and neighbour.
#[derive(Debug, Default)]
pub(crate) struct RoutingTable {
    routes: HashMap<u64, HashMap<u64, Candidate>>,
}

impl RoutingTable {
    /// Records that `dest` is `hops` away through neighbour `via`.
    pub(crate) fn learn(&mut self, dest: u64, via: u64, hops: u8, now: Instant) {
        self.routes.entry(dest).or_default().insert(
            via,
            Candidate {
                hops,
                refreshed: now,
            },
        );
    }

    /// Forgets routes not refreshed within `max_age`.
    pub(crate) fn expire(&mut self, now: Instant, max_age: Duration) {
        for candidates in self.routes.values_mut() {
            candidates.retain(|_, c| now.duration_since(c.refreshed) <= max_age);
        }
        self.routes.retain(|_, candidates| !candidates.is_empty());
    }

    /// The best route to `dest` through a neighbour `usable` accepts.
    pub(crate) fn best(&self, dest: u64, usable: impl Fn(u64) -> bool) -> Option<RouteInfo> {
        self.routes
            .get(&dest)?
            .iter()
            .filter(|(via, _)| usable(**via))
            .min_by(|(va, a), (vb, b)| {
                a.hops
                    .cmp(&b.hops)
                    .then(b.refreshed.cmp(&a.refreshed))
                    .then(va.cmp(vb))
            })
            .map(|(via, c)| RouteInfo {
                dest,
                next_hop: *via,
                hops: c.hops,
            })
    }

    /// Every destination's best route.
    pub(crate) fn all_best(&self, usable: impl Fn(u64) -> bool) -> Vec<RouteInfo> {
        let mut list: Vec<RouteInfo> = self
            .routes
            .keys()
            .filter_map(|dest| self.best(*dest, &usable))
            .collect();
        list.sort_by_key(|r| r.dest);
        list
    }
}

/// Encodes a beacon: a count, then `(dest u64, hops u8)` pairs.
pub(crate) fn encode_beacon(entries: &[(u64, u8)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + entries.len() * 9);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (dest, hops) in entries {
        out.extend_from_slice(&dest.to_le_bytes());
        out.push(*hops);
    }
    out
}

/// Decodes a beacon, or `None` if it is malformed.
pub(crate) fn decode_beacon(bytes: &[u8]) -> Option<Vec<(u64, u8)>> {
    let (count, rest) = bytes.split_first_chunk::<2>()?;
    let count = usize::from(u16::from_le_bytes(*count));
    if rest.len() != count * 9 {
        return None;
    }
    Some(
        rest.chunks_exact(9)
            .map(|c| {
                let mut dest = [0u8; 8];
                dest.copy_from_slice(&c[..8]);
                (u64::from_le_bytes(dest), c[8])
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fewest_hops_through_a_usable_neighbour_wins() {
        let now = Instant::now();
        let mut table = RoutingTable::default();
        table.learn(9, 1, 3, now);
        table.learn(9, 2, 2, now);
        assert_eq!(table.best(9, |_| true).unwrap().next_hop, 2);
        // Neighbour 2 failed: traffic moves to neighbour 1.
        assert_eq!(table.best(9, |via| via != 2).unwrap().next_hop, 1);
        assert_eq!(table.best(9, |_| false), None);
        assert_eq!(table.best(7, |_| true), None);
        table.expire(now + Duration::from_secs(10), Duration::from_secs(1));
        assert_eq!(table.best(9, |_| true), None);
    }

    #[test]
    fn beacons_round_trip_and_bad_ones_are_refused() {
        let entries = vec![(1u64, 0u8), (u64::MAX, 7)];
        assert_eq!(decode_beacon(&encode_beacon(&entries)), Some(entries));
        let bytes = encode_beacon(&[(5, 1)]);
        assert_eq!(decode_beacon(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode_beacon(&[]), None);
        assert_eq!(decode_beacon(&[9, 0]), None);
    }

    #[test]
    fn health_follows_silence() {
        let beat = Duration::from_millis(100);
        assert_eq!(
            PeerHealth::after(Duration::from_millis(50), beat),
            PeerHealth::Alive
        );
        assert_eq!(
            PeerHealth::after(Duration::from_millis(300), beat),
            PeerHealth::Suspect
        );
        assert_eq!(
            PeerHealth::after(Duration::from_millis(600), beat),
            PeerHealth::Failed
        );
    }
}
