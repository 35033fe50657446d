//! Helpers for tests, behind the `test-support` feature (enable it in `[dev-dependencies]`):
//! waiting on a condition with a timeout instead of sleeping, and a Python venv for the tests
//! that drive real Python clients.
//!
//! # Examples
//! ```
//! use std::time::Duration;
//! let mut polls = 0;
//! brook_common::test_support::wait_until("the third poll", Duration::from_secs(5), || {
//!     polls += 1;
//!     polls == 3
//! });
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

/// How long to wait between two checks of a condition.
const POLL: Duration = Duration::from_millis(20);

/// Blocks until `cond` holds, checking every 20 ms.
///
/// # Panics
/// When `cond` still does not hold after `timeout`, with "timed out waiting for {what}".
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// [`wait_until`] for async conditions, sleeping on the tokio timer between checks.
///
/// # Panics
/// When `cond` still does not hold after `timeout`, with "timed out waiting for {what}".
///
/// # Cancel safety
/// Cancel safe: dropping the future only stops the waiting.
pub async fn wait_until_async<F, Fut>(what: &str, timeout: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// A Python venv shared by the workspace's tests (`$CARGO_TARGET_DIR/python-venv`) with
/// `packages` (pip requirement specifiers) installed, unless the Python code `check` already
/// runs there; `None` when the venv cannot be made or pip cannot install (offline machine), so
/// the caller can skip with a message.
pub fn python_venv(check: &str, packages: &[&str]) -> Option<std::path::PathBuf> {
    use std::process::Command;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("python-venv");
    let py = dir.join("bin/python");
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    if ok(Command::new(&py).args(["-c", check])) {
        return Some(py);
    }
    if !py.exists() && !ok(Command::new("python3").args(["-m", "venv"]).arg(&dir)) {
        return None;
    }
    if !ok(Command::new(&py).args(["-m", "pip", "install", "-q"]).args(packages)) {
        return None;
    }
    Some(py)
}
