//! Protocols: how a layer above the mesh (the bus link today; channels,
//! nRPC, MeshDB and daemons next) plugs into a node without the node
//! knowing it.
//!
//! Every packet's header carries a 16-bit *protocol id* (the wire's
//! `subprotocol_id`). A layer registers its id with
//! [`MeshNode::register_protocol`](super::MeshNode::register_protocol) and
//! gets back a [`Registration`]: the node then hands it every message a peer
//! sends under that id ([`Protocol::on_message`]), tells it when a peer's
//! session comes up or goes away, and asks it whether a peer may do what it
//! is doing ([`Protocol::authorize`]). Streams are namespaced by protocol:
//! stream 7 of the bus link and stream 7 of the application are two
//! streams, each with its own reliability, window and counters, so no layer
//! can squat another's stream ids. A message for a protocol nobody on this
//! node registered is counted (`dropped_unknown_protocol`) and dropped;
//! reliable ones are not acknowledged, so their sender resends them and a
//! protocol registered later still gets them.
//!
//! | id | owner |
//! |---|---|
//! | `0x0000` | the application: [`MeshNode::send`](super::MeshNode::send), [`MeshNode::recv`](super::MeshNode::recv), `open_stream` |
//! | `0x0001` | the bus link ([`super::bus_link`]) |
//! | `0x0002` | capability announcements ([`super::capabilities`]) |
//! | `0x0003` | channels ([`super::channels`]) |
//! | `0x0004..=0x0FFF` | reserved for Net's own layers (nRPC, MeshDB, daemons) |
//! | `0x1000..=0xEFFF` | protocols of applications and vendors |
//! | `0xF000..=0xFFFF` | experiments |
//!
//! # Threads and rules
//!
//! `on_message`, `has_room`, `authorize` and `on_peer_up` run on the node's
//! reader thread; `on_peer_down` on the node's timer thread (a peer went
//! silent) or on the thread that shuts the node down, which then calls
//! `on_shutdown`, last. They must return quickly and must not wait for the
//! network: hand the work to a queue or a thread of the layer's own. They
//! may send (the node holds none of its locks while it calls them, except a
//! reliable stream's receive side, which sends never take).
//!
//! # Writing one
//!
//! ```
//! use net_core::identity::Identity;
//! use net_core::mesh::protocol::{Op, Protocol, Remote};
//! use net_core::mesh::{MeshConfig, MeshNode, NetworkKey};
//! use std::sync::{mpsc, Arc, Mutex};
//!
//! /// Answers every message with its reverse.
//! struct Reverse(Mutex<mpsc::Sender<(u64, u64, Vec<u8>)>>);
//!
//! impl Protocol for Reverse {
//!     fn on_message(&self, from: &Remote, stream_id: u64, mut payload: Vec<u8>) {
//!         payload.reverse();
//!         let _ = self.0.lock().unwrap().send((from.node_id, stream_id, payload));
//!     }
//!     fn authorize(&self, _peer: &Remote, op: Op) -> bool {
//!         // Stream 0 is this protocol's only stream.
//!         matches!(op, Op::Receive { stream_id: 0 })
//!     }
//! }
//!
//! let key = NetworkKey::from_bytes([7; 32]);
//! let config = MeshConfig::new("127.0.0.1:0".parse().unwrap(), key);
//! let node = MeshNode::bind(Identity::generate().unwrap(), config).unwrap();
//! let (tx, _rx) = mpsc::channel();
//! let registration = node
//!     .register_protocol(0x1000, Arc::new(Reverse(Mutex::new(tx))))
//!     .unwrap();
//! assert_eq!(registration.id(), 0x1000);
//! // A second owner of the id is refused.
//! let (tx, _) = mpsc::channel();
//! let taken = node.register_protocol(0x1000, Arc::new(Reverse(Mutex::new(tx))));
//! assert!(taken.is_err());
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::identity::PublicKey;
use parking_lot::RwLock;
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// The application's own protocol: plain `send` / `recv` / `open_stream`.
pub const APP: u16 = 0x0000;
/// The bus over the mesh.
pub const BUS_LINK: u16 = 0x0001;
/// Capability announcements.
pub const CAPABILITIES: u16 = 0x0002;
/// Channels: subscribe, acknowledge, publish.
pub const CHANNELS: u16 = 0x0003;
/// The last id reserved for Net's own layers.
pub const LAST_RESERVED: u16 = 0x0FFF;
/// The first id an application may register.
pub const FIRST_APPLICATION: u16 = 0x1000;

