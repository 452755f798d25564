//! Deadlines and timeouts: one rule for every wait in the engine.
//!
//! Every blocking call takes an optional timeout. [`Deadline::after`] turns it
//! into the instant the wait gives up at, and a timeout too large to add to
//! the clock means "never" rather than a panic. [`timeout_from_ms`] is the one
//! place a timeout given by a host language (a JavaScript number, a Python
//! float) is checked: NaN and negative values are errors, `+∞` and values past
//! any representable instant mean "no limit".
//!
//! [`Clock`] is the time a component's own deadlines run on (a mesh node's
//! acks, resends, beacons, rekeys and expiries). Shipped builds have one
//! clock, the system's, and it costs what `Instant::now()` costs. Tests
//! built with the `test-seams` feature (and this crate's own tests) may hand
//! a node a [`ManualClock`] instead: time stands still until the test
//! advances it, so an hour-long rekey interval or a session timeout is
//! tested in milliseconds, and a resend happens exactly when the test says.
//! Waits a caller asks for (a receive's timeout, a connect's time limit)
//! stay in real time either way.

use crate::error::{Error, ErrorKind, Result};
use std::time::{Duration, Instant};

/// The time a component's deadlines run on: the system clock, or (in test
/// builds) a [`ManualClock`].
#[derive(Clone, Default)]
pub struct Clock {
    #[cfg(any(test, feature = "test-seams"))]
    manual: Option<std::sync::Arc<ManualClock>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_manual() {
            "Clock(manual)"
        } else {
            "Clock(system)"
        })
    }
}

/// Something a [`ManualClock`] wakes when it is advanced (a node's timer,
/// its handshakes), so their waits end at the new time.
pub trait Wake: Send + Sync {
    /// The clock moved on: look at the time again.
    fn wake(&self);
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// The time now.
    #[inline]
    pub fn now(&self) -> Instant {
        #[cfg(any(test, feature = "test-seams"))]
        if let Some(manual) = &self.manual {
            return manual.now();
        }
        Instant::now()
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        #[cfg(any(test, feature = "test-seams"))]
        if self.manual.is_some() {
            return true;
        }
        false
    }

    /// The real instant a wait for `at` (an instant of this clock) ends at:
    /// `at` itself on the system clock; `None` on a manual clock, whose
    /// waits end only when it is advanced (through [`Wake`]).
    pub fn real(&self, at: Instant) -> Option<Instant> {
        (!self.is_manual()).then_some(at)
    }

    /// Has `waker` woken each time the clock is advanced, while it lives.
    /// Nothing to do on the system clock.
    pub fn on_advance(&self, waker: std::sync::Weak<dyn Wake>) {
        #[cfg(any(test, feature = "test-seams"))]
        if let Some(manual) = &self.manual {
            manual.wakers.lock().push(waker);
        }
        #[cfg(not(any(test, feature = "test-seams")))]
        drop(waker);
    }
}

/// A clock that stands still until it is advanced: a test seam (this
/// crate's tests and the `test-seams` feature), never in a shipped build.
#[cfg(any(test, feature = "test-seams"))]
pub struct ManualClock {
    origin: Instant,
    elapsed: parking_lot::Mutex<Duration>,
    wakers: parking_lot::Mutex<Vec<std::sync::Weak<dyn Wake>>>,
}

#[cfg(any(test, feature = "test-seams"))]
impl ManualClock {
    /// A clock standing at the moment it is made.
    pub fn new() -> std::sync::Arc<ManualClock> {
        std::sync::Arc::new(ManualClock {
            origin: Instant::now(),
            elapsed: parking_lot::Mutex::new(Duration::ZERO),
            wakers: parking_lot::Mutex::new(Vec::new()),
        })
    }

    /// A [`Clock`] reading this one (for a component's configuration).
    pub fn clock(self: &std::sync::Arc<Self>) -> Clock {
        Clock {
            manual: Some(self.clone()),
        }
    }

    /// The time now.
    pub fn now(&self) -> Instant {
        self.origin + *self.elapsed.lock()
    }

