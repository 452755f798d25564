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
    /// (while it runs a round: the soonest the next round may run). A
    /// deadline sooner than this wakes the task.
    planned: AtomicU64,
    /// The soonest deadline reported since the current round began (the
    /// round may have looked before it was set).
    reported: AtomicU64,
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
            reported: AtomicU64::new(u64::MAX),
            notify: tokio::sync::Notify::new(),
            finished: Mutex::new(false),
            ended: Condvar::new(),
        }
    }

    fn micros(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_micros() as u64
    }

    /// Something is due at `at` (the caller has recorded it where a round
    /// finds it): wakes the task if it sleeps to later.
    pub(super) fn due(&self, at: Instant) {
        let at = self.micros(at);
        self.reported.fetch_min(at, Ordering::SeqCst);
        if at < self.planned.load(Ordering::SeqCst) {
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
            // While the round runs, a deadline set by another thread wakes
            // nobody unless it is due before the soonest next round could
            // run (a busy node must not turn every packet into a round): it
            // is only reported, and the sleep after the round honours it.
            let now = self.clock.now();
            let soonest = self.micros(now + MIN_SLEEP);
            self.planned.store(soonest, Ordering::SeqCst);
            self.reported.store(u64::MAX, Ordering::SeqCst);
            IN_ROUND.with(|flag| flag.set(true));
            let next = round(now).clamp(now + MIN_SLEEP, now + MAX_SLEEP);
            IN_ROUND.with(|flag| flag.set(false));
            // Settle the plan: a deadline reported meanwhile either is seen
            // here or sees the new plan (and wakes the sleep below).
            let mut target_us = self.micros(next);
            loop {
                target_us = target_us
                    .min(self.reported.load(Ordering::SeqCst))
                    .max(soonest);
                self.planned.store(target_us, Ordering::SeqCst);
                // Lowered again before the new plan was seen: settle again.
                if target_us == soonest || self.reported.load(Ordering::SeqCst) >= target_us {
                    break;
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// A timer task whose rounds are counted and serve `recorded` (a
    /// deadline past is served and forgotten); with nothing recorded the
    /// next deadline is `next` away. Stopped when dropped.
    struct Running {
        timer: Arc<Timer>,
        rounds: Arc<AtomicU64>,
        recorded: Arc<Mutex<Option<Instant>>>,
        stop: Arc<AtomicBool>,
    }

    impl Running {
        fn start(next: Duration) -> Running {
            let timer = Arc::new(Timer::new(Clock::system()));
            let rounds = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let recorded = Arc::new(Mutex::new(None::<Instant>));
            let (t, r, s, d) = (
                timer.clone(),
                rounds.clone(),
                stop.clone(),
                recorded.clone(),
            );
            crate::runtime::spawn(async move {
                t.run(
                    || s.load(Ordering::Acquire),
                    |now| {
                        r.fetch_add(1, Ordering::SeqCst);
                        let mut recorded = d.lock();
                        match *recorded {
                            Some(at) if at > now => at.min(now + next),
                            _ => {
                                *recorded = None;
                                now + next
                            }
                        }
                    },
                )
                .await;
                t.finish();
            })
            .unwrap();
            Running {
                timer,
                rounds,
                recorded,
                stop,
            }
        }

        /// Records a deadline where the rounds find it, then reports it.
        fn due(&self, at: Instant) {
            *self.recorded.lock() = Some(at);
            self.timer.due(at);
        }

        fn rounds(&self) -> u64 {
            self.rounds.load(Ordering::SeqCst)
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Release);
            self.timer.wake();
            self.timer.wait_finished();
        }
    }

    fn eventually(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn with_nothing_due_the_task_sleeps_instead_of_running_rounds() {
        let running = Running::start(Duration::from_secs(60));
        eventually("the first round", || running.rounds() == 1);
        // A round every millisecond would be a few hundred by now.
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(running.rounds(), 1);
        // A later deadline than the one it sleeps to wakes nobody.
        running.due(Instant::now() + Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(running.rounds(), 1);
    }

    #[test]
    fn an_earlier_deadline_wakes_the_task_and_is_served_when_due() {
        let running = Running::start(Duration::from_secs(60));
        eventually("the first round", || running.rounds() == 1);
        let due = Instant::now() + Duration::from_millis(100);
        running.due(due);
        // Woken at once for a round that plans the sleep to `due`, then the
        // round at `due`; then asleep again.
        eventually("the round at the deadline", || running.rounds() >= 3);
        assert!(Instant::now() >= due);
        std::thread::sleep(Duration::from_millis(200));
        assert!(running.rounds() <= 3, "{} rounds", running.rounds());
    }
}
