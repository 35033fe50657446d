//! Per-topic "data appended" signals: [`Broker::topic_changes`](crate::Broker::topic_changes)
//! hands out a [`TopicChanges`] that wakes when that topic is appended to (records or transaction
//! markers), and only then, so a reader of one topic is not woken by appends to every other one
//! (as [`Broker::data_changes`](crate::Broker::data_changes) does). It can be waited on from
//! async code and from a plain thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

/// The signal one topic owns; every append bumps its sequence number.
#[derive(Debug)]
pub(crate) struct ChangeSignal {
    seq: Mutex<u64>,
    cv: Condvar,
    watch: watch::Sender<u64>,
}

impl Default for ChangeSignal {
    fn default() -> Self {
        ChangeSignal { seq: Mutex::new(0), cv: Condvar::new(), watch: watch::channel(0).0 }
    }
}

impl ChangeSignal {
    /// Wakes every waiter of the topic.
    pub(crate) fn notify(&self) {
        let seq = {
            let mut s = self.seq.lock();
            *s = s.wrapping_add(1);
            *s
        };
        self.cv.notify_all();
        self.watch.send_replace(seq);
    }

    pub(crate) fn subscribe(self: &Arc<Self>) -> TopicChanges {
        let mut rx = self.watch.subscribe();
        let seen = *rx.borrow_and_update();
        TopicChanges { signal: Arc::clone(self), rx, seen }
    }
}

/// Wakes when its topic is appended to. Every wait returns at once if the topic was appended to
/// since the last wait or [`mark_seen`](Self::mark_seen) (none is missed between a read and the
/// wait that follows it).
///
/// # Examples
/// ```
/// # #[tokio::main] async fn main() -> brook_broker::Result<()> {
/// use std::time::Duration;
/// let dir = tempfile::tempdir().unwrap();
/// let broker = brook_broker::Broker::open(brook_broker::BrokerConfig::new(dir.path())).await?;
/// broker.create_topic("a", 1, Default::default())?;
/// broker.create_topic("b", 1, Default::default())?;
/// let mut a = broker.topic_changes("a")?;
/// let mut batch = brook_broker::record::BatchBuilder::new(brook_broker::record::Compression::None);
/// batch.push(0, None, Some(b"v"), &[]);
/// broker.produce("b", 0, &mut batch.build()?)?;
/// assert!(!a.wait_timeout(Duration::from_millis(10)), "b's append does not wake a's reader");
/// broker.produce("a", 0, &mut batch.build()?)?;
/// assert!(a.wait_timeout(Duration::from_secs(5)));
/// # broker.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TopicChanges {
    signal: Arc<ChangeSignal>,
    rx: watch::Receiver<u64>,
    seen: u64,
}

impl TopicChanges {
    /// Counts everything appended so far as seen: call it before reading, then wait.
    pub fn mark_seen(&mut self) {
        self.seen = *self.rx.borrow_and_update();
    }

    /// Blocks the thread until the topic is appended to, at most `timeout`; returns whether it was.
    pub fn wait_timeout(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut seq = self.signal.seq.lock();
        while *seq == self.seen {
            if self.signal.cv.wait_until(&mut seq, deadline).timed_out() {
                break;
            }
        }
        let changed = *seq != self.seen;
        self.seen = *seq;
        drop(seq);
        self.rx.mark_unchanged();
        changed
    }

    /// Waits until the topic is appended to.
    ///
    /// # Cancel safety
    /// Cancel safe: a dropped wait loses nothing; the next one returns at once for an append
    /// made meanwhile.
    pub async fn changed(&mut self) {
        if *self.rx.borrow_and_update() == self.seen {
            // The sender lives as long as this receiver's signal: `changed` cannot fail.
            let _ = self.rx.changed().await;
        }
        self.seen = *self.rx.borrow_and_update();
    }
}
