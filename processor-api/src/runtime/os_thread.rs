//! Helpers for the runtime's OS threads: joining with a deadline, reading a panic's message.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Joins an OS thread, waiting at most until `deadline`; `true` when it finished.
pub(crate) fn join_thread_until(handle: &mut Option<JoinHandle<()>>, deadline: Instant) -> bool {
    let Some(h) = handle.take() else { return true };
    while !h.is_finished() {
        if Instant::now() >= deadline {
            *handle = Some(h);
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = h.join();
    true
}

/// The text of a caught panic.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}
