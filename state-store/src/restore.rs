//! Restoring a store from its changelog, with progress listeners (Kafka's
//! `StateRestoreListener`).

use std::time::Instant;

use crate::error::Result;
use crate::state::{ChangelogRecord, StateStore};

/// Records per write batch while restoring.
pub const RESTORE_BATCH_RECORDS: usize = 10_000;

/// Progress callbacks of a restore; every method has an empty default.
pub trait StateRestoreListener {
    /// Restoring `store` from `start_offset` up to `end_offset` (exclusive) begins.
    fn on_restore_start(&mut self, _store: &str, _start_offset: i64, _end_offset: i64) {}
    /// A write batch ending at changelog offset `batch_end_offset` with `num_restored` records
    /// was written.
    fn on_batch_restored(&mut self, _store: &str, _batch_end_offset: i64, _num_restored: u64) {}
    /// Restoring `store` finished after `total_restored` records.
    fn on_restore_end(&mut self, _store: &str, _total_restored: u64) {}
}

/// A listener that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopRestoreListener;

impl StateRestoreListener for NoopRestoreListener {}

/// Where to start reading the changelog: right after the offset a transactional store committed
/// with its data, else after the checkpointed offset, else (`None`) from the beginning. A store
/// that was created or wiped on open always restores from the beginning.
#[must_use]
pub fn restore_start_offset<S: StateStore + ?Sized>(store: &S, checkpointed: Option<i64>) -> Option<i64> {
    if store.open_outcome().needs_full_restore() {
        return None;
    }
    store.committed_offset().or(checkpointed).map(|o| o + 1)
}

/// Replays changelog `records` (offsets `start_offset..end_offset`, as read by the caller) into
/// `store`, bypassing its cache and changelog, in write batches of [`RESTORE_BATCH_RECORDS`].
/// Returns the number of records restored.
///
/// # Errors
/// Undecodable changelog keys, I/O or RocksDB errors; records already written stay written.
///
/// # Examples
/// ```
/// use brook_state_store::{restore, ChangelogRecord, NoopRestoreListener, ReadOnlyKeyValueStore, StoreContext, Stores};
/// use bytes::Bytes;
/// let ctx = StoreContext::new("/unused", "app", "0_0", 0);
/// let mut store = Stores::in_memory_key_value_store("s").build(&ctx).unwrap();
/// let records = (0..3).map(|i| ChangelogRecord {
///     key: Bytes::from(format!("k{i}")),
///     value: Some(Bytes::from_static(b"v")),
///     offset: i,
///     timestamp: 0,
/// });
/// let n = restore(&mut *store, 0, 3, records, &mut NoopRestoreListener).unwrap();
/// assert_eq!(n, 3);
/// assert!(store.get(b"k2").unwrap().is_some());
/// ```
pub fn restore<S, I>(
    store: &mut S,
    start_offset: i64,
    end_offset: i64,
    records: I,
    listener: &mut dyn StateRestoreListener,
) -> Result<u64>
where
    S: StateStore + ?Sized,
    I: IntoIterator<Item = ChangelogRecord>,
{
    let name = store.name().to_owned();
    let started = Instant::now();
    listener.on_restore_start(&name, start_offset, end_offset);
    let mut total = 0u64;
    let mut batch = Vec::with_capacity(RESTORE_BATCH_RECORDS);
    let mut write = |store: &mut S, batch: &mut Vec<ChangelogRecord>, listener: &mut dyn StateRestoreListener| -> Result<()> {
        if let Some(last) = batch.last().map(|r| r.offset) {
            store.restore_batch(batch)?;
            total += batch.len() as u64;
            listener.on_batch_restored(&name, last, batch.len() as u64);
            batch.clear();
        }
        Ok(())
    };
    for r in records {
        batch.push(r);
        if batch.len() >= RESTORE_BATCH_RECORDS {
            write(store, &mut batch, listener)?;
        }
    }
    write(store, &mut batch, listener)?;
    let elapsed = started.elapsed();
    tracing::info!(
        store = %name,
        records = total,
        ?elapsed,
        rate = total as f64 / elapsed.as_secs_f64().max(1e-9),
        "restored store from changelog"
    );
    listener.on_restore_end(&name, total);
    Ok(total)
}
