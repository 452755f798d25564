//! Streams: many per peer, each fire-and-forget or reliable.
//!
//! A reliable stream numbers its messages (the header's `sequence`, from 1)
//! and keeps each until the receiver acknowledges it. The receiver delivers
//! in order, exactly once, and answers with an ack: the highest sequence it
//! delivered in order, plus the gaps it sees above that (a selective NACK),
//! so the sender resends just what is missing. Anything still unacknowledged
//! after the retransmit timeout is resent too (the loss of the last packets
//! leaves no later packet to reveal the gap).
//!
//! The sender's credit window bounds the messages in flight. When it is full,
//! `send` fails with `mesh:backpressure`: a signal to the caller, who chooses
//! to drop, retry or wait. The transport never buffers on the caller's behalf.
//!
//! Every reliable payload starts with the stream's 4-byte *epoch*, chosen at
//! random when the stream is opened: a sender that restarts and opens the same
//! stream again starts over at sequence 1, and the new epoch tells the
//! receiver to forget the old stream's state instead of taking the new
//! messages for duplicates.
//!
//! The other way round, a *receiver* that restarted (or dropped the stream's
//! state) sees an epoch it has no record of continue at some sequence past 1.
//! It cannot know what came before, so it delivers nothing of that epoch and
//! asks the sender to *resync*: the sender moves to a fresh epoch and numbers
//! the messages it still holds from 1 again, in order. Nothing the receiver
//! never acknowledged is lost; messages the old receiver took but had not
//! acknowledged yet arrive again (at least once across a restart).

use crate::error::{Error, ErrorKind, Result};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Bytes of epoch in front of every reliable payload.
pub(crate) const EPOCH_LEN: usize = 4;
/// The most gaps one ack lists; the rest wait for the next ack.
pub(crate) const MAX_NACKS: usize = 128;
/// How far past the in-order point a receiver accepts a message; beyond this
/// the sender cannot be honouring any window, and the packet is dropped.
pub(crate) const MAX_REORDER: u64 = 1 << 16;
/// Messages received between immediate acks (others wait for the timer).
pub(crate) const ACK_EVERY: u32 = 32;
/// Bytes received between immediate acks: with big messages, waiting for
/// 32 of them would let a small window run dry until the timer's ack.
pub(crate) const ACK_EVERY_BYTES: usize = 32 * 1024;
/// The least time between two acks sent because of a gap.
pub(crate) const GAP_ACK_INTERVAL: Duration = Duration::from_millis(2);
/// Past epochs a receiver remembers (see `RecvHalf::retired`).
const RETIRED_EPOCHS: usize = 8;
const MIN_NACK_HOLDOFF: Duration = Duration::from_millis(1);
const INITIAL_NACK_HOLDOFF: Duration = Duration::from_millis(5);

/// How a stream treats loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reliability {
    /// Each message is one datagram; lost ones stay lost. No window.
    #[default]
    FireAndForget,
    /// Delivered in order, exactly once, resent until acknowledged.
    Reliable,
}

/// How a stream is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Fire-and-forget (the default) or reliable.
    pub reliability: Reliability,
    /// Reliable only: the most messages in flight (sent, not yet
    /// acknowledged) before `send` reports `mesh:backpressure`.
    pub window: u32,
}

impl Default for StreamConfig {
    fn default() -> StreamConfig {
        StreamConfig {
            reliability: Reliability::FireAndForget,
            window: 256,
        }
    }
}

impl StreamConfig {
    /// A reliable stream with the default window (256 messages).
    pub fn reliable() -> StreamConfig {
        StreamConfig {
            reliability: Reliability::Reliable,
            ..StreamConfig::default()
        }
    }

    /// The same config with another window.
    pub fn with_window(self, window: u32) -> StreamConfig {
        StreamConfig { window, ..self }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.window == 0 || u64::from(self.window) > MAX_REORDER {
            return Err(Error::new(
                ErrorKind::InvalidMeshConfig,
                format!("window must be 1..={MAX_REORDER}, got {}", self.window),
            ));
        }
        Ok(())
    }
}

/// A point-in-time view of one stream with one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StreamStats {
    /// The peer's node id.
    pub peer: u64,
    /// The stream id.
    pub stream_id: u64,
    /// How this side sends on it.
    pub reliability: Reliability,
    /// Messages sent (first transmissions only).
    pub sent: u64,
    /// Messages delivered to the inbox from the peer on this stream.
    pub received: u64,
    /// Messages sent and not yet acknowledged.
    pub in_flight: u64,
    /// The credit window (0 for fire-and-forget).
    pub window: u32,
    /// Sends refused with `mesh:backpressure` (a send that waited for room
    /// and then went out is not counted).
    pub backpressure_events: u64,
    /// Messages sent again (after a NACK or the retransmit timeout).
    pub retransmits: u64,
    /// Reliable messages received more than once (dropped).
    pub duplicates: u64,
}