    /// Moves the clock on by `by` and wakes whatever waits on it.
    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock() += by;
        let wakers: Vec<_> = {
            let mut wakers = self.wakers.lock();
            wakers.retain(|w| w.strong_count() > 0);
            wakers.iter().filter_map(std::sync::Weak::upgrade).collect()
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

/// When a wait gives up; [`Deadline::never`] waits without limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// A deadline `timeout` from now (`None`, or a timeout past any
    /// representable instant: never).
    pub fn after(timeout: Option<Duration>) -> Deadline {
        Deadline(timeout.and_then(|t| Instant::now().checked_add(t)))
    }

    /// A deadline that never passes.
    pub const fn never() -> Deadline {
        Deadline(None)
    }

    /// The instant, or `None` for never.
    pub fn instant(self) -> Option<Instant> {
        self.0
    }

    /// Whether the deadline has passed.
    pub fn expired(self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }

    /// Time left (`None` for never; zero once passed).
    pub fn remaining(self) -> Option<Duration> {
        self.0.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The earlier of this deadline and `now + slice`: how long one slice of
    /// a wait may sleep.
    pub fn slice(self, slice: Duration) -> Duration {
        self.remaining().map_or(slice, |left| left.min(slice))
    }
}

/// The largest timeout, in milliseconds, a host language may give before it
/// means "no limit" (2^53: every integer up to it is exact in a double).
pub const MAX_TIMEOUT_MS: f64 = 9_007_199_254_740_992.0;

/// Checks a timeout in milliseconds given by a host language. `None` and
/// `+∞` (and anything of [`MAX_TIMEOUT_MS`] or more) mean no limit; NaN and
/// negative values fail with `kind` (the calling area's invalid-argument
/// kind). Fractions of a millisecond are kept.
pub fn timeout_from_ms(ms: Option<f64>, kind: ErrorKind, what: &str) -> Result<Option<Duration>> {
    let Some(ms) = ms else {
        return Ok(None);
    };
    if ms.is_nan() {
        return Err(Error::new(
            kind,
            format!("{what} must be a number, not NaN"),
        ));
    }
    if ms < 0.0 {
        return Err(Error::new(
            kind,
            format!("{what} must not be negative (got {ms}); leave it out to wait without limit"),
        ));
    }
    if ms >= MAX_TIMEOUT_MS {
        return Ok(None);
    }
    Ok(Some(Duration::from_secs_f64(ms / 1000.0)))
}

/// Checks a whole number given by a host language as a double (JavaScript
/// numbers) and converts it to `T`. NaN, infinities, fractions, negative
/// values and values that do not fit `T` fail with `kind`.
pub fn whole_number<T: TryFrom<u64>>(value: f64, kind: ErrorKind, what: &str) -> Result<T> {
    let bad = |why: &str| Error::new(kind, format!("{what} {why} (got {value})"));
    if !value.is_finite() {
        return Err(bad("must be a finite number"));
    }
    if value.fract() != 0.0 {
        return Err(bad("must be a whole number"));
    }
    if value < 0.0 {
        return Err(bad("must not be negative"));
    }
    if value > u64::MAX as f64 {
        return Err(bad("is too large"));
    }
    T::try_from(value as u64).map_err(|_| bad("is too large"))
}

/// Checks a whole number given by a host language as a wide integer (Python
/// ints, Go ints) and converts it to `T`; negative values and values that do
/// not fit `T` fail with `kind`.
pub fn integer<T: TryFrom<i128>>(value: i128, kind: ErrorKind, what: &str) -> Result<T> {
    T::try_from(value).map_err(|_| {
        let why = if value < 0 {
            "must not be negative"
        } else {
            "is too large"
        };
        Error::new(kind, format!("{what} {why} (got {value})"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: ErrorKind = ErrorKind::InvalidArgument;

    #[test]
    fn a_timeout_past_any_instant_means_never_instead_of_a_panic() {
        assert_eq!(Deadline::after(Some(Duration::MAX)), Deadline::never());
        assert_eq!(Deadline::after(None).remaining(), None);
        let soon = Deadline::after(Some(Duration::from_millis(5)));
        assert!(soon
            .remaining()
            .is_some_and(|r| r <= Duration::from_millis(5)));
        assert_eq!(
            Deadline::never().slice(Duration::from_millis(7)),
            Duration::from_millis(7)
        );
        assert!(Deadline::after(Some(Duration::ZERO)).expired());
        assert!(!Deadline::never().expired());
    }

    #[test]
    fn host_timeouts_nan_and_negative_are_errors_infinite_and_huge_mean_no_limit() {
        assert_eq!(timeout_from_ms(None, K, "t").unwrap(), None);
        assert_eq!(timeout_from_ms(Some(f64::INFINITY), K, "t").unwrap(), None);
        assert_eq!(timeout_from_ms(Some(1e300), K, "t").unwrap(), None);
        assert_eq!(
            timeout_from_ms(Some(1.5), K, "t").unwrap(),
            Some(Duration::from_micros(1500))
        );
        assert_eq!(
            timeout_from_ms(Some(0.0), K, "t").unwrap(),
            Some(Duration::ZERO)
        );
        for bad in [f64::NAN, -1.0, f64::NEG_INFINITY, -0.5] {
            let err =
                timeout_from_ms(Some(bad), ErrorKind::InvalidMeshArgument, "timeout").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidMeshArgument, "{bad}");
        }
    }

    #[test]
    fn host_whole_numbers_are_checked_not_wrapped() {
        assert_eq!(whole_number::<u32>(7.0, K, "n").unwrap(), 7);
        assert_eq!(
            whole_number::<u64>(4294967296.0, K, "n").unwrap(),
            4294967296
        );
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1.5, 4294967296.0] {
            assert_eq!(
                whole_number::<u32>(bad, K, "n").unwrap_err().kind(),
                K,
                "{bad}"
            );
        }
        assert_eq!(integer::<u32>(9, K, "n").unwrap(), 9);
        assert!(integer::<u32>(-1, K, "n")
            .unwrap_err()
            .detail()
            .contains("negative"));
        assert!(integer::<u64>(i128::MAX, K, "n")
            .unwrap_err()
            .detail()
            .contains("too large"));
    }
}
