//! How long sessions live: the periodic rekey, the expiry of sessions whose
//! peer went silent, and the end of a replaced session's grace period.
//!
//! * **Rekey.** The side that opened a session runs a fresh handshake every
//!   `rekey_interval`, so no key encrypts more than that much traffic. The
//!   new session replaces the old at once on both sides; the old one still
//!   opens packets for a grace period (`handshake_timeout`), since packets
//!   sealed just before the switch are in flight. Streams belong to the
//!   peer, not the session, so they carry on across it. A failed rekey keeps
//!   the old session and tries again a handshake timeout later.
//! * **Expiry.** Neighbours hear each other's beacons every beacon interval
//!   and routed peers get keep-alives as often, so a session silent for
//!   `session_timeout` belongs to a peer that is gone: it is dropped
//!   (sends to the peer then fail with `mesh:unknown_peer`) and counted.
//!   The peer's streams nobody holds a handle to go with it (received-only
//!   streams, and those whose `MeshStream` was dropped), so transient peers
//!   leave nothing behind. Should the peer come back mid-stream, the
//!   stream resyncs (see `stream`); streams with a live handle stay, so a
//!   sender carries on after a reconnect.

use super::node::Inner;
use super::peers::Peer;
use super::stats::bump;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Inner {
    /// Rekeys what is due, expires what went silent, ends retired sessions'
    /// grace. Runs in the timer's round; returns when the next of these is
    /// due.
    pub(super) fn session_timers(self: &Arc<Self>, now: Instant) -> Instant {
        let now_ms = self.now_ms();
        let timeout_ms = self.config.session_timeout.as_millis() as u64;
        let at = |ms: u64| self.started + Duration::from_millis(ms);
        let mut next = now + super::timer::MAX_SLEEP;
        let peers: Vec<Arc<Peer>> = self.peers.read().by_node.values().cloned().collect();
        let mut silent = Vec::new();
        for peer in peers {
            let heard_ms = peer.last_heard_ms.load(Ordering::Relaxed);
            let quiet_ms = now_ms.saturating_sub(heard_ms);
            if quiet_ms > timeout_ms {
                silent.push(peer);
                continue;
            }
            // Expired one millisecond past the timeout, if nothing is heard.
            next = next.min(at(heard_ms + timeout_ms + 1));
            if !peer.is_initiator() {
                continue;
            }
            // A session not heard yet is rekeyed once it is (which wakes
            // the timer); one rekeying already has its handshake running.
            let rekey_ms = peer.rekey_at_ms.load(Ordering::Relaxed);
            if now_ms < rekey_ms {
                next = next.min(at(rekey_ms));
            } else if peer.start_rekey() {
                self.start_rekey(peer);
            }
        }
        for peer in silent {
            self.expire(&peer);
        }
        if let Some(grace_over) = self.end_grace(now) {
            next = next.min(grace_over);
        }
        next
    }

    /// Runs the rekey handshake on the runtime's blocking pool (it waits for
    /// the peer's answers; the timer must not).
    fn start_rekey(self: &Arc<Self>, peer: Arc<Peer>) {
        let inner = self.clone();
        let retry_later = |inner: &Inner, peer: &Peer| {
            let later = inner.now_ms() + inner.config.handshake_timeout.as_millis() as u64;
            peer.rekey_at_ms.store(later, Ordering::Relaxed);
            peer.rekey_failed();
            inner
                .timer
                .due(inner.started + Duration::from_millis(later));
        };
        let spawned = crate::runtime::spawn_blocking({
            let peer = peer.clone();
            move || {
                if inner.handshake(peer.target(), &peer.public_key).is_err() {
                    retry_later(&inner, &peer);
                }
            }
        });
        if spawned.is_err() {
            retry_later(self, &peer);
        }
    }

    /// Drops a silent peer's session (unless a newer one replaced it).
    fn expire(&self, peer: &Arc<Peer>) {
        let node_id = peer.node_id;
        if !self.peers.write().remove_current(peer) {
            return;
        }
        self.streams.forget_peer(node_id);
        self.peer_down(node_id);
        bump(&self.counters.sessions_expired);
        self.record(
            "session_expired",
            serde_json::json!({
                "node_id": node_id.to_string(),
                "addr": (!peer.routed).then(|| peer.addr.to_string()),
                "silent_ms": self.now_ms().saturating_sub(peer.last_heard_ms.load(Ordering::Relaxed)),
            }),
        );
    }

    /// Forgets replaced sessions whose grace period is over; when the next
    /// one's is.
    fn end_grace(&self, now: Instant) -> Option<Instant> {
        let grace = self.config.handshake_timeout;
        let next = |retired: &[(u64, Instant)]| retired.iter().map(|(_, at)| *at + grace).min();
        let soonest = next(&self.peers.read().retired)?;
        if soonest >= now {
            return Some(soonest);
        }
        let mut peers = self.peers.write();
        let retired = std::mem::take(&mut peers.retired);
        for (session_id, at) in retired {
            if now.duration_since(at) > grace {
                peers.by_session.remove(&session_id);
            } else {
                peers.retired.push((session_id, at));
            }
        }
        next(&peers.retired)
    }
}
