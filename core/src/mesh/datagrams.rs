//! Receiving datagrams in batches: one `recvmmsg` call takes every datagram
//! already queued on the socket (up to the batch size) instead of one
//! system call each. Elsewhere than Linux it falls back to `recv_from`.
//!
//! The reader blocks for the first datagram (the socket's read timeout
//! still applies) and takes the rest without waiting, so batching adds no
//! latency: a lone datagram is handled as soon as it arrives.

use std::io;
use std::net::{SocketAddr, UdpSocket};

/// Datagrams one call receives at most. Each slot is a full-size buffer,
/// but pages are only touched when a datagram fills them.
pub(super) const RECV_BATCH: usize = 16;

/// Reusable buffers for batched receives.
pub(super) struct RecvBatch {
    buffers: Vec<Vec<u8>>,
    received: Vec<(usize, SocketAddr)>,
    #[cfg(target_os = "linux")]
    headers: nix::sys::socket::MultiHeaders<nix::sys::socket::SockaddrStorage>,
}

impl RecvBatch {
    /// Buffers for `slots` datagrams of up to `size` bytes each.
    pub(super) fn new(slots: usize, size: usize) -> RecvBatch {
        let slots = slots.max(1);
        RecvBatch {
            buffers: (0..slots).map(|_| vec![0u8; size]).collect(),
            received: Vec::with_capacity(slots),
            #[cfg(target_os = "linux")]
            headers: nix::sys::socket::MultiHeaders::preallocate(slots, None),
        }
    }

    /// Takes the datagrams already queued, up to the batch size. With
    /// `wait`, first waits for one (up to the socket's read timeout);
    /// without, an empty socket fails at once with `WouldBlock`. Returns
    /// how many arrived.
    #[cfg(target_os = "linux")]
    pub(super) fn recv(&mut self, socket: &UdpSocket, wait: bool) -> io::Result<usize> {
        use nix::sys::socket::{recvmmsg, MsgFlags};
        use std::io::IoSliceMut;
        use std::os::fd::AsRawFd;

        self.received.clear();
        let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
            .buffers
            .iter_mut()
            .map(|buffer| [IoSliceMut::new(buffer)])
            .collect();
        let results = recvmmsg(
            socket.as_raw_fd(),
            &mut self.headers,
            slices.iter_mut(),
            if wait {
                MsgFlags::MSG_WAITFORONE
            } else {
                MsgFlags::MSG_DONTWAIT
            },
            None,
        )
        .map_err(io::Error::from)?;
        for message in results {
            // A datagram with no readable source address cannot be answered
            // or attributed; it is skipped like any other undeliverable one.
            if let Some(from) = message.address.and_then(|a| socket_addr(&a)) {
                self.received.push((message.bytes, from));
            }
        }
        Ok(self.received.len())
    }

    /// Takes one datagram; with `wait`, waits for it (up to the socket's
    /// read timeout), without, fails at once with `WouldBlock`.
    #[cfg(not(target_os = "linux"))]
    pub(super) fn recv(&mut self, socket: &UdpSocket, wait: bool) -> io::Result<usize> {
        self.received.clear();
        socket.set_nonblocking(!wait)?;
        let (len, from) = socket.recv_from(&mut self.buffers[0])?;
        self.received.push((len, from));
        Ok(1)
    }

    /// The `index`th datagram of the last receive and where it came from.
    /// Each batch slot is used in order, so datagram `i` sits in buffer `i`.
    pub(super) fn datagram(&mut self, index: usize) -> Option<(&mut [u8], SocketAddr)> {
        let (len, from) = *self.received.get(index)?;
        let buffer = self.buffers.get_mut(index)?;
        let len = len.min(buffer.len());
        Some((&mut buffer[..len], from))
    }
}

#[cfg(target_os = "linux")]
fn socket_addr(address: &nix::sys::socket::SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}

