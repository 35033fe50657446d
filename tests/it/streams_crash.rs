//! The `count_by_key` example (rdkafka client seam) against an in-process `brook server`,
//! SIGKILLed at 20 random moments while input is produced and restarted each time: under
//! exactly_once_v2 every key's committed counts are exactly 1, 2, ..., n; under at_least_once
//! the final counts are at least exact.
//!
//! The example binary is `$BROOK_COUNT_BY_KEY` when set, else it is built with
//! `cargo build -p brook-examples --example count_by_key` into this test's target directory.
//! `BROOK_CRASH_KEEP_LOGS=1` keeps the runs' logs (they are kept anyway when a run fails).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use brook_broker::client::{self as bc, Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord};
use brook_broker::{Broker, IsolationLevel, OffsetSpec};

use crate::util::TestServer;

const KEYS: usize = 20;
const KILLS: usize = 20;

fn example_binary() -> PathBuf {
    if let Ok(p) = std::env::var("BROOK_COUNT_BY_KEY") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/it-<hash> -> target/<profile>
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "-p", "brook-examples", "--example", "count_by_key"]);
    if release {
        cmd.arg("--release");
    }
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        cmd.env("CARGO_TARGET_DIR", profile_dir.parent().unwrap());
    }
    let status = cmd.status().expect("running cargo build");
    assert!(status.success(), "building the count_by_key example failed");
    profile_dir.join("examples").join("count_by_key")
}

