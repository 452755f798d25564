//! The node's transport: one UDP socket and what tests put in front of it.
//!
//! It knows datagrams and addresses, nothing of sessions: the node seals a
//! packet and hands it here ([`Transport::send`]); the reader thread takes
//! batches of datagrams from here ([`Transport::recv`]). Outgoing datagrams
//! go through the injected [`Conditions`] when a test bound the node with
//! some (loss, duplication, reordering), straight to the socket otherwise.

use super::conditions::{Conditions, Outgoing};
use super::datagrams::RecvBatch;
use super::stats::{bump, Counters};
use crate::error::{Error, ErrorKind, Result};
use parking_lot::RwLock;
use std::cell::RefCell;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

/// Datagrams to send: bytes and destination.
type Held = Vec<(Vec<u8>, SocketAddr)>;

thread_local! {
    /// This thread's held sends: the transport they belong to (its address)
    /// and the datagrams (see [`Transport::cork`]).
    static CORK: RefCell<Option<(usize, Held)>> = const { RefCell::new(None) };
}

/// Sends held by [`Transport::cork`]; dropping it sends them.
pub(super) struct Cork<'a> {
    transport: &'a Transport,
    counters: &'a Counters,
    started: bool,
}

impl Drop for Cork<'_> {
    fn drop(&mut self) {
        if !self.started {
            return;
        }
        let Some((_, batch)) = CORK.with(|cork| cork.borrow_mut().take()) else {
            return;
        };
        if batch.is_empty() {
            return;
        }
        let guard = self.transport.socket.read();
        let Some(socket) = guard.as_ref() else {
            return;
        };
        // A datagram the kernel refused is like one lost on the way: a
        // reliable stream resends it.
        if let Ok(sent) = super::datagrams::send_all(socket, &batch) {
            super::stats::add(&self.counters.packets_sent, sent);
        }
    }
}

/// Socket buffers asked for (the kernel caps them at its own maximum,
/// `net.core.rmem_max` / `wmem_max` on Linux). The default of a few hundred
/// KiB overflows under a burst of large messages, and every datagram lost
/// there is a resend later.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
/// What to assume when the kernel will not say (Linux's usual default).
const DEFAULT_RECV_BUFFER: usize = 208 * 1024;

pub(super) fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::MeshIo, format!("{what}: {e}"))
}

pub(super) fn shutdown_error() -> Error {
    Error::new(ErrorKind::MeshShutdown, "the mesh node has shut down")
}

/// Binds a UDP socket with large buffers.
fn bind_socket(addr: SocketAddr) -> Result<UdpSocket> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
        .map_err(|e| io_error("socket", e))?;
    // Best effort: a smaller buffer than asked for still works.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    socket.bind(&addr.into()).map_err(|e| io_error("bind", e))?;
    Ok(socket.into())
}

pub(super) struct Transport {
    /// Taken (and so closed, freeing the port) by [`close`](Self::close).
    socket: RwLock<Option<UdpSocket>>,
    /// What tests do to outgoing datagrams; `None` outside tests.
    conditions: Option<Arc<dyn Conditions>>,
    /// The socket's receive buffer as the kernel granted it, in bytes.
    recv_buffer: usize,
}

impl Transport {
    /// Binds `addr`; a blocking receive gives up after `read_tick` (so the
    /// reader looks at its stop flag that often at the least).
    pub(super) fn bind(
        addr: SocketAddr,
        read_tick: Duration,
        conditions: Option<Arc<dyn Conditions>>,
    ) -> Result<Transport> {
        let socket = bind_socket(addr)?;
        socket
            .set_read_timeout(Some(read_tick))
            .map_err(|e| io_error("set_read_timeout", e))?;
        let recv_buffer = socket2::SockRef::from(&socket)
            .recv_buffer_size()
            .unwrap_or(DEFAULT_RECV_BUFFER);
        Ok(Transport {
            socket: RwLock::new(Some(socket)),
            conditions,
            recv_buffer,
        })
    }

    pub(super) fn local_addr(&self) -> Result<SocketAddr> {
        self.socket
            .read()
            .as_ref()
            .ok_or_else(shutdown_error)?
            .local_addr()
            .map_err(|e| io_error("local_addr", e))
    }

    pub(super) fn recv_buffer(&self) -> usize {
        self.recv_buffer
    }

    /// Sends one datagram as it is (handshakes, relayed packets).
    pub(super) fn send_raw(
        &self,
        packet: &[u8],
        to: SocketAddr,
        counters: &Counters,
    ) -> Result<()> {
        let me = self as *const Transport as usize;
        let corked = CORK.with(|cork| match cork.borrow_mut().as_mut() {
            Some((owner, batch)) if *owner == me => {
                batch.push((packet.to_vec(), to));
                true
            }
            _ => false,
        });
        if corked {
            return Ok(());
        }
        self.socket
            .read()
            .as_ref()
            .ok_or_else(shutdown_error)?
            .send_to(packet, to)
            .map_err(|e| io_error("send", e))?;
        bump(&counters.packets_sent);
        Ok(())
    }

    /// Holds this thread's sends on this transport until the returned guard
    /// is dropped, then sends them together (`sendmmsg`): for a caller about
    /// to send many datagrams at once (a publish to many subscribers) that
    /// waits for nothing in between. Nested corks join the outer one.
    pub(super) fn cork<'a>(&'a self, counters: &'a Counters) -> Cork<'a> {
        let me = self as *const Transport as usize;
        let started = CORK.with(|cork| {
            let mut cork = cork.borrow_mut();
            if cork.is_some() {
                return false;
            }
            *cork = Some((me, Vec::new()));
            true
        });
        Cork {
            transport: self,
            counters,
            started,
        }
    }

    /// Sends a sealed packet, through the test conditions if there are any.
    pub(super) fn send(
        &self,
        packet: &[u8],
        to: SocketAddr,
        control: bool,
        counters: &Counters,
    ) -> Result<()> {
        match &self.conditions {
            None => self.send_raw(packet, to, counters),
            Some(conditions) => {
                let datagram = Outgoing {
                    packet,
                    to,
                    control,
                };
                conditions.send(datagram, &|p, a| self.send_raw(p, a, counters))
            }
        }
    }

    /// Fills `batch` (waiting for the first datagram if `wait`). `None` once
    /// the socket is closed.
    pub(super) fn recv(&self, batch: &mut RecvBatch, wait: bool) -> Option<std::io::Result<usize>> {
        // The lock is released before the datagrams are handled: answers
        // send on the socket too.
        let guard = self.socket.read();
        Some(batch.recv(guard.as_ref()?, wait))
    }

    /// Wakes a reader blocked in [`recv`](Self::recv) with an empty datagram
    /// to the socket's own address; if that cannot be sent, the reader
    /// notices within its read tick.
    pub(super) fn wake_reader(&self) {
        let guard = self.socket.read();
        let Some(socket) = guard.as_ref() else {
            return;
        };
        let Ok(mut own) = socket.local_addr() else {
            return;
        };
        if own.ip().is_unspecified() {
            own.set_ip(match own {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let _ = socket.send_to(&[], own);
    }

    /// Closes the socket (the port is free at once).
    pub(super) fn close(&self) {
        self.socket.write().take();
    }
}
