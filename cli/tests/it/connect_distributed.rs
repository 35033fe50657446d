//! `brook connect distributed` as processes: three workers of one group against one
//! `brook server` run a FileStreamSource -> topic -> FileStreamSink pipeline; one worker is
//! SIGKILLed and its tasks move to the others; then the group is stopped and a restarted worker
//! resumes the source from its offset in the offset topic.
//!
//! Delivery is at-least-once, as Kafka Connect's: a killed worker's source task restarts from
//! the last flushed offset and its sink task from the last committed offset, so lines may
//! arrive twice after the kill; none may be missing. After a clean stop nothing is repeated.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::connect::{free_port, sigterm, spawn_server};
use crate::sql_kafka::read_committed;

pub(crate) fn worker_props(d: &Path, addr: &str, rest: u16) -> std::path::PathBuf {
    let path = d.join(format!("worker-{rest}.properties"));
    std::fs::write(
        &path,
        format!(
            "bootstrap.servers={addr}\ngroup.id=connect-cluster\nconfig.storage.topic=connect-configs\noffset.storage.topic=connect-offsets\n\
             status.storage.topic=connect-status\noffset.storage.partitions=3\nstatus.storage.partitions=2\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n\
             offset.flush.interval.ms=200\nsession.timeout.ms=6000\nheartbeat.interval.ms=500\nrebalance.timeout.ms=20000\n\
             listeners=http://127.0.0.1:{rest}\n"
        ),
    )
    .unwrap();
    path
}

pub(crate) fn spawn_worker(props: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_brook"))
        .env("RUST_LOG", "brook_connect=info")
        .args(["connect", "distributed"])
        .arg(props)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Writes a connector's config record as Connect's REST API would: `connector-<name>` ->
/// `{"properties":{...}}` in the config topic.
fn create_connector(addr: &str, name: &str, props: &[(&str, String)]) {
    let p: BaseProducer = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    let mut config: BTreeMap<&str, String> = props.iter().cloned().collect();
    config.insert("name", name.to_owned());
    let value = serde_json::json!({ "properties": config }).to_string();
    p.send(BaseRecord::to("connect-configs").key(&format!("connector-{name}")).payload(&value)).map_err(|(e, _)| e).unwrap();
    p.flush(Duration::from_secs(30)).unwrap();
}

/// Creates a connector through a worker's REST API (`POST /connectors`), trying again while
/// the group rebalances (409, as Kafka answers then).
pub(crate) fn create_over_rest(port: u16, name: &str, props: &[(&str, String)]) {
    let config: BTreeMap<&str, String> = props.iter().cloned().collect();
    let body = serde_json::json!({ "name": name, "config": config });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match ureq::post(&format!("http://127.0.0.1:{port}/connectors")).send_json(&body) {
            Ok(r) => return assert_eq!(r.status(), 201),
            Err(ureq::Error::Status(409, _)) | Err(ureq::Error::Transport(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("POST /connectors: {e}"),
        }
    }
}

/// The connectors a worker's REST API lists (`GET /connectors`).
fn listed(port: u16) -> Vec<String> {
    let mut names: Vec<String> =
        ureq::get(&format!("http://127.0.0.1:{port}/connectors")).call().ok().and_then(|r| r.into_json().ok()).unwrap_or_default();
    names.sort();
    names
}

/// The last status record of each key of the status topic.
pub(crate) fn statuses(addr: &str) -> BTreeMap<String, serde_json::Value> {
    read_committed(addr, "connect-status")
        .into_iter()
        .filter_map(|r| Some((String::from_utf8(r.key).ok()?, serde_json::from_str(&r.value).ok()?)))
        .fold(BTreeMap::new(), |mut m, (k, v): (String, serde_json::Value)| {
            let newer = m.get(&k).is_none_or(|old: &serde_json::Value| v["generation"].as_i64() >= old["generation"].as_i64());
            if newer {
                m.insert(k, v);
            }
            m
        })
}

/// The worker running a task now, once it is RUNNING.
pub(crate) fn running_on(addr: &str, key: &str) -> Option<String> {
    let s = statuses(addr);
    let v = s.get(key)?;
    (v["state"] == "RUNNING").then(|| v["worker_id"].as_str().unwrap_or_default().to_owned())
}

pub(crate) fn append_lines(path: &Path, range: std::ops::Range<u32>) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    for i in range {
        writeln!(f, "line-{i}").unwrap();
    }
}

/// How often each line is in the sink file.
fn counts(path: &Path) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in std::fs::read_to_string(path).unwrap_or_default().lines() {
        *m.entry(l.to_owned()).or_insert(0) += 1;
    }
    m
}