/// The peer a protocol hears from or about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remote {
    /// Its node id.
    pub node_id: u64,
    /// Its ed25519 key, proven by the handshake.
    pub public_key: PublicKey,
    /// Whether it is reached through relays.
    pub routed: bool,
}

/// What a peer is doing, for [`Protocol::authorize`]. More operations come
/// with the layers that need them (publish, subscribe, call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Sending a message on this protocol's stream `stream_id` to this node.
    Receive {
        /// The stream, in the protocol's namespace.
        stream_id: u64,
    },
}

/// A layer over the mesh. Only [`on_message`](Self::on_message) is
/// required; see the module docs for the threads these run on.
pub trait Protocol: Send + Sync + 'static {
    /// A message from `from` on the protocol's stream `stream_id` (in order
    /// for a reliable stream, and exactly once).
    fn on_message(&self, from: &Remote, stream_id: u64, payload: Vec<u8>);

    /// Whether the protocol can take another message on this stream now. A
    /// `false` drops a fire-and-forget message (counted in
    /// `dropped_inbox_full`) and leaves a reliable one unacknowledged, so
    /// its sender resends it later: the way to push back on a fast sender.
    fn has_room(&self, from: &Remote, stream_id: u64) -> bool {
        let _ = (from, stream_id);
        true
    }

    /// May `peer` do `op`? A refused message is counted
    /// (`dropped_unauthorized`) and dropped (a reliable one is acknowledged,
    /// so it is not resent: the refusal is final). Allows everything unless
    /// overridden.
    fn authorize(&self, peer: &Remote, op: Op) -> bool {
        let _ = (peer, op);
        true
    }

    /// A peer's session is up (both sides hold it). Called once per peer,
    /// not again when the session is rekeyed.
    fn on_peer_up(&self, peer: &Remote) {
        let _ = peer;
    }

    /// A peer's session went away (it went silent, or this node shut down).
    fn on_peer_down(&self, node_id: u64) {
        let _ = node_id;
    }

    /// The node is shutting down: the last call. What waits on the
    /// protocol should end now (with `mesh:shutdown`).
    fn on_shutdown(&self) {}
}

/// One registered protocol: the trait object the node calls, and the same
/// object as `Any` for [`Protocols::instance`].
struct Entry {
    protocol: Arc<dyn Protocol>,
    /// Only for what [`Protocols::instance`] registered.
    any: Option<Arc<dyn Any + Send + Sync>>,
}

impl Entry {
    fn downcast<P: Protocol>(&self, id: u16) -> Result<Arc<P>> {
        self.any
            .clone()
            .and_then(|any| any.downcast::<P>().ok())
            .ok_or_else(|| taken(id))
    }
}

/// The node's table of protocols.
#[derive(Default)]
pub(crate) struct Protocols {
    table: RwLock<HashMap<u16, Entry>>,
}

fn taken(id: u16) -> Error {
    Error::new(
        ErrorKind::InvalidMeshConfig,
        format!("protocol {id:#06x} is already registered on this node"),
    )
}

impl Protocols {
    /// The protocol registered under `id`, if any.
    pub(crate) fn get(&self, id: u16) -> Option<Arc<dyn Protocol>> {
        self.table.read().get(&id).map(|e| e.protocol.clone())
    }

