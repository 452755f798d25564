//! How a bus link packs events into stream messages, and unpacks them.
//!
//! Each message starts with a kind byte:
//! * `EVENTS` (1): whole events, each a 4-byte little-endian length and the
//!   bytes;
//! * `FIRST` (2): the 4-byte total length of an event too big for one
//!   message, then its first bytes;
//! * `MORE` (3): the next bytes of that event.
//!
//! The stream is reliable, so the pieces of a big event arrive in order and
//! exactly once; an unpacker still checks everything, since a peer may send
//! anything on the stream: a malformed message is counted and dropped, and
//! never takes the events of other messages with it.

use bytes::Bytes;

const EVENTS: u8 = 1;
const FIRST: u8 = 2;
const MORE: u8 = 3;
/// The kind byte and one length.
const OVERHEAD: usize = 5;
/// The smallest message budget that still carries a byte of a big event.
pub(crate) const MIN_MESSAGE_BYTES: usize = OVERHEAD + 1;

/// Packs events into messages of at most `budget` bytes.
pub(crate) struct Packer {
    budget: usize,
    current: Vec<u8>,
    done: Vec<Vec<u8>>,
}

impl Packer {
    pub(crate) fn new(budget: usize) -> Packer {
        Packer {
            budget: budget.max(MIN_MESSAGE_BYTES),
            current: Vec::new(),
            done: Vec::new(),
        }
    }

    fn close_current(&mut self) {
        if !self.current.is_empty() {
            self.done.push(std::mem::take(&mut self.current));
        }
    }

    /// Adds one event.
    pub(crate) fn push(&mut self, event: &[u8]) {
        let len = u32::try_from(event.len()).unwrap_or(u32::MAX).to_le_bytes();
        let framed = 4 + event.len();
        if !self.current.is_empty() && self.current.len() + framed <= self.budget {
            self.current.extend_from_slice(&len);
            self.current.extend_from_slice(event);
            return;
        }
        self.close_current();
        if framed < self.budget {
            self.current.reserve(self.budget.min(1 + framed * 4));
            self.current.push(EVENTS);
            self.current.extend_from_slice(&len);
            self.current.extend_from_slice(event);
            return;
        }
        // Too big for one message: a FIRST piece, then MORE pieces.
        let first = self.budget - OVERHEAD;
        let mut message = Vec::with_capacity(self.budget);
        message.push(FIRST);
        message.extend_from_slice(&len);
        message.extend_from_slice(&event[..first]);
        self.done.push(message);
        for piece in event[first..].chunks(self.budget - 1) {
            let mut message = Vec::with_capacity(1 + piece.len());
            message.push(MORE);
            message.extend_from_slice(piece);
            self.done.push(message);
        }
    }

    /// The packed messages, in order.
    pub(crate) fn finish(mut self) -> Vec<Vec<u8>> {
        self.close_current();
        self.done
    }
}

/// What unpacking one message gave.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Unpacked {
    /// Whole events, in order.
    pub(crate) events: Vec<Bytes>,
    /// Events given up: bigger than `max_event`.
    pub(crate) oversized: u64,
    /// Whether the message (or the big event it continued) was malformed.
    pub(crate) malformed: bool,
}

/// A big event being put back together.
struct Partial {
    total: usize,
    /// `None` while skipping an event bigger than the limit.
    bytes: Option<Vec<u8>>,
    seen: usize,
}

/// Unpacks messages back into events, keeping the state of a big event
/// across messages.
pub(crate) struct Unpacker {
    max_event: usize,
    partial: Option<Partial>,
}

fn read_len(bytes: &[u8]) -> Option<usize> {
    let raw: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw) as usize)
}

impl Unpacker {
    /// An unpacker that gives up (and counts) events over `max_event` bytes
    /// without buffering them.
    pub(crate) fn new(max_event: usize) -> Unpacker {
        Unpacker {
            max_event,
            partial: None,
        }
    }

    pub(crate) fn unpack(&mut self, message: Bytes) -> Unpacked {
        let mut out = Unpacked::default();
        let Some(&kind) = message.first() else {
            out.malformed = true;
            return out;
        };
        if kind != MORE && self.partial.take().is_some() {
            // A big event cut short: its pieces are worth nothing now.
            out.malformed = true;
        }
        match kind {
            EVENTS => self.unpack_events(message.slice(1..), &mut out),
            FIRST => self.start_big(&message[1..], &mut out),
            MORE => self.continue_big(&message[1..], &mut out),
            _ => out.malformed = true,
        }
        out
    }

    fn unpack_events(&mut self, mut rest: Bytes, out: &mut Unpacked) {
        if rest.is_empty() {
            out.malformed = true;
        }
        while !rest.is_empty() {
            let Some(len) = read_len(&rest) else {
                out.malformed = true;
                return;
            };
            if rest.len() - 4 < len {
                out.malformed = true;
                return;
            }
            let event = rest.slice(4..4 + len);
            rest = rest.slice(4 + len..);
            if len > self.max_event {
                out.oversized += 1;
            } else {
                out.events.push(event);
            }
        }
    }