impl StreamStats {
    /// The counters of a stream the node holds no state for (never used, or
    /// forgotten with an expired peer): zero, fire-and-forget. What a stream
    /// handle reports then, in every language.
    pub fn empty(peer: u64, stream_id: u64) -> StreamStats {
        StreamStats {
            peer,
            stream_id,
            reliability: Reliability::FireAndForget,
            sent: 0,
            received: 0,
            in_flight: 0,
            window: 0,
            backpressure_events: 0,
            retransmits: 0,
            duplicates: 0,
        }
    }
}

/// A message kept until the receiver acknowledges it.
pub(crate) struct Unacked {
    /// Epoch followed by the caller's bytes: exactly what goes in the packet.
    pub(crate) body: Vec<u8>,
    pub(crate) last_sent: Instant,
    /// Sent more than once (so its ack says nothing about the round trip).
    pub(crate) resent: bool,
}

/// The sending half of a stream.
pub(crate) struct SendHalf {
    pub(crate) config: StreamConfig,
    pub(crate) epoch: u32,
    pub(crate) next_seq: u64,
    pub(crate) unacked: BTreeMap<u64, Unacked>,
    /// Smoothed round-trip time, from acks of messages sent once.
    pub(crate) srtt: Option<Duration>,
}

impl SendHalf {
    pub(crate) fn new(config: StreamConfig, epoch: u32) -> SendHalf {
        SendHalf {
            config,
            epoch,
            next_seq: 1,
            unacked: BTreeMap::new(),
            srtt: None,
        }
    }

    pub(crate) fn window_full(&self) -> bool {
        self.unacked.len() >= self.config.window as usize
    }

    /// How long after a message was last sent a NACK for it is believed:
    /// sooner, the NACK probably crossed the resend already in flight.
    pub(crate) fn nack_holdoff(&self) -> Duration {
        match self.srtt {
            Some(srtt) => (srtt * 2).max(MIN_NACK_HOLDOFF),
            None => INITIAL_NACK_HOLDOFF,
        }
    }

    /// Starts the stream over under `epoch` for a receiver that lost its
    /// state: the messages still held keep their order and are numbered
    /// from 1. Returns their new sequences, all due to be sent now.
    pub(crate) fn resync(&mut self, epoch: u32) -> Vec<u64> {
        let held = std::mem::take(&mut self.unacked);
        self.epoch = epoch;
        self.next_seq = 1;
        for (_, mut entry) in held {
            entry.body[..EPOCH_LEN].copy_from_slice(&epoch.to_le_bytes());
            entry.resent = true;
            self.unacked.insert(self.next_seq, entry);
            self.next_seq += 1;
        }
        self.unacked.keys().copied().collect()
    }

    /// Applies an ack: drops what it covers, returns the sequences the
    /// receiver reports missing (and this side still holds).
    pub(crate) fn apply_ack(&mut self, ack: &Ack, now: Instant) -> Vec<u64> {
        if ack.epoch != self.epoch {
            return Vec::new();
        }
        if let Some(entry) = self.unacked.get(&ack.delivered) {
            if !entry.resent {
                let sample = now.saturating_duration_since(entry.last_sent);
                self.srtt = Some(match self.srtt {
                    Some(srtt) => (srtt * 7 + sample) / 8,
                    None => sample,
                });
            }
        }
        // Everything up to the in-order point arrived.
        while let Some(entry) = self.unacked.first_entry() {
            if *entry.key() > ack.delivered {
                break;
            }
            entry.remove();
        }
        // Between the in-order point and `seen`, everything not listed as
        // missing arrived too.
        if ack.seen > ack.delivered {
            let arrived: Vec<u64> = self
                .unacked
                .range(ack.delivered + 1..=ack.seen)
                .map(|(seq, _)| *seq)
                .filter(|seq| ack.missing.binary_search(seq).is_err())
                .collect();
            for seq in arrived {
                self.unacked.remove(&seq);
            }
        }
        ack.missing
            .iter()
            .copied()
            .filter(|seq| self.unacked.contains_key(seq))
            .collect()
    }
}

