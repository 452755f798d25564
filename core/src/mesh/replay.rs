//! A sliding replay window over a session's packet counters.
//!
//! Datagrams may arrive late or out of order, so a strict "greater than the
//! last one" rule would drop honest traffic. The window remembers which of the
//! last [`WINDOW`] counters below the highest seen have arrived; anything older
//! than the window, or already marked, is a replay.

/// Counters remembered below the highest one seen.
pub const WINDOW: u64 = 2048;
const WORDS: usize = (WINDOW / 64) as usize;

/// The receive side's record of counters seen.
#[derive(Debug, Clone)]
pub struct ReplayWindow {
    /// One past the highest counter marked (0: nothing marked yet).
    top: u64,
    bits: [u64; WORDS],
}

impl Default for ReplayWindow {
    fn default() -> Self {
        ReplayWindow {
            top: 0,
            bits: [0; WORDS],
        }
    }
}

impl ReplayWindow {
    /// A window that has seen nothing.
    pub fn new() -> ReplayWindow {
        ReplayWindow::default()
    }

    /// Whether `counter` would be accepted (new, and not too old). Checking
    /// does not mark: mark only after the packet authenticated, so a forged
    /// packet cannot burn a counter.
    pub fn check(&self, counter: u64) -> bool {
        if counter >= self.top {
            return counter != u64::MAX;
        }
        if self.top - counter > WINDOW {
            return false;
        }
        !self.bit(counter)
    }

    /// Records `counter` as seen; returns false if it was a replay.
    pub fn mark(&mut self, counter: u64) -> bool {
        if !self.check(counter) {
            return false;
        }
        if counter >= self.top {
            let advance = counter + 1 - self.top;
            if advance >= WINDOW {
                self.bits = [0; WORDS];
            } else {
                for c in self.top..=counter {
                    self.clear(c);
                }
            }
            self.top = counter + 1;
        }
        let (word, bit) = Self::slot(counter);
        self.bits[word] |= bit;
        true
    }

    fn slot(counter: u64) -> (usize, u64) {
        let index = counter % WINDOW;
        ((index / 64) as usize, 1u64 << (index % 64))
    }

    fn bit(&self, counter: u64) -> bool {
        let (word, bit) = Self::slot(counter);
        self.bits[word] & bit != 0
    }

    fn clear(&mut self, counter: u64) {
        let (word, bit) = Self::slot(counter);
        self.bits[word] &= !bit;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_out_of_order_and_replays() {
        let mut w = ReplayWindow::new();
        assert!(w.mark(0));
        assert!(!w.mark(0));
        assert!(w.mark(5));
        assert!(w.mark(3));
        assert!(!w.mark(3));
        assert!(w.mark(1));
        assert!(w.check(2) && w.check(4));
        assert!(!w.check(5));
    }

    #[test]
    fn too_old_is_refused_and_big_jumps_reset() {
        let mut w = ReplayWindow::new();
        assert!(w.mark(10));
        assert!(w.mark(10 + WINDOW));
        assert!(!w.check(9), "older than the window");
        assert!(w.check(11), "inside the window and unseen");
        assert!(!w.check(10), "exactly the window's depth is too old");
        assert!(w.mark(10 * WINDOW));
        assert!(w.check(10 * WINDOW - 1));
        assert!(!w.check(u64::MAX));
    }

    #[test]
    fn a_slot_reused_after_the_window_moves_is_clear() {
        let mut w = ReplayWindow::new();
        for c in 0..WINDOW {
            assert!(w.mark(c));
        }
        // Counter WINDOW reuses slot 0, which held counter 0.
        assert!(w.mark(WINDOW));
        assert!(w.mark(WINDOW + 1));
        assert!(!w.mark(WINDOW));
        assert!(!w.check(0) && !w.check(1));
        assert!(w.check(WINDOW + 7));
    }
}
