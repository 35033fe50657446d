//! Wall-clock time in epoch milliseconds: the system clock, or a manual one that tests move.
//!
//! # Examples
//! ```
//! use brook_common::Clock;
//! let clock = Clock::manual(1_000);
//! let seen_by_a_component = clock.clone();
//! clock.advance(std::time::Duration::from_millis(500));
//! assert_eq!(seen_by_a_component.now_ms(), 1_500);
//! assert!(Clock::system().now_ms() > 1_600_000_000_000);
//! ```

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, from the system clock (0 if the clock is before 1970).
#[must_use]
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A source of wall-clock time, cheap to clone; clones of a manual clock share its time.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    #[must_use]
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock standing at `epoch_ms` until [`Clock::advance`] or [`Clock::set`] moves it.
    #[must_use]
    pub fn manual(epoch_ms: i64) -> Clock {
        Clock { manual: Some(Arc::new(AtomicI64::new(epoch_ms))) }
    }

    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => now_ms(),
        }
    }

    /// Moves a manual clock forward by `by`; the system clock cannot be moved (no effect).
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.manual {
            t.fetch_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX), Ordering::SeqCst);
        }
    }

    /// Sets a manual clock to `epoch_ms` (no effect on the system clock).
    pub fn set(&self, epoch_ms: i64) {
        if let Some(t) = &self.manual {
            t.store(epoch_ms, Ordering::SeqCst);
        }
    }

    /// Whether this is a manual clock.
    #[must_use]
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }
}
