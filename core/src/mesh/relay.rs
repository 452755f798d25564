//! Relaying: forwarding routed packets for other nodes, beacons that teach
//! neighbours the routes, and the liveness of neighbours.
//!
//! A routed packet is the 18-byte routing header followed by an ordinary
//! sealed Net packet. A relay reads only the routing header: it lowers the
//! TTL, picks the next hop for the destination and sends the bytes on. It
//! never holds the keys of the session inside, so it can neither read nor
//! alter what it carries (the AEAD tag would fail at the destination). A
//! relay forwards only for its neighbours (peers with a confirmed direct
//! session), so strangers cannot use it as an open reflector.

use super::control;
use super::node::Inner;
use super::peers::{Peer, Target};
use super::protocol;
use super::routing::{decode_beacon, encode_beacon, PeerHealth, RouteInfo};
use super::stats::bump;
use crate::error::{Error, ErrorKind, Result};
use crate::wire::{PacketFlags, RoutingHeader, ROUTING_HEADER_LEN};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Inner {
    /// Milliseconds since the node started.
    pub(super) fn now_ms(&self) -> u64 {
        self.clock
            .now()
            .saturating_duration_since(self.started)
            .as_millis() as u64
    }

    fn neighbour_health(&self, peer: &Peer) -> PeerHealth {
        let silence = self
            .now_ms()
            .saturating_sub(peer.last_heard_ms.load(Ordering::Relaxed));
        PeerHealth::after(Duration::from_millis(silence), self.config.beacon_interval)
    }

    /// The direct, confirmed, not-failed neighbour with this node id.
    fn usable_neighbour(&self, node_id: u64) -> Option<Arc<Peer>> {
        let peers = self.peers.read();
        let peer = peers.by_node.get(&node_id)?;
        let usable = !peer.routed && self.neighbour_health(peer) != PeerHealth::Failed;
        usable.then(|| peer.clone())
    }

    /// Where to send a packet for `dest`: the neighbour itself, or the next
    /// hop of the best route. `mesh:unknown_peer` when there is none.
    pub(super) fn next_hop(&self, dest: u64) -> Result<SocketAddr> {
        if let Some(peer) = self.usable_neighbour(dest) {
            return Ok(peer.addr);
        }
        let best = self
            .routing
            .lock()
            .best(dest, |via| self.usable_neighbour(via).is_some());
        best.and_then(|route| self.usable_neighbour(route.next_hop))
            .map(|peer| peer.addr)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::UnknownPeer,
                    format!("no route to node {dest:016x}"),
                )
            })
    }

    /// Sends a handshake packet directly or along the current route.
    pub(super) fn send_to_target(&self, packet: &[u8], target: Target) -> Result<()> {
        match target {
            Target::Direct(addr) => self.send_datagram(packet, addr),
            Target::Routed(dest) => {
                let next = self.next_hop(dest)?;
                let mut routed = Vec::with_capacity(ROUTING_HEADER_LEN + packet.len());
                routed.extend_from_slice(&self.routing_header(dest).encode());
                routed.extend_from_slice(packet);
                self.send_datagram(&routed, next)
            }
        }
    }

    pub(super) fn best_routes(&self) -> Vec<RouteInfo> {
        self.routing
            .lock()
            .all_best(|via| self.usable_neighbour(via).is_some())
    }

    /// A datagram starting with a routing header: ours to open, or to pass on.
    pub(super) fn on_routed(&self, datagram: &mut [u8], from: SocketAddr) {
        let Ok(header) = RoutingHeader::decode(datagram) else {
            return bump(&self.counters.dropped_malformed);
        };
        if !self.peers.read().by_addr.contains_key(&from) {
            return bump(&self.counters.dropped_unroutable);
        }
        if header.dest_id == self.node_id() {
            // It crossed one link per forward, plus the last one to here.
            let links = header.hop_count.saturating_add(1);
            return self.handle_direct(&mut datagram[ROUTING_HEADER_LEN..], from, Some(links));
        }
        if RoutingHeader::forward_in_place(datagram).is_err() {
            return bump(&self.counters.dropped_unroutable);
        }
        match self.next_hop(header.dest_id) {
            // Never back where it came from: that is a loop.
            Ok(next) if next != from => {
                if self.send_datagram(datagram, next).is_ok() {
                    bump(&self.counters.packets_forwarded);
                }
            }
            _ => bump(&self.counters.dropped_unroutable),
        }
    }

    /// Remembers that `dest` is `links` links away through the neighbour at
    /// `from`, learned from an authenticated packet that came that way.
    pub(super) fn learn_reverse_route(&self, dest: u64, from: SocketAddr, links: u8) {
        let Some(via) = self.peers.read().by_addr.get(&from).map(|p| p.node_id) else {
            return;
        };
        if links <= self.config.max_hops && dest != self.node_id() {
            self.routing
                .lock()
                .learn(dest, via, links, self.clock.now());
        }
    }

    /// A neighbour's beacon: the nodes it reaches, each one hop further via it.
    pub(super) fn on_beacon(&self, peer: &Peer, body: &[u8]) {
        let Some(entries) = decode_beacon(body) else {
            return bump(&self.counters.dropped_malformed);
        };
        let via = peer.node_id;
        let me = self.node_id();
        let now = self.clock.now();
        let mut routing = self.routing.lock();
        for (dest, hops) in entries {
            let hops = hops.saturating_add(1);
            if dest != me && hops <= self.config.max_hops {
                routing.learn(dest, via, hops, now);
            }
        }
    }

    /// Beacons on their interval, neighbours' health, route expiry. When
    /// the next beacon is due or the next neighbour's health changes if it
    /// stays silent, whichever is first.
    pub(super) fn relay_timers(&self, now: Instant) -> Instant {
        let neighbours: Vec<Arc<Peer>> = self.peers.read().by_addr.values().cloned().collect();
        let interval = self.config.beacon_interval;
        let mut next = now + super::timer::MAX_SLEEP;
        for peer in &neighbours {
            let heard =
                self.started + Duration::from_millis(peer.last_heard_ms.load(Ordering::Relaxed));
            // Suspect after three silent intervals, failed after six.
            for change in [heard + interval * 3, heard + interval * 6] {
                if change > now {
                    next = next.min(change);
                    break;
                }
            }
            let health = self.neighbour_health(peer);
            let mut last = peer.health.lock();
            if *last == health {
                continue;
            }
            match health {
                PeerHealth::Suspect if *last == PeerHealth::Alive => {
                    bump(&self.counters.peers_suspected)
                }
                PeerHealth::Failed => bump(&self.counters.peers_failed),
                PeerHealth::Alive => bump(&self.counters.peers_recovered),
                PeerHealth::Suspect => {}
            }
            *last = health;
        }
        let mut next_beacon = self.next_beacon.lock();
        if now < *next_beacon {
            return next.min(*next_beacon);
        }
        *next_beacon = now + interval;
        next = next.min(*next_beacon);
        drop(next_beacon);
        self.routing.lock().expire(now, interval * 3);
        let routes = self.best_routes();
        let me = self.node_id();
        for peer in neighbours {
            let neighbour = peer.node_id;
            // Split horizon: never tell a neighbour of routes through it.
            let mut entries: Vec<(u64, u8)> = vec![(me, 0)];
            entries.extend(
                routes
                    .iter()
                    .filter(|r| r.next_hop != neighbour && r.dest != neighbour)
                    .filter(|r| r.hops < self.config.max_hops)
                    .map(|r| (r.dest, r.hops)),
            );
            let _ = self.send_sealed(
                &peer,
                protocol::APP,
                control::BEACON,
                PacketFlags::CONTROL,
                0,
                &encode_beacon(&entries),
            );
        }
        // Routed peers hear no beacons from this node: keep-alives tell
        // them it is still there (see `session_timeout`).
        let routed: Vec<Arc<Peer>> = self
            .peers
            .read()
            .by_node
            .values()
            .filter(|p| p.routed)
            .cloned()
            .collect();
        for peer in routed {
            let _ = self.send_sealed(
                &peer,
                protocol::APP,
                control::KEEPALIVE,
                PacketFlags::CONTROL,
                0,
                &[],
            );
        }
        next
    }
}
