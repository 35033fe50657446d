//! "Data appended" signals, per topic: the one mechanism every reader that waits for data uses
//! (the wire Fetch long poll, the embedded consumer's poll and its nonblocking watcher, `PRINT`,
//! the shared push-query reader). A [`TopicChanges`] watches a set of topics, by name, and wakes
//! when one of them is appended to (records or transaction markers), and only then: a reader of
//! one topic is never woken by appends to the others. It can be waited on from async code and from
//! a plain thread.
//!
//! Signals are kept by topic name in a [`Signals`] registry, so a watch may name a topic that does
//! not exist yet (a consumer subscribing before the topic is created), and a topic deleted and
//! created again wakes the same watchers. An append costs one uncontended mutex when nobody
//! watches its topic, and one wake per watcher otherwise.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::Notify;

/// The signal of one topic name: the watchers to wake on an append.
#[derive(Debug, Default)]
pub(crate) struct ChangeSignal {
    watchers: Mutex<Vec<Arc<Watcher>>>,
}

impl ChangeSignal {
    /// Wakes every watcher of the topic.
    pub(crate) fn notify(&self) {
        for w in self.watchers.lock().iter() {
            w.wake();
        }
    }

    fn add(&self, w: &Arc<Watcher>) {
        self.watchers.lock().push(Arc::clone(w));
    }

    fn remove(&self, w: &Arc<Watcher>) {
        self.watchers.lock().retain(|x| !Arc::ptr_eq(x, w));
    }
}

/// The signals of a broker, by topic name. Entries live as long as a topic or a watch holds them.
#[derive(Debug, Default)]
pub(crate) struct Signals {
    by_name: Mutex<HashMap<String, Weak<ChangeSignal>>>,
}

impl Signals {
    /// The signal of `topic`, made on first use.
    pub(crate) fn of(&self, topic: &str) -> Arc<ChangeSignal> {
        let mut map = self.by_name.lock();
        if let Some(s) = map.get(topic).and_then(Weak::upgrade) {
            return s;
        }
        // Forget the signals nobody holds any more, now and then (amortised over insertions).
        if map.len() >= 64 && map.len().is_power_of_two() {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let s = Arc::new(ChangeSignal::default());
        map.insert(topic.to_owned(), Arc::downgrade(&s));
        s
    }
}

/// What one [`TopicChanges`] waits on: a sequence number every append to a watched topic bumps.
#[derive(Debug, Default)]
struct Watcher {
    seq: Mutex<u64>,
    cv: Condvar,
    notify: Notify,
}

impl Watcher {
    fn wake(&self) {
        {
            let mut s = self.seq.lock();
            *s = s.wrapping_add(1);
        }
        self.cv.notify_all();
        // One waiter per watcher (waits take `&mut TopicChanges`): a permit stored while nobody
        // waits makes the next wait return at once.
        self.notify.notify_one();
    }

    fn seq(&self) -> u64 {
        *self.seq.lock()
    }
}

/// Wakes when one of its topics is appended to ([`Broker::topic_changes`](crate::Broker::topic_changes),
/// [`Broker::watch_topics`](crate::Broker::watch_topics)). Every wait returns at once if a topic
/// was appended to since the last wait or [`mark_seen`](Self::mark_seen) (none is missed between
/// a read and the wait that follows it).
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
/// // A watch may name topics that do not exist yet.
/// let mut later = broker.watch_topics(["c", "a"]);
/// broker.create_topic("c", 1, Default::default())?;
/// broker.produce("c", 0, &mut batch.build()?)?;
/// later.changed().await;
/// # broker.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TopicChanges {
    signals: Arc<Signals>,
    watcher: Arc<Watcher>,
    /// The watched topics and their signals, sorted by name.
    topics: Vec<(String, Arc<ChangeSignal>)>,
    seen: u64,
}

impl TopicChanges {
    pub(crate) fn new(signals: Arc<Signals>, topics: impl IntoIterator<Item = impl AsRef<str>>) -> TopicChanges {
        let watcher = Arc::new(Watcher::default());
        let mut t = TopicChanges { signals, seen: watcher.seq(), watcher, topics: Vec::new() };
        t.set_topics(topics);
        t
    }