/// xorshift64*: random kill moments without a dependency.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
        eprintln!("streams_crash seed {seed}");
        Rng(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

struct App {
    bin: PathBuf,
    addr: String,
    app_id: String,
    guarantee: &'static str,
    state_dir: PathBuf,
    log_dir: PathBuf,
    runs: usize,
}

impl App {
    fn spawn(&mut self) -> Child {
        self.runs += 1;
        let log = std::fs::File::create(self.log_dir.join(format!("run-{}.log", self.runs))).unwrap();
        Command::new(&self.bin)
            .args([
                "--bootstrap-server",
                &self.addr,
                "--application-id",
                &self.app_id,
                "--input",
                "input",
                "--output",
                "output",
            ])
            .args(["--guarantee", self.guarantee, "--state-dir"])
            .arg(&self.state_dir)
            .args(["--group-instance-id", &format!("{}-instance", self.app_id)])
            .env("RUST_LOG", "warn,brook_processor_api=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting count_by_key")
    }
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("count_by_key did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every committed (or every) record of `output`, per partition in offset order.
async fn read_output(broker: &Broker, read_committed: bool) -> Vec<(String, u64)> {
    let iso = if read_committed { IsolationLevel::ReadCommitted } else { IsolationLevel::ReadUncommitted };
    let mut out = Vec::new();
    for p in 0..broker.partition_count("output", false).unwrap() {
        let end = broker.list_offset("output", p, OffsetSpec::Latest, iso).unwrap().0;
        let mut c = Consumer::new(
            broker.clone(),
            ConsumerConfig { isolation_level: iso, enable_auto_commit: false, ..Default::default() },
        );
        let tp = bc::TopicPartition::new("output", p);
        c.assign(std::slice::from_ref(&tp));
        c.seek(&tp, 0);
        while c.position(&tp).await.unwrap() < end {
            for r in c.poll(Duration::from_millis(100)).await.unwrap() {
                if r.offset < end {
                    let k = String::from_utf8(r.key.unwrap().to_vec()).unwrap();
                    let v = std::str::from_utf8(&r.value.unwrap()).unwrap().parse().unwrap();
                    out.push((k, v));
                }
            }
        }
    }
    out
}

async fn run(guarantee: &'static str, records_per_key: usize) {
    let server = TestServer::start().await;
    let broker = server.broker.clone();
    broker.create_topic("input", 3, Default::default()).unwrap();
    broker.create_topic("output", 3, Default::default()).unwrap();
    let bin = tokio::task::spawn_blocking(example_binary).await.unwrap();
    assert!(bin.exists(), "{} is missing", bin.display());
    let dir = tempfile::tempdir().unwrap();
    let app_id = format!("crash-{}", guarantee.replace('_', "-"));
    let mut app = App {
        bin,
        addr: server.addr.clone(),
        app_id,
        guarantee,
        state_dir: dir.path().join("state"),
        log_dir: dir.path().to_owned(),
        runs: 0,
    };

    // Input is produced in the background, in slices, while the app is killed and restarted.
    let total = KEYS * records_per_key;
    let b = broker.clone();
    let producer = tokio::spawn(async move {
        let p = Producer::new(b, ProducerConfig::default()).unwrap();
        let mut sent = 0;
        while sent < total {
            let mut futs = Vec::new();
            for _ in 0..(total / 100).max(1) {
                if sent == total {
                    break;
                }
                let key = format!("key-{}", sent % KEYS);
                futs.push(p.send(ProducerRecord::new("input", Some(key), Some(format!("v{sent}")))));
                sent += 1;
            }
            p.flush();
            for f in futs {
                f.await.unwrap();
            }
            // Pacing, not synchronisation: spread the input over the kill phase.
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    });

    let mut rng = Rng::new();
    for _ in 0..KILLS {
        let mut child = app.spawn();
        let after = Duration::from_millis(300 + rng.below(1500));
        tokio::time::sleep(after).await;
        if let Some(status) = child.try_wait().unwrap() {
            panic!("count_by_key exited early with {status}; see {}", app.log_dir.display());
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    producer.await.unwrap();
    // The kill phase did real work: committed output exists, and (under exactly-once) aborted
    // output of killed runs too.
    let committed = read_output(&broker, true).await.len();
    let written = read_output(&broker, false).await.len();
    eprintln!("{guarantee}: after {KILLS} kills {committed} committed and {written} written output records");
    assert!(committed > 0, "no progress while being killed; logs in {}", keep(dir.path()));

    // A last run that is allowed to finish.
    let mut child = app.spawn();
    let expected: BTreeMap<String, u64> = (0..KEYS).map(|k| (format!("key-{k}"), records_per_key as u64)).collect();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let last: BTreeMap<String, u64> = read_output(&broker, true).await.into_iter().collect();
        let done = if guarantee == "exactly_once_v2" {
            last == expected
        } else {
            last.len() == KEYS && last.iter().all(|(k, v)| *v >= expected[k])
        };
        if done {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("count_by_key exited with {status}; see {}", app.log_dir.display());
        }
        assert!(Instant::now() < deadline, "counts did not converge: {last:?}; logs in {}", keep(dir.path()));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    terminate(&mut child);

    let outputs = read_output(&broker, true).await;
    let mut per_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (k, v) in outputs {
        per_key.entry(k).or_default().push(v);
    }
    assert_eq!(per_key.len(), KEYS);
    for (k, seq) in &per_key {
        if guarantee == "exactly_once_v2" {
            assert_eq!(*seq, (1..=records_per_key as u64).collect::<Vec<_>>(), "committed counts of {k}");
        } else {
            assert!(*seq.last().unwrap() >= records_per_key as u64, "final count of {k}: {seq:?}");
        }
    }
    if std::env::var_os("BROOK_CRASH_KEEP_LOGS").is_some() {
        eprintln!("logs kept in {}", keep(dir.path()));
    }
    server.stop().await;
}

/// Keeps the temporary directory (logs) of a failed run.
fn keep(dir: &Path) -> String {
    let name = dir.file_name().map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
    let kept = std::env::temp_dir().join(format!("streams-crash-{}-{name}", std::process::id()));
    let _ = Command::new("cp").arg("-r").arg(dir).arg(&kept).status();
    kept.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_by_key_is_exact_under_exactly_once_across_20_sigkills() {
    run("exactly_once_v2", 500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_by_key_loses_nothing_under_at_least_once_across_20_sigkills() {
    run("at_least_once", 500).await;
}
