//! What compaction reports ([`CompactionStats`]) and what it remembers between passes
//! ([`CleanerState`], a field of every `Log`); the passes themselves are `cleaner.rs`.

/// What a compaction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CompactionStats {
    /// Segments rewritten (each segment merged into another counts).
    pub segments_cleaned: usize,
    /// Records dropped.
    pub records_removed: usize,
    /// Batches dropped whole.
    pub batches_removed: usize,
    /// Size of the rewritten segments before the pass.
    pub bytes_before: u64,
    /// Size of the rewritten segments after the pass.
    pub bytes_after: u64,
    /// Rounds of mapping and cleaning: more than one when the offset map
    /// (`log.cleaner.dedupe.buffer.size`) could not hold every key of the dirty section at once.
    pub passes: usize,
}

/// What compaction remembers between passes.
#[derive(Debug, Default)]
pub(crate) struct CleanerState {
    /// Segments with a base offset at or past this have not been cleaned yet.
    pub(super) first_dirty: i64,
    /// When the earliest tombstone kept by the last pass may be dropped.
    pub(super) tombstone_expiry: Option<i64>,
}
