//! Joins: stream-stream over [`JoinWindows`] ([`stream_stream`]), stream-table and
//! stream-global-table ([`stream_table`]), table-table on the primary key and by foreign key
//! ([`table_table`]).

pub mod stream_stream;
pub mod stream_table;
pub mod table_table;

use std::time::Duration;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The time bounds of a stream-stream join (Kafka's `JoinWindows`): a record at `t` joins
/// the other side's records in `[t - before, t + after]`; `grace` keeps windows open for
/// out-of-order records, and left/outer non-matches are emitted once it has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindows {
    pub(crate) before: i64,
    pub(crate) after: i64,
    pub(crate) grace: i64,
    /// Kafka's `enableSpuriousResultFix`: left/outer non-matches wait until their window has
    /// closed. Off only for the deprecated [`JoinWindows::of`], which emits them at once.
    pub(crate) spurious_result_fix: bool,
}

/// Kafka's default grace of a join window built by the deprecated `JoinWindows.of`: 24 hours.
const DEFAULT_GRACE_MS: i64 = 24 * 60 * 60 * 1000;

impl JoinWindows {
    /// Kafka's deprecated `JoinWindows.of(difference)` (which ksqlDB uses for joins without a
    /// `GRACE PERIOD`): 24 hours of grace, and the eager left/outer semantics of Kafka before
    /// 3.0: a record with no match when it arrives joins `None` at once (a "spurious" result
    /// if a match arrives later, which then joins too).
    pub fn of(difference: Duration) -> Self {
        JoinWindows { before: ms(difference), after: ms(difference), grace: DEFAULT_GRACE_MS, spurious_result_fix: false }
    }

    /// `before = after = difference`, no grace.
    pub fn of_time_difference_without_grace(difference: Duration) -> Self {
        JoinWindows { before: ms(difference), after: ms(difference), grace: 0, spurious_result_fix: true }
    }

    /// `before = after = difference`, with `grace`.
    pub fn of_time_difference_and_grace(difference: Duration, grace: Duration) -> Self {
        JoinWindows { before: ms(difference), after: ms(difference), grace: ms(grace), spurious_result_fix: true }
    }

    /// Sets how far back the other side's records may be.
    #[must_use]
    pub fn before(mut self, before: Duration) -> Self {
        self.before = ms(before);
        self
    }

    /// Sets how far ahead the other side's records may be.
    #[must_use]
    pub fn after(mut self, after: Duration) -> Self {
        self.after = ms(after);
        self
    }

    pub(crate) fn size(&self) -> i64 {
        self.before + self.after
    }
}
