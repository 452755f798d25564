//! The node's timer: one task on the engine's runtime (see
//! [`crate::runtime`]) that sleeps until the earliest deadline any part of
//! the node has (an ack due, a resend due, a beacon, a neighbour turning
//! suspect, a session to rekey or expire, the peer store's flush) and is
//! woken early when something gets a deadline sooner than the one it sleeps
//! to. No thread per node, and no fixed tick: an idle node wakes for its
//! beacons and nothing else.
//!
//! [`Timer`] is the signal between the node's parts and the task; the task
//! itself is the node's (`Inner::timer_round`).

use crate::time::Clock;
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest the timer sleeps with nothing due (a safety net; every
/// duty has a deadline of its own).
pub(super) const MAX_SLEEP: Duration = Duration::from_secs(60);
/// The shortest sleep: a deadline already past is served at once, but a
/// round never follows a round sooner than this.
const MIN_SLEEP: Duration = Duration::from_millis(1);

pub(super) struct Timer {
    /// The clock the node's deadlines run on.
    clock: Clock,
    started: Instant,
    /// The deadline the task sleeps to, in microseconds after `started`
    /// (while it runs a round: the soonest the next round may run).
    planned: AtomicU64,
    notify: tokio::sync::Notify,
    /// Set once the task ended (or was dropped with the runtime).
    finished: Mutex<bool>,
    ended: Condvar,
}

thread_local! {
    /// Set while this thread runs a timer round (so `shutdown` from inside
    /// one does not wait for the round to end).
    static IN_ROUND: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Timer {
    pub(super) fn new(clock: Clock) -> Timer {
        Timer {
            started: clock.now(),
            clock,
            planned: AtomicU64::new(u64::MAX),
            notify: tokio::sync::Notify::new(),
            finished: Mutex::new(false),
            ended: Condvar::new(),
        }
    }

    fn micros(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_micros() as u64
    }

    /// Something is due at `at`: wakes the task if it sleeps to later.
    pub(super) fn due(&self, at: Instant) {
        let at = self.micros(at);
        if at < self.planned.fetch_min(at, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    /// Wakes the task now (shutdown, or a manual clock moved on).
    pub(super) fn wake(&self) {
        self.notify.notify_one();
    }

    /// Runs rounds until `closed` says stop: `round` does what is due and
    /// returns the next deadline. The loop of the node's timer task.
    pub(super) async fn run(
        &self,
        closed: impl Fn() -> bool,
        mut round: impl FnMut(Instant) -> Instant,
    ) {
        while !closed() {
            // While the round runs, a deadline set by another thread only
            // lowers `planned` (it wakes nobody unless it is due before the
            // soonest next round could run): a busy node must not turn
            // every packet into a round.
            let now = self.clock.now();
            self.planned
                .store(self.micros(now + MIN_SLEEP), Ordering::Release);
            IN_ROUND.with(|flag| flag.set(true));
            let next = round(now).clamp(now + MIN_SLEEP, now + MAX_SLEEP);
            IN_ROUND.with(|flag| flag.set(false));
            // Deadlines set during the round count too.
            let next_us = self.micros(next);
            let target_us = self
                .planned
                .fetch_min(next_us, Ordering::AcqRel)
                .min(next_us);
            if closed() {
                break;
            }
            let target = self.started + Duration::from_micros(target_us);
            match self.clock.real(target) {
                Some(target) => {
                    let _ = tokio::time::timeout_at(target.into(), self.notify.notified()).await;
                }
                // A manual clock wakes the task when it is advanced.
                None => self.notify.notified().await,
            }
        }
    }

    /// Marks the task ended (by a guard the task owns, so also when the
    /// runtime drops the task unfinished).
    pub(super) fn finish(&self) {
        *self.finished.lock() = true;
        self.ended.notify_all();
    }

    /// Waits until the task ended (after `wake` and the node's `closed`),
    /// unless called from inside a round.
    pub(super) fn wait_finished(&self) {
        if IN_ROUND.with(|flag| flag.get()) {
            return;
        }
        let mut finished = self.finished.lock();
        while !*finished {
            self.ended.wait(&mut finished);
        }
    }
}
