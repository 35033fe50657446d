//! Helpers for tests, behind the `test-support` feature (enable it in `[dev-dependencies]`):
//! waiting on a condition with a timeout instead of sleeping.
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
