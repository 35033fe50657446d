//! Consumer groups over the embedded client: rebalancing, commits, no loss, no duplicates.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brook_broker::client::{Admin, Consumer, RebalanceListener, TopicPartition};
use brook_common::test_support::wait_until_async;
use tokio::sync::mpsc;

use crate::support::{broker, consumer_config, produce, produce_from, value_str};

#[derive(Debug)]
enum Event {
    Record(String, String),
    Assigned(String, Vec<TopicPartition>),
}

struct Listener(String, mpsc::UnboundedSender<Event>);

impl RebalanceListener for Listener {
    fn on_partitions_revoked(&mut self, _: &[TopicPartition]) {}
    fn on_partitions_assigned(&mut self, p: &[TopicPartition]) {
        let _ = self.1.send(Event::Assigned(self.0.clone(), p.to_vec()));
    }
}

fn spawn_member(
    b: &brook_broker::Broker,
    name: &str,
    tx: mpsc::UnboundedSender<Event>,
) -> (Arc<AtomicBool>, tokio::task::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut c = Consumer::new(b.clone(), consumer_config("g"));
    c.subscribe(&["events"], Some(Box::new(Listener(name.into(), tx.clone())))).unwrap();
    let name = name.to_owned();
    let flag = stop.clone();
    let task = tokio::spawn(async move {
        while !flag.load(Ordering::SeqCst) {
            let recs = c.poll(Duration::from_millis(50)).await.expect("poll");
            for r in &recs {
                tx.send(Event::Record(name.clone(), value_str(r))).unwrap();
            }
            if !recs.is_empty() {
                // A commit can race a rebalance; the records are then re-delivered to the new
                // owner from the last successful commit, which the test tolerates.
                let _ = c.commit_sync();
            }
        }
        c.close().await;
    });
    (stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_share_six_partitions_and_two_take_over_when_one_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    b.create_topic("events", 6, BTreeMap::new()).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let members: Vec<_> = ["c1", "c2", "c3"].iter().map(|n| spawn_member(&b, n, tx.clone())).collect();

    let mut latest: HashMap<String, Vec<TopicPartition>> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut by_member: HashMap<String, usize> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    // Phase 1: all three members own two partitions each.
    while !(latest.len() == 3 && latest.values().all(|p| p.len() == 2)) {
        match tokio::time::timeout_at(deadline, rx.recv()).await.expect("three-way assignment") {
            Some(Event::Assigned(m, p)) => {
                latest.insert(m, p);
            }
            Some(Event::Record(..)) | None => {}
        }
    }
    produce(&b, "events", 300, 300).await;
    while seen.len() < 300 {
        match tokio::time::timeout_at(deadline, rx.recv()).await.expect("phase one records") {
            Some(Event::Record(m, v)) => {
                *seen.entry(v).or_default() += 1;
                *by_member.entry(m).or_default() += 1;
            }
            Some(Event::Assigned(m, p)) => {
                latest.insert(m, p);
            }
            None => panic!("channel closed"),
        }
    }
    assert_eq!(by_member.len(), 3, "every member consumed: {by_member:?}");

    // Phase 2: c3 leaves; c1 and c2 split its partitions.
    members[2].0.store(true, Ordering::SeqCst);
    latest.remove("c3");
    produce_from(&b, "events", 300, 300, 300).await;
    while seen.len() < 600 || latest.values().map(Vec::len).sum::<usize>() != 6 {
        let ev = tokio::time::timeout_at(deadline, rx.recv()).await;
        let ev = ev.unwrap_or_else(|_| panic!("phase two: {} records, assignments {latest:?}", seen.len()));
        match ev {
            Some(Event::Record(_, v)) => *seen.entry(v).or_default() += 1,
            Some(Event::Assigned(m, p)) if m != "c3" => {
                latest.insert(m, p);
            }
            _ => {}
        }
    }
    assert_eq!(seen.len(), 600, "no record lost");
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.len() <= 6 * 50, "duplicates only from uncommitted tails: {}", dups.len());
    let mut owned: Vec<TopicPartition> = latest.values().flatten().cloned().collect();
    owned.sort();
    assert_eq!(owned, (0..6).map(|p| TopicPartition::new("events", p)).collect::<Vec<_>>());

    let admin = Admin::new(b.clone());
    let desc = admin.describe_group("g");
    assert_eq!(desc.state, "Stable");
    assert_eq!(desc.members.len(), 2);
    assert_eq!(desc.protocol, "range");
    for (stop, task) in members {
        stop.store(true, Ordering::SeqCst);
        task.await.unwrap();
    }
    // Both members committed everything before leaving: lag is zero everywhere.
    wait_until_async("group empty", Duration::from_secs(5), || {
        let admin = admin.clone();
        async move { admin.describe_group("g").state == "Empty" }
    })
    .await;
    let lag = admin.group_lag("g").unwrap();
    assert_eq!(lag.partitions.len(), 6);
    assert!(lag.partitions.iter().all(|p| p.lag == Some(0)), "{lag:?}");
    assert_eq!(admin.delete_groups(&["g"]).into_iter().filter(Result::is_ok).count(), 1);
    assert!(admin.list_groups().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_consumer_resumes_from_the_committed_offset() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    b.create_topic("t", 1, BTreeMap::new()).unwrap();
    produce(&b, "t", 100, 100).await;
    let mut c = Consumer::new(b.clone(), consumer_config("resume"));
    c.subscribe(&["t"], None).unwrap();
    let first = crate::support::poll_n(&mut c, 40, Duration::from_secs(10)).await;
    let upto = first[39].offset + 1;
    c.commit_offsets(&BTreeMap::from([(TopicPartition::new("t", 0), upto)])).unwrap();
    c.close().await;
    let mut c2 = Consumer::new(b.clone(), consumer_config("resume"));
    c2.subscribe(&["t"], None).unwrap();
    let rest = crate::support::poll_n(&mut c2, 100 - upto as usize, Duration::from_secs(10)).await;
    assert_eq!(rest.first().unwrap().offset, upto);
    assert_eq!(rest.last().unwrap().offset, 99);
    // Wakeup interrupts a waiting poll.
    let h = c2.wakeup_handle();
    h.wakeup();
    assert!(matches!(c2.poll(Duration::from_secs(5)).await, Err(brook_broker::Error::Wakeup)));
    // Pause keeps records back; resume delivers them.
    produce(&b, "t", 5, 5).await;
    let tp = TopicPartition::new("t", 0);
    c2.pause(&[tp.clone()]);
    assert!(c2.poll(Duration::from_millis(200)).await.unwrap().is_empty());
    c2.resume(&[tp.clone()]);
    let more = crate::support::poll_n(&mut c2, 5, Duration::from_secs(5)).await;
    assert_eq!(more.len(), 5);
    c2.seek(&tp, 10);
    assert_eq!(c2.poll(Duration::from_secs(1)).await.unwrap()[0].offset, 10);
}

/// Commits the consumed positions from inside the revocation callback, as a Java listener
/// does through the consumer it captured.
struct CommitOnRevoke {
    handle: brook_broker::client::CommitHandle,
    consumed: Arc<std::sync::Mutex<BTreeMap<TopicPartition, i64>>>,
    results: Arc<std::sync::Mutex<Vec<CommitResult>>>,
}

/// The generation a commit was made with, and its outcome.
type CommitResult = (i32, Result<(), String>);

impl RebalanceListener for CommitOnRevoke {
    fn on_partitions_revoked(&mut self, revoked: &[TopicPartition]) {
        let offsets: BTreeMap<TopicPartition, i64> =
            self.consumed.lock().unwrap().iter().filter(|(tp, _)| revoked.contains(tp)).map(|(tp, o)| (tp.clone(), *o)).collect();
        let generation = self.handle.group_metadata().generation_id;
        let r = self.handle.commit_offsets(&offsets).map_err(|e| e.to_string());
        self.results.lock().unwrap().push((generation, r));
    }
    fn on_partitions_assigned(&mut self, _: &[TopicPartition]) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_commit_inside_the_revocation_callback_so_the_next_owner_starts_there() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    b.create_topic("events", 2, BTreeMap::new()).unwrap();
    produce(&b, "events", 40, 8).await;
    let consumed = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let results = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut c1 = Consumer::new(b.clone(), consumer_config("revoke"));
    let listener = CommitOnRevoke { handle: c1.commit_handle(), consumed: consumed.clone(), results: results.clone() };
    c1.subscribe(&["events"], Some(Box::new(listener))).unwrap();
    let mut seen = 0;
    while seen < 40 {
        for r in c1.poll(Duration::from_millis(100)).await.unwrap() {
            consumed.lock().unwrap().insert(r.topic_partition(), r.offset + 1);
            seen += 1;
        }
    }
    assert_eq!(c1.assignment().len(), 2);
    let first_generation = c1.group_metadata().generation_id;
    assert!(first_generation >= 1);
    // Nothing was committed by polling.
    let admin = Admin::new(b.clone());
    assert!(admin.list_group_offsets("revoke").unwrap().is_empty());

    // A second member joins; c1's next poll revokes, commits inside the callback, and rejoins.
    let mut c2 = Consumer::new(b.clone(), consumer_config("revoke"));
    c2.subscribe(&["events"], None).unwrap();
    let second = tokio::spawn(async move {
        let mut got = Vec::new();
        while c2.assignment().is_empty() {
            got.extend(c2.poll(Duration::from_millis(50)).await.unwrap());
        }
        // Whatever is left for c2 to read from its committed offset: nothing.
        got.extend(c2.poll(Duration::from_millis(300)).await.unwrap());
        (c2, got)
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while results.lock().unwrap().is_empty() || c1.assignment().len() != 1 {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for c1 to revoke and rejoin");
        c1.poll(Duration::from_millis(50)).await.unwrap();
    }
    let (c2, got) = second.await.unwrap();
    let results = results.lock().unwrap().clone();
    assert_eq!(results, vec![(first_generation, Ok(()))], "committed with the generation it had");
    let committed = admin.list_group_offsets("revoke").unwrap();
    assert_eq!(committed, consumed.lock().unwrap().clone());
    assert!(got.is_empty(), "the new owner re-read {} records", got.len());
    c2.close().await;
    c1.close().await;
}

/// Two members of one group driven in turn by one task, never waiting: with
/// `set_nonblocking` their joins run as tasks, so the second member's join (which makes the
/// first rejoin) does not wait for a poll of the first that cannot come. Each ends up with half
/// the partitions, every record is read once, and the `ready` callbacks fire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonblocking_members_driven_by_one_task_join_without_waiting_for_each_other() {
    use std::sync::atomic::AtomicUsize;
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    b.create_topic("events", 4, BTreeMap::new()).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let readies: Vec<Arc<AtomicUsize>> = (0..2).map(|_| Arc::default()).collect();
    let mut members: Vec<Consumer> = ["n1", "n2"]
        .iter()
        .zip(&readies)
        .map(|(name, ready)| {
            let mut c = Consumer::new(b.clone(), consumer_config("nb"));
            let r = ready.clone();
            c.set_nonblocking(tokio::runtime::Handle::current(), Arc::new(move || {
                r.fetch_add(1, Ordering::SeqCst);
            }));
            c.subscribe(&["events"], Some(Box::new(Listener((*name).into(), tx.clone())))).unwrap();
            c
        })
        .collect();
    let mut latest: HashMap<String, Vec<TopicPartition>> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut produced = false;
    while seen.len() < 200 {
        assert!(tokio::time::Instant::now() < deadline, "assignments {latest:?}, {} records", seen.len());
        for c in &mut members {
            let started = std::time::Instant::now();
            for r in c.poll(Duration::ZERO).await.expect("poll") {
                *seen.entry(value_str(&r)).or_default() += 1;
            }
            // A poll never waits for the group.
            assert!(started.elapsed() < Duration::from_secs(2), "a nonblocking poll waited {:?}", started.elapsed());
        }
        while let Ok(e) = rx.try_recv() {
            if let Event::Assigned(m, p) = e {
                latest.insert(m, p);
            }
        }
        if !produced && latest.len() == 2 && latest.values().all(|p| p.len() == 2) {
            produce(&b, "events", 200, 200).await;
            produced = true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(seen.values().all(|n| *n == 1), "a record read twice");
    assert!(readies.iter().all(|r| r.load(Ordering::SeqCst) > 0), "a ready callback never fired");
    for c in members {
        c.close().await;
    }
}

/// A nonblocking consumer (a unit of the stream-thread pool) is woken by appends to the topics
/// it reads, not by appends to any other topic of the broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonblocking_consumer_is_woken_only_by_appends_to_its_topics() {
    use std::sync::atomic::AtomicUsize;
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    b.create_topic("mine", 1, BTreeMap::new()).unwrap();
    b.create_topic("other", 2, BTreeMap::new()).unwrap();
    let ready = Arc::new(AtomicUsize::new(0));
    let mut c = Consumer::new(b.clone(), consumer_config("watch"));
    let r = ready.clone();
    c.set_nonblocking(tokio::runtime::Handle::current(), Arc::new(move || {
        r.fetch_add(1, Ordering::SeqCst);
    }));
    c.assign(&[TopicPartition::new("mine", 0)]);
    produce(&b, "mine", 1, 1).await;
    let woken = || ready.load(Ordering::SeqCst);
    wait_until_async("woken by its topic", Duration::from_secs(5), || async { woken() > 0 }).await;
    // Let the watcher settle on this append before counting.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = woken();
    produce(&b, "other", 100, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(woken(), before, "appends to another topic woke the consumer");
    produce_from(&b, "mine", 1, 1, 1).await;
    wait_until_async("woken again by its topic", Duration::from_secs(5), || async { woken() > before }).await;
    let records = c.poll(Duration::ZERO).await.unwrap();
    assert_eq!(records.len(), 2, "both records of its topic are read");
    c.close().await;
}