/// What a receiver does with one reliable message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// Delivered now, possibly with buffered successors: deliver these.
    Deliver(Vec<Vec<u8>>),
    /// Buffered until the gap before it fills.
    Buffered,
    /// Already delivered or buffered.
    Duplicate,
    /// Too far ahead of the in-order point.
    TooFar,
    /// Of an epoch this side has no record of, past its first message:
    /// not delivered; the sender is asked to resync.
    Resync,
    /// Of an epoch the stream already moved on from: a straggler, dropped.
    Stale,
}

/// The receiving half of a reliable stream.
#[derive(Default)]
pub(crate) struct RecvHalf {
    pub(crate) epoch: Option<u32>,
    /// The highest sequence delivered in order.
    pub(crate) delivered: u64,
    /// Arrived ahead of a gap.
    pub(crate) pending: BTreeMap<u64, Vec<u8>>,
    /// Messages accepted since the last ack went out.
    pub(crate) unacked_count: u32,
    /// Their bytes.
    pub(crate) unacked_bytes: usize,
    pub(crate) ack_due: bool,
    pub(crate) last_ack: Option<Instant>,
    /// An epoch joined mid-way, refused until the sender resyncs.
    pub(crate) refused: Option<u32>,
    /// Epochs the stream moved on from, newest last: their late packets
    /// must not reset the stream again.
    pub(crate) retired: VecDeque<u32>,
    /// When the last resync request went out (they are rate-limited).
    pub(crate) last_resync: Option<Instant>,
}

impl RecvHalf {
    /// Takes message `seq` of epoch `epoch` (its bytes without the epoch).
    pub(crate) fn accept(&mut self, epoch: u32, seq: u64, bytes: &[u8]) -> Accepted {
        if self.epoch != Some(epoch) {
            if self.retired.contains(&epoch) {
                return Accepted::Stale;
            }
            if self.refused == Some(epoch) || (self.epoch.is_none() && seq != 1) {
                // No record of this epoch's start: whatever came before
                // `seq` is unknowable here (see the module docs).
                self.refused = Some(epoch);
                return Accepted::Resync;
            }
            // A new incarnation of the stream: start over.
            let mut retired = std::mem::take(&mut self.retired);
            retired.extend(self.epoch.into_iter().chain(self.refused));
            while retired.len() > RETIRED_EPOCHS {
                retired.pop_front();
            }
            *self = RecvHalf {
                epoch: Some(epoch),
                retired,
                ..RecvHalf::default()
            };
        }
        self.ack_due = true;
        if seq <= self.delivered || self.pending.contains_key(&seq) {
            return Accepted::Duplicate;
        }
        if seq - self.delivered > MAX_REORDER {
            return Accepted::TooFar;
        }
        self.unacked_count += 1;
        self.unacked_bytes += bytes.len();
        if seq != self.delivered + 1 {
            self.pending.insert(seq, bytes.to_vec());
            return Accepted::Buffered;
        }
        let mut ready = vec![bytes.to_vec()];
        self.delivered = seq;
        while let Some(next) = self.pending.remove(&(self.delivered + 1)) {
            ready.push(next);
            self.delivered += 1;
        }
        Accepted::Deliver(ready)
    }

    /// The ack to send now (and marks it sent).
    pub(crate) fn take_ack(&mut self, now: Instant) -> Option<Ack> {
        let epoch = self.epoch?;
        self.ack_due = false;
        self.unacked_count = 0;
        self.unacked_bytes = 0;
        self.last_ack = Some(now);
        let mut missing = Vec::new();
        let mut seen = self.delivered;
        let mut expected = self.delivered + 1;
        'scan: for &seq in self.pending.keys() {
            while expected < seq {
                if missing.len() == MAX_NACKS {
                    // Report only up to the last gap listed; the rest of
                    // the range is unknown to the sender until next time.
                    seen = expected - 1;
                    break 'scan;
                }
                missing.push(expected);
                expected += 1;
            }
            seen = seq;
            expected = seq + 1;
        }
        Some(Ack {
            epoch,
            delivered: self.delivered,
            seen,
            missing,
        })
    }

    /// Whether there is a gap the sender should hear about.
    pub(crate) fn has_gap(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// An acknowledgement: the in-order point, the highest sequence the ack
/// speaks for, and the gaps below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ack {
    pub(crate) epoch: u32,
    pub(crate) delivered: u64,
    pub(crate) seen: u64,
    /// Sorted ascending, all in `delivered + 1..=seen`.
    pub(crate) missing: Vec<u64>,
}

