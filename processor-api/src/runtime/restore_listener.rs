//! [`StateRestoreListener`]: progress of active tasks' store restores (Kafka's
//! `StateRestoreListener`, set with
//! [`KafkaStreams::set_global_state_restore_listener`](super::KafkaStreams::set_global_state_restore_listener)).

use crate::engine::TopicPartition;

/// Told about every restore of an active task's store from its changelog partition, on the
/// stream thread doing it. Offsets are changelog offsets; every method has an empty default.
/// Standby tasks' changelog reads are not restores and are not reported.
pub trait StateRestoreListener: Send + Sync {
    /// Restoring `store` from `changelog` begins at `start_offset`, up to `end_offset`
    /// (exclusive).
    fn on_restore_start(&self, _changelog: &TopicPartition, _store: &str, _start_offset: i64, _end_offset: i64) {}
    /// A batch of `num_restored` records ending at `batch_end_offset` was restored.
    fn on_batch_restored(&self, _changelog: &TopicPartition, _store: &str, _batch_end_offset: i64, _num_restored: u64) {
    }
    /// Restoring `store` from `changelog` ended after `total_restored` records.
    fn on_restore_end(&self, _changelog: &TopicPartition, _store: &str, _total_restored: u64) {}
}

/// The store name in a changelog topic name (`<application.id>-<store>-changelog`), else the
/// topic name.
pub(crate) fn store_of_changelog<'a>(application_id: &str, topic: &'a str) -> &'a str {
    brook_common::topics::store_of_changelog(application_id, topic).unwrap_or(topic)
}
