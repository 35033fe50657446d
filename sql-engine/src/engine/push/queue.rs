//! Where a push query's rows wait: what a row source answers ([`Next`], for the dedicated
//! queue and the shared readers' subscriptions alike) and the bounded [`RowQueue`] of a
//! dedicated push query.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::Row;

/// What a push query's row source answers.
pub(crate) enum Next {
    Row(Row),
    /// Nothing yet.
    Empty,
    /// No more rows: closed, or dropped with this error.
    End(Option<String>),
}

/// The bounded queue between a dedicated push query's stream thread and its reader: a full
/// queue holds the stream thread back (as ksqlDB's `TransientQueryQueue` does), so a slow
/// reader costs no memory; closing it releases the thread.
pub(crate) struct RowQueue {
    state: Mutex<QueueState>,
    capacity: usize,
    not_full: Condvar,
    not_empty: Condvar,
}

struct QueueState {
    rows: VecDeque<Row>,
    waker: Option<Waker>,
    closed: bool,
}

impl RowQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        RowQueue { state: Mutex::new(QueueState { rows: VecDeque::new(), waker: None, closed: false }), capacity, not_full: Condvar::new(), not_empty: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a row, waiting while the queue is full; a closed queue drops it.
    pub(crate) fn push(&self, row: Row) {
        let mut s = self.lock();
        while s.rows.len() >= self.capacity && !s.closed {
            s = self.not_full.wait(s).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if s.closed {
            return;
        }
        s.rows.push_back(row);
        let waker = s.waker.take();
        drop(s);
        self.not_empty.notify_one();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn take(&self, s: &mut QueueState) -> Next {
        match s.rows.pop_front() {
            Some(r) => {
                self.not_full.notify_one();
                Next::Row(r)
            }
            None if s.closed => Next::End(None),
            None => Next::Empty,
        }
    }

    pub(crate) fn pop(&self, timeout: Duration) -> Next {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            match self.take(&mut s) {
                Next::Empty => {}
                other => return other,
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Next::Empty;
            }
            s = self.not_empty.wait_timeout(s, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
    }

    pub(crate) fn poll(&self, waker: &Waker) -> Next {
        let mut s = self.lock();
        let next = self.take(&mut s);
        if matches!(next, Next::Empty) {
            s.waker = Some(waker.clone());
        }
        next
    }

    /// Drops what waits and wakes everyone: pushes return at once, readers see the end.
    pub(crate) fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        s.rows.clear();
        let waker = s.waker.take();
        drop(s);
        self.not_full.notify_all();
        self.not_empty.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::Value;

    #[test]
    fn a_closed_queue_releases_a_blocked_writer_and_ends_its_reader() {
        let q = Arc::new(RowQueue::new(1));
        q.push(vec![Value::Int(1)]);
        let w = q.clone();
        let writer = std::thread::spawn(move || w.push(vec![Value::Int(2)]));
        assert!(matches!(q.pop(Duration::from_secs(5)), Next::Row(r) if r == vec![Value::Int(1)]));
        assert!(matches!(q.pop(Duration::from_secs(5)), Next::Row(r) if r == vec![Value::Int(2)]));
        writer.join().unwrap();
        q.push(vec![Value::Int(3)]);
        let w = q.clone();
        let blocked = std::thread::spawn(move || w.push(vec![Value::Int(4)]));
        q.close();
        blocked.join().unwrap();
        assert!(matches!(q.pop(Duration::from_millis(10)), Next::End(None)));
    }
}