    fn start_big(&mut self, body: &[u8], out: &mut Unpacked) {
        let Some(total) = read_len(body) else {
            out.malformed = true;
            return;
        };
        let first = &body[4..];
        if first.is_empty() || first.len() >= total {
            // A FIRST piece holds part of an event, never all of it.
            out.malformed = true;
            return;
        }
        let bytes = (total <= self.max_event).then(|| {
            let mut bytes = Vec::with_capacity(total);
            bytes.extend_from_slice(first);
            bytes
        });
        self.partial = Some(Partial {
            total,
            bytes,
            seen: first.len(),
        });
    }

    fn continue_big(&mut self, piece: &[u8], out: &mut Unpacked) {
        let Some(mut partial) = self.partial.take() else {
            out.malformed = true;
            return;
        };
        if piece.is_empty() || partial.seen + piece.len() > partial.total {
            out.malformed = true;
            return;
        }
        partial.seen += piece.len();
        if let Some(bytes) = partial.bytes.as_mut() {
            bytes.extend_from_slice(piece);
        }
        if partial.seen < partial.total {
            self.partial = Some(partial);
            return;
        }
        match partial.bytes {
            Some(bytes) => out.events.push(Bytes::from(bytes)),
            None => out.oversized += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(events: &[Vec<u8>], budget: usize, max_event: usize) -> (Vec<Bytes>, u64, bool) {
        let mut packer = Packer::new(budget);
        for e in events {
            packer.push(e);
        }
        let messages = packer.finish();
        assert!(messages
            .iter()
            .all(|m| m.len() <= budget.max(MIN_MESSAGE_BYTES)));
        let mut unpacker = Unpacker::new(max_event);
        let mut got = Vec::new();
        let mut oversized = 0;
        let mut malformed = false;
        for m in messages {
            let out = unpacker.unpack(Bytes::from(m));
            got.extend(out.events);
            oversized += out.oversized;
            malformed |= out.malformed;
        }
        (got, oversized, malformed)
    }

    #[test]
    fn small_and_big_events_survive_packing_in_order() {
        let events: Vec<Vec<u8>> = (0..200usize)
            .map(|i| vec![i as u8; (i * 37) % 3000])
            .collect();
        for budget in [6, 7, 64, 1000, 16 * 1024] {
            let (got, oversized, malformed) = roundtrip(&events, budget, usize::MAX);
            assert!(!malformed, "budget {budget}");
            assert_eq!(oversized, 0);
            assert_eq!(got.len(), events.len(), "budget {budget}");
            for (g, e) in got.iter().zip(&events) {
                assert_eq!(&g[..], &e[..]);
            }
        }
    }

    #[test]
    fn events_over_the_limit_are_counted_not_buffered() {
        let events = vec![
            vec![1u8; 10],
            vec![2u8; 500],
            vec![3u8; 50],
            vec![4u8; 5000],
        ];
        let (got, oversized, malformed) = roundtrip(&events, 256, 100);
        assert!(!malformed);
        assert_eq!(oversized, 2);
        assert_eq!(
            got,
            vec![Bytes::from(vec![1u8; 10]), Bytes::from(vec![3u8; 50])]
        );
    }

    #[test]
    fn malformed_messages_are_flagged_and_do_not_poison_the_next() {
        let mut unpacker = Unpacker::new(1 << 20);
        for bad in [
            vec![],
            vec![9],
            vec![EVENTS],
            vec![EVENTS, 5, 0, 0, 0, 1],
            vec![EVENTS, 1, 0],
            vec![MORE, 1, 2],
            vec![FIRST, 1, 0, 0, 0, 7],
            vec![FIRST, 10, 0],
        ] {
            assert!(
                unpacker.unpack(Bytes::from(bad.clone())).malformed,
                "{bad:?}"
            );
        }
        // A big event cut short by a new message: flagged, and the new
        // message still counts.
        assert!(
            !unpacker
                .unpack(Bytes::from(vec![FIRST, 4, 0, 0, 0, 1]))
                .malformed
        );
        let out = unpacker.unpack(Bytes::from(vec![EVENTS, 1, 0, 0, 0, 42]));
        assert!(out.malformed);
        assert_eq!(out.events, vec![Bytes::from(vec![42u8])]);
        // A piece past the announced length.
        assert!(
            !unpacker
                .unpack(Bytes::from(vec![FIRST, 2, 0, 0, 0, 1]))
                .malformed
        );
        assert!(unpacker.unpack(Bytes::from(vec![MORE, 1, 2])).malformed);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut unpacker = Unpacker::new(4096);
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let mut message: Vec<u8> = (0..len).map(|i| (state >> (i % 8 * 8)) as u8).collect();
            if let Some(first) = message.first_mut() {
                *first %= 5;
            }
            let out = unpacker.unpack(Bytes::from(message));
            assert!(out.events.iter().all(|e| e.len() <= 4096));
        }
    }
}
