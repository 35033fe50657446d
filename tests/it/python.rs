//! confluent-kafka (Python, a newer bundled librdkafka) in a throwaway venv, driven from Rust.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::TestServer;

/// A venv with confluent-kafka, created once under the target directory; `None` when pip cannot
/// install it (offline machine).
fn venv() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("python-venv");
    let py = dir.join("bin/python");
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    if ok(Command::new(&py).args(["-c", "import confluent_kafka"])) {
        return Some(py);
    }
    if !ok(Command::new("python3").args(["-m", "venv"]).arg(&dir)) {
        return None;
    }
    if !ok(Command::new(&py).args(["-m", "pip", "install", "-q", "confluent-kafka"])) {
        return None;
    }
    Some(py)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_python_client() {
    let Some(py) = tokio::task::spawn_blocking(venv).await.unwrap() else {
        eprintln!("SKIPPED: could not create a venv with confluent-kafka (pip install failed)");
        return;
    };
    let srv = TestServer::start().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/client_test.py");
    let addr = srv.addr.clone();
    let out = tokio::task::spawn_blocking(move || Command::new(py).arg(script).arg(addr).output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "python client failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ALL OK"), "{stdout}");
    srv.stop().await;
}