impl Ack {
    const FIXED: usize = 4 + 8 + 8 + 2;

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Ack::FIXED + 8 * self.missing.len());
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.delivered.to_le_bytes());
        out.extend_from_slice(&self.seen.to_le_bytes());
        out.extend_from_slice(&(self.missing.len() as u16).to_le_bytes());
        for seq in &self.missing {
            out.extend_from_slice(&seq.to_le_bytes());
        }
        out
    }

    /// Decodes an ack, or `None` if it is malformed (short, long, a count
    /// over the limit, gaps out of order or outside the range).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Ack> {
        let fixed = bytes.get(..Ack::FIXED)?;
        let u64_at = |b: &[u8], at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let epoch = u32::from_le_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]);
        let delivered = u64_at(fixed, 4);
        let seen = u64_at(fixed, 12);
        let count = usize::from(u16::from_le_bytes([fixed[20], fixed[21]]));
        let rest = &bytes[Ack::FIXED..];
        if count > MAX_NACKS || rest.len() != 8 * count || seen < delivered {
            return None;
        }
        let missing: Vec<u64> = (0..count).map(|i| u64_at(rest, 8 * i)).collect();
        let ordered = missing.windows(2).all(|w| w[0] < w[1]);
        let in_range = missing.iter().all(|&s| s > delivered && s <= seen);
        (ordered && in_range).then_some(Ack {
            epoch,
            delivered,
            seen,
            missing,
        })
    }
}

