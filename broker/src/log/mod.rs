//! Partition logs: segments, indexes, recovery, retention and compaction.