pub(crate) fn wait(what: &str, timeout: Duration, mut f: impl FnMut() -> bool, logs: &Path) {
    let deadline = Instant::now() + timeout;
    while !f() {
        if Instant::now() > deadline {
            let mut text = String::new();
            for e in std::fs::read_dir(logs).unwrap().flatten() {
                if e.path().extension().is_some_and(|x| x == "log") {
                    text.push_str(&format!("--- {}\n{}\n", e.path().display(), std::fs::read_to_string(e.path()).unwrap_or_default()));
                }
            }
            panic!("timed out waiting for {what}\n{text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn all_present(path: &Path, range: std::ops::Range<u32>) -> bool {
    let c = counts(path);
    range.clone().all(|i| c.contains_key(&format!("line-{i}")))
}

#[test]
fn three_workers_move_a_killed_workers_tasks_and_lose_no_line_then_resume_from_stored_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = spawn_server(&d.join("data"), &addr);
    let (input, output) = (d.join("in.txt"), d.join("out.txt"));
    append_lines(&input, 0..200);
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let props: Vec<_> = ports.iter().map(|p| worker_props(d, &addr, *p)).collect();
    let mut workers: Vec<Option<Child>> = props.iter().enumerate().map(|(i, p)| Some(spawn_worker(p, &d.join(format!("w{i}.log"))))).collect();
    create_connector(&addr, "src", &[("connector.class", "FileStreamSource".into()), ("tasks.max", "1".into()), ("file", input.display().to_string()), ("topic", "lines".into())]);
    create_over_rest(ports[0], "snk", &[("connector.class", "FileStreamSink".into()), ("tasks.max", "1".into()), ("file", output.display().to_string()), ("topics", "lines".into())]);
    // Every worker's REST API sees both, whichever way they were created.
    wait("both connectors listed by another worker", Duration::from_secs(60), || listed(ports[2]) == ["snk", "src"], d);
    wait("the first 200 lines in the sink", Duration::from_secs(90), || all_present(&output, 0..200), d);
    // Both tasks run, each on some worker of the three.
    let mut owner = None;
    wait("the source task RUNNING", Duration::from_secs(30), || {
        owner = running_on(&addr, "status-task-src-0");
        owner.is_some()
    }, d);
    let owner = owner.unwrap();
    let victim = ports.iter().position(|p| owner.ends_with(&format!(":{p}"))).expect("the owner is one of the workers");
    // SIGKILL the worker running the source: no clean stop, no LeaveGroup.
    let mut killed = workers[victim].take().unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    append_lines(&input, 200..400);
    // Within the session timeout (6 s) plus a rebalance, the source task runs elsewhere.
    let mut moved = None;
    wait("the source task RUNNING on another worker", Duration::from_secs(60), || {
        moved = running_on(&addr, "status-task-src-0").filter(|w| *w != owner);
        moved.is_some()
    }, d);
    wait("every line in the sink after the kill", Duration::from_secs(60), || all_present(&output, 0..400), d);
    // At-least-once: every line is there; duplicates are possible only for lines sent around
    // the kill.
    let c = counts(&output);
    assert!((0..400).all(|i| c.contains_key(&format!("line-{i}"))));
    assert!(c.keys().all(|l| l.starts_with("line-")), "{c:?}");
    // A clean stop of the group, then one worker alone: the source resumes from its stored
    // offset and the sink from its group's committed offset, so only new lines arrive, once.
    for w in workers.iter_mut().filter_map(Option::take).collect::<Vec<_>>().iter_mut() {
        sigterm(w);
    }
    let before = counts(&output);
    let mut alone = spawn_worker(&props[0], &d.join("restart.log"));
    append_lines(&input, 400..450);
    wait("the new lines after the restart", Duration::from_secs(90), || all_present(&output, 400..450), d);
    std::thread::sleep(Duration::from_millis(500));
    let after = counts(&output);
    for i in 400..450 {
        assert_eq!(after[&format!("line-{i}")], 1, "line-{i} once");
    }
    for (line, n) in &before {
        assert_eq!(after[line], *n, "{line} was not delivered again after a clean stop");
    }
    assert!(read_committed(&addr, "connect-offsets").iter().any(|r| r.key.starts_with(br#"["src",{"filename":"#)), "offsets keyed [\"src\",{{partition}}]");
    sigterm(&mut alone);
    server.kill().unwrap();
    server.wait().unwrap();
}