/// Splits a reliable payload into its epoch and the caller's bytes.
pub(crate) fn split_epoch(body: &[u8]) -> Option<(u32, &[u8])> {
    let (epoch, rest) = body.split_first_chunk::<EPOCH_LEN>()?;
    Some((u32::from_le_bytes(*epoch), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivered(a: Accepted) -> Vec<Vec<u8>> {
        match a {
            Accepted::Deliver(v) => v,
            other => panic!("expected delivery, got {other:?}"),
        }
    }

    #[test]
    fn in_order_delivery_fills_gaps_and_drops_duplicates() {
        let mut r = RecvHalf::default();
        assert_eq!(delivered(r.accept(9, 1, b"a")), vec![b"a".to_vec()]);
        assert_eq!(r.accept(9, 3, b"c"), Accepted::Buffered);
        assert_eq!(r.accept(9, 5, b"e"), Accepted::Buffered);
        let ack = r.take_ack(Instant::now()).unwrap();
        assert_eq!((ack.delivered, ack.seen, ack.missing), (1, 5, vec![2, 4]));
        assert_eq!(
            delivered(r.accept(9, 2, b"b")),
            vec![b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(r.accept(9, 3, b"c"), Accepted::Duplicate);
        assert_eq!(r.accept(9, 1, b"a"), Accepted::Duplicate);
        assert_eq!(r.accept(9, 4 + MAX_REORDER, b"x"), Accepted::TooFar);
        // A new epoch is a new stream.
        assert_eq!(delivered(r.accept(10, 1, b"z")), vec![b"z".to_vec()]);
    }

    #[test]
    fn acks_round_trip_and_bad_ones_are_refused() {
        let ack = Ack {
            epoch: 7,
            delivered: 10,
            seen: 20,
            missing: vec![11, 15],
        };
        assert_eq!(Ack::decode(&ack.encode()), Some(ack.clone()));
        let bytes = ack.encode();
        assert_eq!(Ack::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(Ack::decode(&[]), None);
        let out_of_range = Ack {
            missing: vec![25],
            ..ack.clone()
        };
        assert_eq!(Ack::decode(&out_of_range.encode()), None);
        let unordered = Ack {
            missing: vec![15, 11],
            ..ack
        };
        assert_eq!(Ack::decode(&unordered.encode()), None);
    }

    #[test]
    fn an_ack_releases_what_arrived_and_names_what_did_not() {
        let mut s = SendHalf::new(StreamConfig::reliable().with_window(8), 3);
        for seq in 1..=6 {
            s.unacked.insert(
                seq,
                Unacked {
                    body: vec![],
                    last_sent: Instant::now(),
                    resent: false,
                },
            );
        }
        assert!(!s.window_full());
        let resend = s.apply_ack(
            &Ack {
                epoch: 3,
                delivered: 2,
                seen: 5,
                missing: vec![4],
            },
            Instant::now(),
        );
        assert!(s.srtt.is_some());
        assert_eq!(resend, vec![4]);
        let left: Vec<u64> = s.unacked.keys().copied().collect();
        assert_eq!(left, vec![4, 6]);
        // An ack of another epoch is ignored.
        let other_epoch = Ack {
            epoch: 4,
            delivered: 9,
            seen: 9,
            missing: vec![],
        };
        assert!(s.apply_ack(&other_epoch, Instant::now()).is_empty());
        assert_eq!(s.unacked.len(), 2);
    }

    #[test]
    fn long_gap_lists_are_capped() {
        let mut r = RecvHalf::default();
        r.accept(1, 1, b"");
        r.accept(1, 1000, b"");
        let ack = r.take_ack(Instant::now()).unwrap();
        assert_eq!(ack.missing.len(), MAX_NACKS);
        assert_eq!(ack.seen, 1 + MAX_NACKS as u64);
        assert!(Ack::decode(&ack.encode()).is_some());
    }

    #[test]
    fn window_must_be_sane() {
        assert!(StreamConfig::reliable().with_window(0).validate().is_err());
        assert!(StreamConfig::reliable().validate().is_ok());
    }

    #[test]
    fn a_receiver_without_the_start_of_an_epoch_refuses_it_until_a_resync() {
        // A fresh receiver joins epoch 5 at sequence 40: nothing is
        // delivered, not even a later sequence 1 of that epoch (it may be an
        // old message the previous receiver already delivered).
        let mut r = RecvHalf::default();
        assert_eq!(r.accept(5, 40, b"x"), Accepted::Resync);
        assert_eq!(r.accept(5, 41, b"y"), Accepted::Resync);
        assert_eq!(r.accept(5, 1, b"old"), Accepted::Resync);
        assert_eq!(r.refused, Some(5));
        assert!(r.take_ack(Instant::now()).is_none());
        // The sender's fresh epoch starts at 1 and is delivered.
        assert_eq!(delivered(r.accept(6, 1, b"a")), vec![b"a".to_vec()]);
        assert_eq!(r.refused, None);
        // Stragglers of the refused epoch no longer reset anything.
        assert_eq!(r.accept(5, 42, b"z"), Accepted::Stale);
        assert_eq!(delivered(r.accept(6, 2, b"b")), vec![b"b".to_vec()]);
    }

    #[test]
    fn late_packets_of_a_past_epoch_do_not_restart_the_stream() {
        let mut r = RecvHalf::default();
        assert_eq!(delivered(r.accept(1, 1, b"a")), vec![b"a".to_vec()]);
        // The sender restarted (epoch 2, its first message lost).
        assert_eq!(r.accept(2, 2, b"c"), Accepted::Buffered);
        assert_eq!(
            delivered(r.accept(2, 1, b"b")),
            vec![b"b".to_vec(), b"c".to_vec()]
        );
        // A late resend of epoch 1 is dropped, and epoch 2 carries on.
        assert_eq!(r.accept(1, 2, b"late"), Accepted::Stale);
        assert_eq!(r.accept(2, 2, b"c"), Accepted::Duplicate);
        assert_eq!(delivered(r.accept(2, 3, b"d")), vec![b"d".to_vec()]);
        // Only the last few epochs are remembered.
        for epoch in 10..(10 + RETIRED_EPOCHS as u32 + 2) {
            assert!(matches!(r.accept(epoch, 1, b"n"), Accepted::Deliver(_)));
        }
        assert_eq!(r.retired.len(), RETIRED_EPOCHS);
        assert!(!r.retired.contains(&1));
    }

    #[test]
    fn a_resync_renumbers_what_is_held_in_order_under_the_new_epoch() {
        let mut s = SendHalf::new(StreamConfig::reliable(), 3);
        for seq in [7u64, 9, 12] {
            let mut body = 3u32.to_le_bytes().to_vec();
            body.push(seq as u8);
            s.unacked.insert(
                seq,
                Unacked {
                    body,
                    last_sent: Instant::now(),
                    resent: false,
                },
            );
        }
        s.next_seq = 13;
        assert_eq!(s.resync(77), vec![1, 2, 3]);
        assert_eq!(s.epoch, 77);
        assert_eq!(s.next_seq, 4);
        let bodies: Vec<(u32, u8)> = s
            .unacked
            .values()
            .map(|e| {
                let (epoch, rest) = split_epoch(&e.body).unwrap();
                assert!(e.resent);
                (epoch, rest[0])
            })
            .collect();
        assert_eq!(bodies, vec![(77, 7), (77, 9), (77, 12)]);
        // Nothing held: the stream simply starts over.
        let mut empty = SendHalf::new(StreamConfig::reliable(), 1);
        empty.next_seq = 50;
        assert!(empty.resync(2).is_empty());
        assert_eq!(empty.next_seq, 1);
    }
}