    /// Registers `protocol` under `id`; `mesh:invalid_config` if taken.
    pub(crate) fn insert(&self, id: u16, protocol: Arc<dyn Protocol>) -> Result<()> {
        let mut table = self.table.write();
        if table.contains_key(&id) {
            return Err(taken(id));
        }
        table.insert(
            id,
            Entry {
                protocol,
                any: None,
            },
        );
        Ok(())
    }

    /// The `P` registered under `id`, registering `make()` first if the id
    /// is free. `mesh:invalid_config` if another type holds it.
    pub(crate) fn instance<P: Protocol>(
        &self,
        id: u16,
        make: impl FnOnce() -> P,
    ) -> Result<Arc<P>> {
        if let Some(entry) = self.table.read().get(&id) {
            return entry.downcast(id);
        }
        let mut table = self.table.write();
        if let Some(entry) = table.get(&id) {
            return entry.downcast(id);
        }
        let protocol = Arc::new(make());
        table.insert(
            id,
            Entry {
                protocol: protocol.clone(),
                any: Some(protocol.clone()),
            },
        );
        Ok(protocol)
    }

    /// Unregisters `id`.
    pub(crate) fn remove(&self, id: u16) {
        self.table.write().remove(&id);
    }

    /// The registered ids, in order.
    pub(crate) fn ids(&self) -> Vec<u16> {
        let mut ids: Vec<u16> = self.table.read().keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Every registered protocol (to tell them of a peer), in id order.
    pub(crate) fn all(&self) -> Vec<Arc<dyn Protocol>> {
        let table = self.table.read();
        let mut ids: Vec<u16> = table.keys().copied().collect();
        ids.sort_unstable();
        ids.iter().map(|id| table[id].protocol.clone()).collect()
    }

    /// Empties the table (at shutdown: protocols often hold what holds the
    /// node, and the cycle ends here).
    pub(crate) fn clear(&self) -> Vec<Arc<dyn Protocol>> {
        let mut table = self.table.write();
        let mut entries: Vec<(u16, Entry)> = table.drain().collect();
        entries.sort_unstable_by_key(|(id, _)| *id);
        entries.into_iter().map(|(_, e)| e.protocol).collect()
    }
}

/// Checks an id an application asks for.
pub(crate) fn check_application_id(id: u16) -> Result<()> {
    if id < FIRST_APPLICATION {
        return Err(Error::new(
            ErrorKind::InvalidMeshArgument,
            format!(
                "protocol {id:#06x} is reserved for Net (application protocols are \
                 {FIRST_APPLICATION:#06x} and up)"
            ),
        ));
    }
    Ok(())
}

/// A protocol's place on a node: unregisters it when dropped (or closed).
/// While it lives, the node calls the protocol; streams of the protocol are
/// opened through the node with the protocol's id.
pub struct Registration {
    id: u16,
    pub(crate) table: std::sync::Weak<dyn RegistrationHost>,
}

/// What a registration needs from its node (kept weak: a protocol that
/// holds its own registration must not keep the node alive).
pub(crate) trait RegistrationHost: Send + Sync {
    fn unregister(&self, id: u16);
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &format_args!("{:#06x}", self.id))
            .finish()
    }
}

impl Registration {
    pub(crate) fn new(id: u16, table: std::sync::Weak<dyn RegistrationHost>) -> Registration {
        Registration { id, table }
    }

    /// The protocol id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// Unregisters now: messages of the protocol that arrive later are
    /// counted as unknown. Idempotent.
    pub fn close(&mut self) {
        if let Some(host) =
            std::mem::replace(&mut self.table, std::sync::Weak::<Noop>::new()).upgrade()
        {
            host.unregister(self.id);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.close();
    }
}

/// A host that is gone (what a closed registration points at).
struct Noop;

impl RegistrationHost for Noop {
    fn unregister(&self, _id: u16) {}
}
