//! The test seam on a node's outgoing datagrams: loss, duplication and
//! reordering, injected by tests, never configured.
//!
//! A node sends every sealed packet through its [`Conditions`] when it has
//! some; a node bound the normal way ([`MeshNode::bind`]) has none and sends
//! straight to its socket. Tests bind with [`MeshNode::bind_with_seams`]
//! (compiled for this crate's tests, and for others with the `test-seams`
//! feature) and one of the conditioners below, or their own:
//!
//! | conditioner | what it does to data and ack packets |
//! |---|---|
//! | [`Loss`] | drops a share of them (a seeded, deterministic draw) |
//! | [`Duplicate`] | sends every n-th one twice |
//! | [`Reorder`] | holds every n-th one back and sends it after the next |
//!
//! Control packets (ack requests, resyncs, beacons, keep-alives) and
//! handshakes are passed through unless a conditioner says otherwise:
//! [`Outgoing::control`] tells them apart.
//!
//! [`MeshNode::bind`]: super::MeshNode::bind
//! [`MeshNode::bind_with_seams`]: super::MeshNode::bind_with_seams

use crate::error::{Error, ErrorKind, Result};
use parking_lot::Mutex;
use std::net::SocketAddr;

/// One datagram on its way out.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The bytes, sealed.
    pub packet: &'a [u8],
    /// Where they go.
    pub to: SocketAddr,
    /// A control packet of the protocol (not data or an ack).
    pub control: bool,
}

/// Sends a datagram now: the socket, as the node would use it.
pub type Wire<'a> = &'a dyn Fn(&[u8], SocketAddr) -> Result<()>;

/// What a node does with each datagram it sends.
pub trait Conditions: Send + Sync {
    /// Sends `datagram` on `wire` any number of times (now, or later together
    /// with another one), or not at all.
    fn send(&self, datagram: Outgoing<'_>, wire: Wire<'_>) -> Result<()>;
}

/// Drops a share of the data and ack packets, drawn from a seeded
/// xorshift64* generator (the same losses on every run).
#[derive(Debug)]
pub struct Loss {
    share: f64,
    state: Mutex<u64>,
}

impl Loss {
    /// Drops `share` (0 ≤ share < 1) of the data and ack packets;
    /// `mesh:invalid_argument` otherwise.
    pub fn new(share: f64) -> Result<Loss> {
        if !(0.0..1.0).contains(&share) {
            return Err(Error::new(
                ErrorKind::InvalidMeshArgument,
                format!("a loss share is at least 0 and below 1, got {share}"),
            ));
        }
        Ok(Loss {
            share,
            state: Mutex::new(0x9E37_79B9_7F4A_7C15),
        })
    }

    fn lost(&self) -> bool {
        let mut state = self.state.lock();
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let draw = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        (draw as f64 / (1u64 << 53) as f64) < self.share
    }
}

impl Conditions for Loss {
    fn send(&self, datagram: Outgoing<'_>, wire: Wire<'_>) -> Result<()> {
        if !datagram.control && self.lost() {
            return Ok(());
        }
        wire(datagram.packet, datagram.to)
    }
}

/// Counts data and ack packets and picks every n-th.
#[derive(Debug)]
struct EveryNth {
    n: u64,
    seen: Mutex<u64>,
}

impl EveryNth {
    fn new(n: u64) -> Result<EveryNth> {
        if n == 0 {
            return Err(Error::new(
                ErrorKind::InvalidMeshArgument,
                "every n-th packet needs n of at least 1",
            ));
        }
        Ok(EveryNth {
            n,
            seen: Mutex::new(0),
        })
    }

    fn picks(&self, datagram: &Outgoing<'_>) -> bool {
        if datagram.control {
            return false;
        }
        let mut seen = self.seen.lock();
        *seen += 1;
        (*seen).is_multiple_of(self.n)
    }
}

/// Sends every n-th data or ack packet twice.
#[derive(Debug)]
pub struct Duplicate(EveryNth);

impl Duplicate {
    /// Duplicates every `n`-th data or ack packet (`n` ≥ 1).
    pub fn every(n: u64) -> Result<Duplicate> {
        EveryNth::new(n).map(Duplicate)
    }
}

impl Conditions for Duplicate {
    fn send(&self, datagram: Outgoing<'_>, wire: Wire<'_>) -> Result<()> {
        wire(datagram.packet, datagram.to)?;
        if self.0.picks(&datagram) {
            wire(datagram.packet, datagram.to)?;
        }
        Ok(())
    }
}

/// Holds every n-th data or ack packet back and sends it right after the
/// next one to the same node, so the two arrive swapped.
#[derive(Debug)]
pub struct Reorder {
    pick: EveryNth,
    held: Mutex<Option<(Vec<u8>, SocketAddr)>>,
}

impl Reorder {
    /// Swaps every `n`-th data or ack packet with the one after it (`n` ≥ 1).
    pub fn every(n: u64) -> Result<Reorder> {
        Ok(Reorder {
            pick: EveryNth::new(n)?,
            held: Mutex::new(None),
        })
    }
}

impl Conditions for Reorder {
    fn send(&self, datagram: Outgoing<'_>, wire: Wire<'_>) -> Result<()> {
        let mut held = self.held.lock();
        if held.is_none() && self.pick.picks(&datagram) {
            *held = Some((datagram.packet.to_vec(), datagram.to));
            return Ok(());
        }
        wire(datagram.packet, datagram.to)?;
        if let Some((packet, to)) = held.take() {
            wire(&packet, to)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn run(conditions: &dyn Conditions, packets: &[(u8, bool)]) -> Vec<u8> {
        let sent = RefCell::new(Vec::new());
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let wire = |p: &[u8], _: SocketAddr| -> Result<()> {
            sent.borrow_mut().push(p[0]);
            Ok(())
        };
        for &(byte, control) in packets {
            let packet = [byte];
            let datagram = Outgoing {
                packet: &packet,
                to,
                control,
            };
            conditions.send(datagram, &wire).unwrap();
        }
        sent.into_inner()
    }

    #[test]
    fn loss_drops_about_its_share_of_data_and_never_control() {
        let loss = Loss::new(0.25).unwrap();
        let data: Vec<(u8, bool)> = (0..4000).map(|i| ((i % 251) as u8, false)).collect();
        let kept = run(&loss, &data).len();
        assert!((2800..3200).contains(&kept), "kept {kept} of 4000");
        let control: Vec<(u8, bool)> = (0..100).map(|i| (i as u8, true)).collect();
        assert_eq!(run(&loss, &control).len(), 100);
        assert_eq!(run(&Loss::new(0.0).unwrap(), &data).len(), 4000);
    }

    #[test]
    fn duplicate_and_reorder_do_what_they_say() {
        let packets: Vec<(u8, bool)> = (1..=6).map(|i| (i, false)).collect();
        assert_eq!(
            run(&Duplicate::every(2).unwrap(), &packets),
            [1, 2, 2, 3, 4, 4, 5, 6, 6]
        );
        assert_eq!(
            run(&Reorder::every(2).unwrap(), &packets),
            [1, 3, 2, 4, 6, 5]
        );
        // Control packets are neither counted nor held.
        assert_eq!(
            run(
                &Reorder::every(1).unwrap(),
                &[(1, true), (2, false), (3, true)]
            ),
            [1, 3, 2]
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        for share in [-0.1, 1.0, f64::NAN] {
            let err = Loss::new(share).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidMeshArgument);
        }
        assert!(Duplicate::every(0).is_err());
        assert!(Reorder::every(0).is_err());
    }
}
