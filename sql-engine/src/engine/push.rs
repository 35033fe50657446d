//! Push queries (`EMIT CHANGES`): a transient query whose rows arrive on a channel until its
//! `LIMIT` is reached or the handle is closed.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::engine::entities::FieldInfo;
use crate::Row;

/// A running push query: iterate [`PushQuery::next_row`] for its rows.
pub struct PushQuery {
    /// The transient query's id (`transient_<SOURCE>_<n>`).
    pub id: String,
    pub schema: Vec<FieldInfo>,
    pub(crate) rows: Receiver<Row>,
    pub(crate) limit: Option<u64>,
    pub(crate) delivered: u64,
    pub(crate) on_close: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for PushQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushQuery").field("id", &self.id).field("limit", &self.limit).field("delivered", &self.delivered).finish_non_exhaustive()
    }
}

impl PushQuery {
    /// The next row, waiting up to `timeout`; `None` on timeout, after `LIMIT` rows, or when
    /// the query stopped.
    pub fn next_row(&mut self, timeout: Duration) -> Option<Row> {
        if self.limit.is_some_and(|l| self.delivered >= l) {
            self.close();
            return None;
        }
        match self.rows.recv_timeout(timeout) {
            Ok(r) => {
                self.delivered += 1;
                Some(r)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Whether `LIMIT` rows were delivered.
    pub fn is_complete(&self) -> bool {
        self.limit.is_some_and(|l| self.delivered >= l)
    }

    /// Stops the query.
    pub fn close(&mut self) {
        if let Some(f) = self.on_close.take() {
            f();
        }
    }
}

impl Drop for PushQuery {
    fn drop(&mut self) {
        self.close();
    }
}