    /// Watches `topics` from now on instead of the topics watched so far. Appends to a topic
    /// watched before and after are not missed; call [`mark_seen`](Self::mark_seen) before
    /// reading the new topics.
    pub fn set_topics(&mut self, topics: impl IntoIterator<Item = impl AsRef<str>>) {
        let mut names: Vec<String> = topics.into_iter().map(|t| t.as_ref().to_owned()).collect();
        names.sort();
        names.dedup();
        if names.iter().eq(self.topics.iter().map(|(n, _)| n)) {
            return;
        }
        let mut old = std::mem::take(&mut self.topics);
        for name in names {
            match old.iter().position(|(n, _)| *n == name) {
                Some(i) => self.topics.push(old.swap_remove(i)),
                None => {
                    let s = self.signals.of(&name);
                    s.add(&self.watcher);
                    self.topics.push((name, s));
                }
            }
        }
        self.topics.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, s) in old {
            s.remove(&self.watcher);
        }
    }

    /// The watched topics, by name.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().map(|(n, _)| n.as_str())
    }

    /// Counts everything appended so far as seen: call it before reading, then wait.
    pub fn mark_seen(&mut self) {
        self.seen = self.watcher.seq();
    }

    /// Blocks the thread until a watched topic is appended to, at most `timeout`; returns whether
    /// one was.
    pub fn wait_timeout(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut seq = self.watcher.seq.lock();
        while *seq == self.seen {
            if self.watcher.cv.wait_until(&mut seq, deadline).timed_out() {
                break;
            }
        }
        let changed = *seq != self.seen;
        self.seen = *seq;
        changed
    }

    /// Waits until a watched topic is appended to.
    ///
    /// # Cancel safety
    /// Cancel safe: a dropped wait loses nothing; the next one returns at once for an append
    /// made meanwhile.
    pub async fn changed(&mut self) {
        loop {
            let seq = self.watcher.seq();
            if seq != self.seen {
                self.seen = seq;
                return;
            }
            self.watcher.notify.notified().await;
        }
    }
}

impl Drop for TopicChanges {
    fn drop(&mut self) {
        for (_, s) in &self.topics {
            s.remove(&self.watcher);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_wakes_for_its_topics_only_and_follows_retargets() {
        let signals = Arc::new(Signals::default());
        let (a, b) = (signals.of("a"), signals.of("b"));
        let mut w = TopicChanges::new(Arc::clone(&signals), ["a"]);
        b.notify();
        assert!(!w.wait_timeout(Duration::ZERO), "b is not watched");
        a.notify();
        assert!(w.wait_timeout(Duration::ZERO));
        assert!(!w.wait_timeout(Duration::ZERO), "seen");
        w.set_topics(["b", "b"]);
        assert_eq!(w.topics().collect::<Vec<_>>(), ["b"]);
        a.notify();
        assert!(!w.wait_timeout(Duration::ZERO), "a is not watched any more");
        b.notify();
        assert!(w.wait_timeout(Duration::ZERO));
        drop(w);
        assert!(b.watchers.lock().is_empty() && a.watchers.lock().is_empty(), "a dropped watch unregisters");
    }

    #[test]
    fn signals_are_kept_by_name_while_held() {
        let signals = Signals::default();
        let a = signals.of("a");
        assert!(Arc::ptr_eq(&a, &signals.of("a")));
        let weak = Arc::downgrade(&a);
        drop(a);
        assert_eq!(weak.strong_count(), 0, "the registry does not keep a signal alive");
        for i in 0..200 {
            drop(signals.of(&format!("t{i}")));
        }
        assert!(signals.by_name.lock().len() < 200, "dead entries are pruned");
    }

    #[tokio::test]
    async fn an_async_wait_returns_for_an_append_made_before_it() {
        let signals = Arc::new(Signals::default());
        let mut w = TopicChanges::new(Arc::clone(&signals), ["a"]);
        signals.of("a").notify();
        tokio::time::timeout(Duration::from_secs(5), w.changed()).await.unwrap();
        let waiting = tokio::spawn(async move {
            w.changed().await;
        });
        tokio::task::yield_now().await;
        signals.of("a").notify();
        tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
    }
}
