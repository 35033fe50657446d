//! [`ConsumerConfig`]: the consumer's settings, with the Java client's keys and defaults.

use std::sync::Arc;
use std::time::Duration;

use brook_common::OffsetReset;

use crate::client::assignor::{PartitionAssignor, RangeAssignor};
use crate::client::parse_ms;
use crate::error::{Error, Result};
use crate::partition::IsolationLevel;

/// Consumer settings, with the Java client's names and defaults.
#[derive(Clone)]
pub struct ConsumerConfig {
    /// `group.id`; required for `subscribe` and commits.
    pub group_id: Option<String>,
    /// `group.instance.id` (static membership).
    pub group_instance_id: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// `auto.offset.reset`. Default: latest.
    pub auto_offset_reset: OffsetReset,
    /// `enable.auto.commit`. Default: true.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`. Default: 5 s.
    pub auto_commit_interval: Duration,
    /// `max.poll.records`. Default: 500.
    pub max_poll_records: usize,
    /// `isolation.level`. Default: read_uncommitted.
    pub isolation_level: IsolationLevel,
    /// `session.timeout.ms`. Default: 45 s.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`. Default: 3 s.
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms`, also the rebalance timeout. Default: 5 minutes.
    pub max_poll_interval: Duration,
    /// `max.partition.fetch.bytes`. Default: 1 MiB.
    pub max_partition_fetch_bytes: usize,
    /// `partition.assignment.strategy`, in order of preference. Default: range.
    pub assignors: Vec<Arc<dyn PartitionAssignor>>,
}

impl std::fmt::Debug for ConsumerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerConfig")
            .field("group_id", &self.group_id)
            .field("client_id", &self.client_id)
            .field("assignors", &self.assignors.iter().map(|a| a.name().to_owned()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            group_id: None,
            group_instance_id: None,
            client_id: "brook-consumer".into(),
            auto_offset_reset: OffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            max_poll_records: 500,
            isolation_level: IsolationLevel::ReadUncommitted,
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            max_partition_fetch_bytes: 1 << 20,
            assignors: vec![Arc::new(RangeAssignor)],
        }
    }
}

impl ConsumerConfig {
    /// A config for a group.
    pub fn with_group(group_id: impl Into<String>) -> ConsumerConfig {
        ConsumerConfig {
            group_id: Some(group_id.into()),
            ..Default::default()
        }
    }

    /// Applies Java-client property keys.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown key or a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Self> {
        let bad = || Error::InvalidConfig(format!("invalid value {value:?} for {key}"));
        match key {
            "group.id" => self.group_id = Some(value.into()),
            "group.instance.id" => self.group_instance_id = Some(value.into()),
            "client.id" => self.client_id = value.into(),
            "auto.offset.reset" => {
                self.auto_offset_reset = value.parse().map_err(|_| bad())?
            }
            "enable.auto.commit" => self.enable_auto_commit = value.parse().map_err(|_| bad())?,
            "auto.commit.interval.ms" => self.auto_commit_interval = parse_ms(key, value)?,
            "max.poll.records" => self.max_poll_records = value.parse().map_err(|_| bad())?,
            "isolation.level" => {
                self.isolation_level = match value {
                    "read_committed" => IsolationLevel::ReadCommitted,
                    "read_uncommitted" => IsolationLevel::ReadUncommitted,
                    _ => return Err(bad()),
                }
            }
            "session.timeout.ms" => self.session_timeout = parse_ms(key, value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = parse_ms(key, value)?,
            "max.poll.interval.ms" => self.max_poll_interval = parse_ms(key, value)?,
            "max.partition.fetch.bytes" => self.max_partition_fetch_bytes = value.parse().map_err(|_| bad())?,
            "partition.assignment.strategy" => {
                let mut v: Vec<Arc<dyn PartitionAssignor>> = Vec::new();
                for name in value.split(',').map(str::trim) {
                    v.push(crate::client::assignor_by_name(name).ok_or_else(bad)?);
                }
                self.assignors = v;
            }
            "bootstrap.servers" | "key.deserializer" | "value.deserializer" => {}
            _ => return Err(Error::InvalidConfig(format!("unknown consumer config {key:?}"))),
        }
        Ok(self)
    }
}

