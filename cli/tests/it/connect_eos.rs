//! Exactly-once source (KIP-618) across `brook connect distributed` processes: three workers
//! with `exactly.once.source.support=enabled` against one `brook server` run a FileStreamSource
//! (`exactly.once.support=required`, small batches: many transactions) while lines keep being
//! appended; the worker running the source task is SIGKILLed mid-stream. The task moves to
//! another worker, whose transactional producer fences the dead one's (aborting the
//! transaction it left open) before it reads the committed offsets: a `read_committed`
//! consumer sees every line exactly once, none lost, none twice.

use std::collections::BTreeMap;
use std::process::Child;
use std::time::Duration;

use crate::connect::{free_port, sigterm, spawn_server};
use crate::connect_distributed::{append_lines, create_over_rest, running_on, spawn_worker, wait, worker_props};
use crate::sql_kafka::read_committed;

/// How often each value is in `topic`, read committed.
fn committed_counts(addr: &str, topic: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in read_committed(addr, topic) {
        *m.entry(r.value).or_insert(0) += 1;
    }
    m
}

#[test]
fn a_sigkilled_workers_exactly_once_source_task_moves_and_every_line_is_read_committed_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = spawn_server(&d.join("data"), &addr);
    let input = d.join("in.txt");
    const TOTAL: u32 = 3000;
    append_lines(&input, 0..100);
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let props: Vec<_> = ports
        .iter()
        .map(|p| {
            let path = worker_props(d, &addr, *p);
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, format!("{text}exactly.once.source.support=enabled\n")).unwrap();
            path
        })
        .collect();
    let mut workers: Vec<Option<Child>> = props.iter().enumerate().map(|(i, p)| Some(spawn_worker(p, &d.join(format!("w{i}.log"))))).collect();
    create_over_rest(
        ports[0],
        "src",
        &[
            ("connector.class", "FileStreamSource".into()),
            ("tasks.max", "1".into()),
            ("file", input.display().to_string()),
            ("topic", "lines".into()),
            ("batch.size", "7".into()),
            ("exactly.once.support", "required".into()),
            ("transaction.boundary", "poll".into()),
        ],
    );
    // Lines keep coming while the worker is killed.
    let writer = {
        let input = input.clone();
        std::thread::spawn(move || {
            for start in (100..TOTAL).step_by(20) {
                append_lines(&input, start..(start + 20).min(TOTAL));
                std::thread::sleep(Duration::from_millis(15));
            }
        })
    };
    let mut owner = None;
    wait("the source task RUNNING", Duration::from_secs(60), || {
        owner = running_on(&addr, "status-task-src-0");
        owner.is_some()
    }, d);
    let owner = owner.unwrap();
    wait("some lines committed", Duration::from_secs(60), || committed_counts(&addr, "lines").len() >= 200, d);
    let victim = ports.iter().position(|p| owner.ends_with(&format!(":{p}"))).expect("the owner is one of the workers");
    let mut killed = workers[victim].take().unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    let at_kill = committed_counts(&addr, "lines").len();
    wait("the source task RUNNING on another worker", Duration::from_secs(60), || running_on(&addr, "status-task-src-0").is_some_and(|w| w != owner), d);
    writer.join().unwrap();
    wait("every line committed", Duration::from_secs(120), || committed_counts(&addr, "lines").len() >= TOTAL as usize, d);
    let counts = committed_counts(&addr, "lines");
    let expected: BTreeMap<String, usize> = (0..TOTAL).map(|i| (format!("line-{i}"), 1)).collect();
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "read committed more than once: {twice:?}");
    assert_eq!(counts, expected, "every line exactly once");
    assert!(at_kill < TOTAL as usize, "the kill was mid-stream ({at_kill} of {TOTAL} committed by then)");
    // The offsets live in the offset topic, written in the same transactions.
    assert!(read_committed(&addr, "connect-offsets").iter().any(|r| r.key.starts_with(br#"["src",{"filename":"#)));
    for w in workers.iter_mut().filter_map(Option::take).collect::<Vec<_>>().iter_mut() {
        sigterm(w);
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
