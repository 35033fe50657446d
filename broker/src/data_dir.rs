//! The data directory's housekeeping: partition limits checked before anything touches the disk,
//! the rollback of a failed topic or partition creation, and the start-up sweep of directories
//! no topic owns.
//!
//! Layout (`<log.dirs>/`): `.lock` (see [`crate::dir_lock`]), `meta.properties` (the cluster id,
//! written by the Kafka listener), `brook-topics.json` (the topic catalog) and one
//! `<topic>-<partition>/` directory per partition. A directory named like a partition but absent
//! from the catalog is debris of a creation that crashed half-way (the catalog is written last):
//! at start-up an empty one is removed, one holding records is renamed `<dir>.<id>-stray` (as
//! Kafka does with stray logs) and kept for the operator, each with a log line. Directories not
//! named like partitions are not the broker's and are left alone.

use std::ops::Range;
use std::path::Path;

use crate::config::BrokerConfig;
use crate::error::{Error, ErrorCode, Result};
use crate::topic::{self, TopicMeta};

/// Suffix of a deleted partition's directory, removed at the next start.
pub(crate) const DELETE_SUFFIX: &str = "-delete";
/// Suffix of a quarantined directory that held records but belonged to no topic.
pub(crate) const STRAY_SUFFIX: &str = "-stray";

/// Refuses a topic of `topic_total` partitions (`added` of them new) before anything is created:
/// `max.partitions.per.topic` answers INVALID_PARTITIONS, `max.broker.partitions` (counting the
/// `broker_total` partitions that exist) POLICY_VIOLATION.
///
/// # Errors
/// As above.
pub(crate) fn check_partition_limits(
    config: &BrokerConfig,
    broker_total: usize,
    topic_total: i32,
    added: i32,
) -> Result<()> {
    if topic_total > config.max_partitions_per_topic {
        return Err(Error::InvalidPartitions(format!(
            "{topic_total} partitions exceed the limit of {} per topic (max.partitions.per.topic)",
            config.max_partitions_per_topic
        )));
    }
    let after = broker_total.saturating_add(usize::try_from(added).unwrap_or(0));
    if after > config.max_broker_partitions {
        return Err(Error::kafka(
            ErrorCode::PolicyViolation,
            format!(
                "adding {added} partitions would make {after}, above the broker's limit of {} (max.broker.partitions)",
                config.max_broker_partitions
            ),
        ));
    }
    Ok(())
}

/// Removes the directories of partitions `range` of `topic` after a failed creation. Errors are
/// logged: the start-up sweep removes whatever is left.
pub(crate) fn remove_partitions(root: &Path, topic: &str, range: Range<i32>) {
    let n = range.len();
    for p in range {
        let dir = topic::partition_dir(root, topic, p);
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove a partition of a failed creation");
            }
        }
    }
    tracing::info!(topic, partitions = n, "rolled back a failed partition creation");
}

/// Start-up sweep: removes deleted partitions' directories, and removes (when empty) or
/// quarantines (when holding records) partition directories the catalog does not list.
pub(crate) fn sweep(root: &Path, topics: &[TopicMeta]) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    let counts: std::collections::HashMap<&str, i32> = topics.iter().map(|m| (m.name.as_str(), m.partitions)).collect();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if !e.file_type().is_ok_and(|t| t.is_dir()) || name.ends_with(STRAY_SUFFIX) {
            continue;
        }
        if name.ends_with(DELETE_SUFFIX) {
            let _ = std::fs::remove_dir_all(&path);
            continue;
        }
        // Only directories named like partitions are the broker's: others (the SQL engine's
        // state under `brook server`'s data directory) are left alone.
        let Some((t, p)) = parse_partition_dir(&name) else { continue };
        if counts.get(t).is_some_and(|n| p < *n) {
            continue;
        }
        if holds_records(&path) {
            let aside = path.with_file_name(format!("{name}.{:016x}{STRAY_SUFFIX}", rand::random::<u64>()));
            match std::fs::rename(&path, &aside) {
                Ok(()) => tracing::warn!(
                    dir = %path.display(), moved_to = %aside.display(),
                    "directory holds records but belongs to no topic; quarantined (remove it once inspected)"
                ),
                Err(e) => tracing::warn!(dir = %path.display(), error = %e, "could not quarantine a stray directory"),
            }
        } else {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => tracing::info!(dir = %path.display(), "removed an empty directory that belongs to no topic"),
                Err(e) => tracing::warn!(dir = %path.display(), error = %e, "could not remove a stray directory"),
            }
        }
    }
}

/// `<topic>-<partition>`: the topic and the partition, split at the last `-`.
fn parse_partition_dir(name: &str) -> Option<(&str, i32)> {
    let (t, p) = name.rsplit_once('-')?;
    let p: i32 = p.parse().ok()?;
    (p >= 0 && p.to_string() == name[t.len() + 1..] && topic::validate_name(t).is_ok()).then_some((t, p))
}

/// Whether a directory holds anything but empty files (a segment with records, a checkpoint,
/// a subdirectory). Unreadable counts as holding records: never delete what cannot be seen.
fn holds_records(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return true };
    entries
        .map(|e| e.and_then(|e| e.metadata()))
        .any(|m| m.map_or(true, |m| !m.is_file() || m.len() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_dir_names_parse_at_the_last_dash() {
        assert_eq!(parse_partition_dir("orders-3"), Some(("orders", 3)));
        assert_eq!(parse_partition_dir("a-1-0"), Some(("a-1", 0)));
        for bad in ["orders", "orders-x", "orders-01", "-1", "t-0.abc-stray"] {
            assert_eq!(parse_partition_dir(bad), None, "{bad}");
        }
    }
}
