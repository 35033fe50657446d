//! Where restoring a store from its changelog starts. The runtime (processor-api) reads the
//! changelog and writes it with [`StateStore::restore_batch`], reporting progress to its
//! `StateRestoreListener`.

use crate::state::StateStore;

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
