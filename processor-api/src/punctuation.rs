//! Punctuation: when a punctuator fires ([`PunctuationType`]) and the handle that cancels it
//! ([`Cancellable`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// When a punctuator fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PunctuationType {
    /// When stream time (the largest record timestamp the task has seen) passes the schedule;
    /// schedules are aligned to 0, so the first one fires with the first record.
    StreamTime,
    /// When wall-clock time passes the schedule; the first one fires one interval after
    /// scheduling.
    WallClockTime,
}

/// A handle on a scheduled punctuator.
#[derive(Debug, Clone)]
pub struct Cancellable(pub(crate) Arc<AtomicBool>);

impl Cancellable {
    /// Cancels the punctuator (also from inside it); it does not fire again.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Cancellable::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
