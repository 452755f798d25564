//! Sessions: one [`Peer`] per session, with its role and an explicit state,
//! and the node's tables of them ([`Peers`]).
//!
//! A session's life, by role:
//!
//! ```text
//! initiator:  Answered ──first packet from it──▶ Confirmed ◀──▶ Rekeying ──▶ Retired
//! responder:  HalfOpen ──first packet from it──▶ Confirmed ──replaced──────▶ Retired
//! ```
//!
//! * `HalfOpen`: the responder answered a first message, but the initiator
//!   has not yet proven it holds the network key (the pre-shared key is
//!   proven by the handshake's second message, which the responder sends but
//!   cannot see read). Held aside; it replaces no live session.
//! * `Answered`: the initiator read the answer (so the responder holds the
//!   key) and waits for the responder to hear its first packet.
//! * `Confirmed`: both sides hold the session and either may send.
//! * `Rekeying`: confirmed, while the initiator runs the fresh handshake
//!   that will replace it; back to `Confirmed` if that fails.
//! * `Retired`: replaced by a newer session with the same node, still
//!   opening packets for a grace period.

use super::routing::PeerHealth;
use super::session::Session;
use crate::identity::PublicKey;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A peer this node has a session with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's node id (derived from its public key).
    pub node_id: u64,
    /// The peer's ed25519 public key, proven by the handshake.
    pub public_key: PublicKey,
    /// Where its packets come from.
    pub addr: SocketAddr,
    /// Whether the peer has proven it holds the network key.
    pub confirmed: bool,
    /// Whether packets reach it through relays (`connect_routed`) rather
    /// than directly.
    pub routed: bool,
    /// How recently it was heard from (always `Alive` for routed peers,
    /// whose liveness is their relays').
    pub health: PeerHealth,
    /// The packet cipher the handshake agreed with it.
    pub cipher: super::handshake::Cipher,
}

/// Which side of the handshake this node was.
pub(super) enum Role {
    /// This node opened the session (and so rekeys it).
    Initiator,
    /// The peer opened it; `answer` is this node's handshake answer, kept to
    /// send again if the first message repeats.
    Responder { answer: Vec<u8> },
}

/// Where a session is in its life (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum SessionState {
    HalfOpen = 0,
    Answered = 1,
    Confirmed = 2,
    Rekeying = 3,
    Retired = 4,
}

impl SessionState {
    fn from_u8(v: u8) -> SessionState {
        match v {
            0 => SessionState::HalfOpen,
            1 => SessionState::Answered,
            2 => SessionState::Confirmed,
            3 => SessionState::Rekeying,
            _ => SessionState::Retired,
        }
    }
}

/// What the first authenticated packet of a session meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FirstPacket {
    /// Not the first.
    No,
    /// A responder's session is now proven: promote it.
    ResponderConfirmed,
    /// An initiator heard its peer: its `connect` may return.
    InitiatorHeard,
}

pub(super) struct Peer {
    pub(super) public_key: PublicKey,
    /// The key's node id, derived once (a hash per packet shows in profiles).
    pub(super) node_id: u64,
    pub(super) addr: SocketAddr,
    pub(super) session: Session,
    pub(super) role: Role,
    state: AtomicU8,
    /// Whether this session, once confirmed, is news to the protocols (no
    /// session with the node was live when it was promoted).
    pub(super) announce: AtomicBool,
    /// Reached through relays: packets carry a routing header and go to
    /// the current next hop.
    pub(super) routed: bool,
    /// Milliseconds after the node started that it was last heard from.
    pub(super) last_heard_ms: AtomicU64,
    /// Its health as last assessed (for counting transitions).
    pub(super) health: Mutex<PeerHealth>,
    pub(super) opened: Instant,
    /// Milliseconds after the node started when this side next rekeys (the
    /// initiator's side only), pushed back after a failed attempt.
    pub(super) rekey_at_ms: AtomicU64,
}

/// What a new session starts from.
pub(super) struct NewPeer {
    pub(super) public_key: PublicKey,
    pub(super) addr: SocketAddr,
    pub(super) session: Session,
    pub(super) role: Role,
    pub(super) routed: bool,
    pub(super) now_ms: u64,
    /// The time now, on the node's clock.
    pub(super) now: Instant,
    pub(super) rekey_at_ms: u64,
}

impl Peer {
    pub(super) fn new(new: NewPeer) -> Peer {
        let state = match new.role {
            Role::Initiator => SessionState::Answered,
            Role::Responder { .. } => SessionState::HalfOpen,
        };
        Peer {
            node_id: new.public_key.node_id(),
            public_key: new.public_key,
            addr: new.addr,
            session: new.session,
            role: new.role,
            state: AtomicU8::new(state as u8),
            announce: AtomicBool::new(false),
            routed: new.routed,
            last_heard_ms: AtomicU64::new(new.now_ms),
            health: Mutex::new(PeerHealth::Alive),
            opened: new.now,
            rekey_at_ms: AtomicU64::new(new.rekey_at_ms),
        }
    }

    pub(super) fn session_id(&self) -> u64 {
        self.session.id()
    }