/// Sends `datagrams` (bytes, destination) with as few system calls as the
/// platform allows (`sendmmsg` on Linux, in chunks of [`SEND_CHUNK`]).
/// Returns how many went out; the first error stops the rest.
#[cfg(target_os = "linux")]
pub(super) fn send_all(
    socket: &UdpSocket,
    datagrams: &[(Vec<u8>, SocketAddr)],
) -> io::Result<usize> {
    use nix::sys::socket::{sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;

    let mut sent = 0;
    for chunk in datagrams.chunks(SEND_CHUNK) {
        let slices: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|(b, _)| [IoSlice::new(b)]).collect();
        let addrs: Vec<Option<SockaddrStorage>> = chunk
            .iter()
            .map(|(_, to)| Some(SockaddrStorage::from(*to)))
            .collect();
        let mut headers: MultiHeaders<SockaddrStorage> =
            MultiHeaders::preallocate(chunk.len(), None);
        let cmsgs: [nix::sys::socket::ControlMessage<'_>; 0] = [];
        let results = sendmmsg(
            socket.as_raw_fd(),
            &mut headers,
            &slices,
            &addrs,
            cmsgs,
            MsgFlags::empty(),
        )
        .map_err(io::Error::from)?;
        let n = results.count();
        sent += n;
        if n < chunk.len() {
            // The kernel took part of the chunk: send the rest one by one.
            for (bytes, to) in &chunk[n..] {
                socket.send_to(bytes, to)?;
                sent += 1;
            }
        }
    }
    Ok(sent)
}

/// Sends `datagrams` one `send_to` each (platforms without `sendmmsg`).
#[cfg(not(target_os = "linux"))]
pub(super) fn send_all(
    socket: &UdpSocket,
    datagrams: &[(Vec<u8>, SocketAddr)],
) -> io::Result<usize> {
    for (bytes, to) in datagrams {
        socket.send_to(bytes, to)?;
    }
    Ok(datagrams.len())
}

/// Datagrams per `sendmmsg` call.
const SEND_CHUNK: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn takes_queued_datagrams_in_one_call_and_in_order() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        for i in 0..5u8 {
            tx.send_to(&vec![i; 10 + i as usize], to).unwrap();
        }
        // Loopback delivery is synchronous, so all five are queued already.
        let mut batch = RecvBatch::new(RECV_BATCH, 2048);
        let mut seen = Vec::new();
        while seen.len() < 5 {
            let n = batch.recv(&rx, true).unwrap();
            assert!(n >= 1);
            for i in 0..n {
                let (bytes, from) = batch.datagram(i).unwrap();
                assert_eq!(from, tx.local_addr().unwrap());
                seen.push(bytes.to_vec());
            }
        }
        for (i, bytes) in seen.iter().enumerate() {
            assert_eq!(bytes, &vec![i as u8; 10 + i]);
        }
        assert!(batch.datagram(RECV_BATCH).is_none());
    }

    #[test]
    fn more_datagrams_than_slots_arrive_over_several_calls() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        for i in 0..40u32 {
            tx.send_to(&i.to_le_bytes(), to).unwrap();
        }
        let mut batch = RecvBatch::new(4, 64);
        let mut next = 0u32;
        while next < 40 {
            let n = batch.recv(&rx, true).unwrap();
            assert!((1..=4).contains(&n));
            for i in 0..n {
                let (bytes, _) = batch.datagram(i).unwrap();
                assert_eq!(bytes, &next.to_le_bytes());
                next += 1;
            }
        }
    }

    #[test]
    fn an_empty_socket_times_out_with_would_block() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let mut batch = RecvBatch::new(2, 64);
        let err = batch.recv(&rx, true).unwrap_err();
        assert!(matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
        assert!(batch.datagram(0).is_none());
        let started = std::time::Instant::now();
        let err = batch.recv(&rx, false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(started.elapsed() < Duration::from_millis(20));
    }
}