    pub(super) fn state(&self) -> SessionState {
        SessionState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Whether the peer has proven it holds the network key.
    pub(super) fn confirmed(&self) -> bool {
        self.state() != SessionState::HalfOpen
    }

    /// Whether both sides hold the session.
    pub(super) fn heard(&self) -> bool {
        !matches!(
            self.state(),
            SessionState::HalfOpen | SessionState::Answered
        )
    }

    pub(super) fn is_initiator(&self) -> bool {
        matches!(self.role, Role::Initiator)
    }

    /// The responder's kept answer, while the session is half open.
    pub(super) fn pending_answer(&self) -> Option<&[u8]> {
        match &self.role {
            Role::Responder { answer } if self.state() == SessionState::HalfOpen => Some(answer),
            _ => None,
        }
    }

    /// Moves a half-open or answered session to `Confirmed` on its first
    /// authenticated packet.
    pub(super) fn first_packet(&self) -> FirstPacket {
        let moved = self
            .state
            .fetch_update(
                Ordering::AcqRel,
                Ordering::Acquire,
                |v| match SessionState::from_u8(v) {
                    SessionState::HalfOpen | SessionState::Answered => {
                        Some(SessionState::Confirmed as u8)
                    }
                    _ => None,
                },
            );
        match moved.map(SessionState::from_u8) {
            Ok(SessionState::HalfOpen) => FirstPacket::ResponderConfirmed,
            Ok(_) => FirstPacket::InitiatorHeard,
            Err(_) => FirstPacket::No,
        }
    }

    /// `Confirmed` → `Rekeying`; false if the session is not confirmed (or
    /// a rekey already runs).
    pub(super) fn start_rekey(&self) -> bool {
        self.state
            .compare_exchange(
                SessionState::Confirmed as u8,
                SessionState::Rekeying as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// `Rekeying` → `Confirmed` after a failed rekey.
    pub(super) fn rekey_failed(&self) {
        let _ = self.state.compare_exchange(
            SessionState::Rekeying as u8,
            SessionState::Confirmed as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    fn retire(&self) {
        self.state
            .store(SessionState::Retired as u8, Ordering::Release);
    }

    /// Where packets for it go.
    pub(super) fn target(&self) -> Target {
        if self.routed {
            Target::Routed(self.node_id)
        } else {
            Target::Direct(self.addr)
        }
    }

    pub(super) fn info(&self) -> PeerInfo {
        PeerInfo {
            node_id: self.node_id,
            public_key: self.public_key,
            addr: self.addr,
            confirmed: self.confirmed(),
            routed: self.routed,
            health: *self.health.lock(),
            cipher: self.session.cipher(),
        }
    }

    /// The peer as protocols see it.
    pub(super) fn remote(&self) -> super::protocol::Remote {
        super::protocol::Remote {
            node_id: self.node_id,
            public_key: self.public_key,
            routed: self.routed,
        }
    }
}

/// Where a handshake goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    /// Straight to an address.
    Direct(SocketAddr),
    /// To a node id, through the routing table's next hop.
    Routed(u64),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Direct(addr) => write!(f, "{addr}"),
            Target::Routed(node) => write!(f, "node {node:016x} (routed)"),
        }
    }
}

#[derive(Default)]
pub(super) struct Peers {
    pub(super) by_session: HashMap<u64, Arc<Peer>>,
    pub(super) by_node: HashMap<u64, Arc<Peer>>,
    /// Direct, confirmed peers by address: the only senders a relay
    /// forwards for.
    pub(super) by_addr: HashMap<SocketAddr, Arc<Peer>>,
    /// Sessions replaced by a newer one with the same node, still opened
    /// for a grace period (packets sealed before the switch are in flight),
    /// with when they were replaced.
    pub(super) retired: Vec<(u64, Instant)>,
}

impl Peers {
    /// Makes `peer` the session for its node, retiring any older one.
    /// Returns whether it replaced one. `now` is the node's clock.
    pub(super) fn promote(&mut self, peer: Arc<Peer>, now: Instant) -> bool {
        let node_id = peer.node_id;
        let session_id = peer.session.id();
        let mut replaced = false;
        if let Some(old) = self.by_node.insert(node_id, peer.clone()) {
            if old.session.id() != session_id {
                old.retire();
                self.retired.push((old.session.id(), now));
                replaced = true;
            }
            if !old.routed {
                self.by_addr.remove(&old.addr);
            }
        }
        if !peer.routed {
            self.by_addr.insert(peer.addr, peer.clone());
        }
        self.by_session.insert(session_id, peer);
        replaced
    }

    /// Holds a responder's session until the initiator proves the network
    /// key; until then it does not replace the node's current session (a
    /// replayed first message must not be able to knock out a live session).
    pub(super) fn hold_unconfirmed(&mut self, peer: Arc<Peer>) {
        self.by_session.insert(peer.session.id(), peer);
    }

    /// Drops `peer`'s session if it is still its node's current one.
    /// Returns whether it was.
    pub(super) fn remove_current(&mut self, peer: &Peer) -> bool {
        let current = self
            .by_node
            .get(&peer.node_id)
            .is_some_and(|p| p.session_id() == peer.session_id());
        if !current {
            return false;
        }
        self.by_node.remove(&peer.node_id);
        self.by_session.remove(&peer.session_id());
        if !peer.routed {
            self.by_addr.remove(&peer.addr);
        }
        true
    }
}
