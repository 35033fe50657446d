//! The embedded admin client: topics, configs, groups, offsets and lag.

use std::collections::BTreeMap;

use super::consumer_protocol::Assignment;
use super::TopicPartition;
use crate::broker::{Broker, OffsetSpec, TopicDescription};
use crate::error::{Error, ErrorCode, Result};
use crate::partition::IsolationLevel;

/// A topic to create.
#[derive(Debug, Clone, Default)]
pub struct NewTopic {
    /// Name.
    pub name: String,
    /// Partition count.
    pub partitions: i32,
    /// Per-topic config overrides.
    pub configs: BTreeMap<String, String>,
}

impl NewTopic {
    /// A topic with default configs.
    pub fn new(name: impl Into<String>, partitions: i32) -> NewTopic {
        NewTopic {
            name: name.into(),
            partitions,
            configs: BTreeMap::new(),
        }
    }

    /// Adds a config override.
    #[must_use]
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> NewTopic {
        self.configs.insert(key.into(), value.into());
        self
    }
}

/// A member of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// Member id.
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// Client host.
    pub host: String,
    /// Partitions assigned (decoded from the consumer protocol; empty for other protocols).
    pub assignment: Vec<TopicPartition>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// Group id.
    pub group_id: String,
    /// State: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead.
    pub state: String,
    /// Protocol type (`consumer`).
    pub protocol_type: String,
    /// Chosen assignor.
    pub protocol: String,
    /// Members.
    pub members: Vec<GroupMember>,
}

/// Lag of one partition of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// The partition.
    pub partition: TopicPartition,
    /// Committed offset, `None` when nothing was committed.
    pub committed: Option<i64>,
    /// Log end offset.
    pub log_end_offset: i64,
    /// `log_end_offset - committed`, `None` when nothing was committed.
    pub lag: Option<i64>,
    /// The member consuming it, if any.
    pub member: Option<GroupMember>,
}

/// Offsets and lag of a group (what `kafka-consumer-groups.sh --describe` prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupLag {
    /// Group id.
    pub group_id: String,
    /// Per partition, sorted.
    pub partitions: Vec<PartitionLag>,
}

/// The embedded admin client.
#[derive(Debug, Clone)]
pub struct Admin {
    broker: Broker,
}

impl Admin {
    /// An admin client over an embedded broker.
    pub fn new(broker: Broker) -> Admin {
        Admin { broker }
    }

    /// Creates topics; one result per topic, in order.
    pub fn create_topics(&self, topics: &[NewTopic]) -> Vec<Result<()>> {
        topics
            .iter()
            .map(|t| self.broker.create_topic(&t.name, t.partitions, t.configs.clone()))
            .collect()
    }

    /// Deletes topics; one result per topic, in order.
    pub fn delete_topics(&self, names: &[&str]) -> Vec<Result<()>> {
        names.iter().map(|n| self.broker.delete_topic(n)).collect()
    }

    /// Topic names, internal topics left out.
    pub fn list_topics(&self) -> Vec<String> {
        self.broker
            .list_topics()
            .into_iter()
            .filter(|t| !crate::topic::is_internal(t))
            .collect()
    }

    /// Describes topics.
    ///
    /// # Errors
    /// `UnknownTopicOrPartition` for the first missing one.
    pub fn describe_topics(&self, names: &[&str]) -> Result<Vec<TopicDescription>> {
        names.iter().map(|n| self.broker.describe_topic(n)).collect()
    }

    /// Raises a topic's partition count.
    ///
    /// # Errors
    /// `InvalidPartitions` when not larger.
    pub fn create_partitions(&self, topic: &str, count: i32) -> Result<()> {
        self.broker.create_partitions(topic, count)
    }

    /// Sets (`Some`) or deletes (`None`) topic config overrides (IncrementalAlterConfigs).
    ///
    /// # Errors
    /// `InvalidConfig`, `UnknownTopicOrPartition`.
    pub fn alter_topic_config(&self, topic: &str, changes: &BTreeMap<String, Option<String>>) -> Result<()> {
        self.broker.alter_topic_config(topic, changes, false, false)
    }

    /// The effective config of a topic, every key.
    ///
    /// # Errors
    /// `UnknownTopicOrPartition`.
    pub fn describe_topic_config(&self, topic: &str) -> Result<BTreeMap<String, String>> {
        let d = self.broker.describe_topic(topic)?;
        Ok(crate::config::TOPIC_CONFIG_KEYS
            .iter()
            .filter_map(|k| d.config.get(k).map(|v| ((*k).to_owned(), v)))
            .collect())
    }

    /// `(group id, state)` of every group.
    pub fn list_groups(&self) -> Vec<(String, String)> {
        self.broker
            .groups()
            .list_groups(&[])
            .into_iter()
            .map(|g| (g.group_id, g.state))
            .collect()
    }

    /// Describes a group, decoding consumer assignments.
    pub fn describe_group(&self, group_id: &str) -> GroupDescription {
        let d = self.broker.groups().describe_group(group_id);
        GroupDescription {
            group_id: d.group_id,
            state: d.state,
            protocol_type: d.protocol_type.clone(),
            protocol: d.protocol_name,
            members: d
                .members
                .into_iter()
                .map(|m| GroupMember {
                    assignment: if d.protocol_type == "consumer" {
                        Assignment::decode(&m.assignment)
                            .map(|a| a.topic_partitions())
                            .unwrap_or_default()
                    } else {
                        Vec::new()
                    },
                    member_id: m.member_id,
                    group_instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    host: m.client_host,
                })
                .collect(),
        }
    }

    /// Committed offsets of a group.
    ///
    /// # Errors
    /// Coordinator errors.
    pub fn list_group_offsets(&self, group_id: &str) -> Result<BTreeMap<TopicPartition, i64>> {
        let fetched = self
            .broker
            .groups()
            .fetch_offsets(group_id, None, false)
            .map_err(|c| Error::kafka(c, format!("fetching offsets of group {group_id}")))?;
        Ok(fetched
            .into_iter()
            .filter(|f| f.offset >= 0)
            .map(|f| (TopicPartition::new(f.topic, f.partition), f.offset))
            .collect())
    }

    /// Committed offsets, log end offsets and lag per partition, with the owning member.
    ///
    /// # Errors
    /// Coordinator errors.
    pub fn group_lag(&self, group_id: &str) -> Result<ConsumerGroupLag> {
        let committed = self.list_group_offsets(group_id)?;
        let desc = self.describe_group(group_id);
        let mut owners: BTreeMap<TopicPartition, GroupMember> = BTreeMap::new();
        for m in &desc.members {
            for tp in &m.assignment {
                owners.insert(tp.clone(), m.clone());
            }
        }
        let mut tps: Vec<TopicPartition> = committed.keys().cloned().collect();
        tps.extend(owners.keys().filter(|tp| !committed.contains_key(*tp)).cloned());
        tps.sort();
        let partitions = tps
            .into_iter()
            .map(|tp| {
                let end = self
                    .broker
                    .list_offset(&tp.topic, tp.partition, OffsetSpec::Latest, IsolationLevel::ReadUncommitted)
                    .map_or(-1, |(o, _)| o);
                let c = committed.get(&tp).copied();
                PartitionLag {
                    lag: c.map(|c| (end - c).max(0)),
                    committed: c,
                    log_end_offset: end,
                    member: owners.get(&tp).cloned(),
                    partition: tp,
                }
            })
            .collect();
        Ok(ConsumerGroupLag {
            group_id: group_id.to_owned(),
            partitions,
        })
    }

    /// Overwrites a group's committed offsets (`--reset-offsets --execute`); the group must
    /// have no active members.
    ///
    /// # Errors
    /// `NonEmptyGroup` when members are active; coordinator errors.
    pub fn alter_group_offsets(&self, group_id: &str, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        let d = self.describe_group(group_id);
        if !d.members.is_empty() {
            return Err(Error::kafka(
                ErrorCode::NonEmptyGroup,
                format!("group {group_id} has active members; stop them first"),
            ));
        }
        let commits = super::offset_commits(offsets);
        let codes = self
            .broker
            .groups()
            .commit_offsets(group_id, -1, "", None, &commits)
            .map_err(|c| Error::kafka(c, format!("altering offsets of group {group_id}")))?;
        match codes.into_iter().find(|c| *c != ErrorCode::None) {
            Some(c) => Err(Error::kafka(c, format!("altering offsets of group {group_id}"))),
            None => Ok(()),
        }
    }

    /// Deletes the committed offsets of `partitions` from a group (OffsetDelete); a partition
    /// without a committed offset is no error.
    ///
    /// # Errors
    /// `GroupIdNotFound`; `NonEmptyGroup` when active members subscribe to one of the topics.
    pub fn delete_group_offsets(&self, group_id: &str, partitions: &[TopicPartition]) -> Result<()> {
        let codes = self
            .broker
            .groups()
            .delete_offsets(group_id, partitions)
            .map_err(|c| Error::kafka(c, format!("deleting offsets of group {group_id}")))?;
        match codes.into_iter().find(|c| *c != ErrorCode::None) {
            Some(c) => Err(Error::kafka(c, format!("deleting offsets of group {group_id}"))),
            None => Ok(()),
        }
    }

    /// Deletes groups; one result per group.
    pub fn delete_groups(&self, group_ids: &[&str]) -> Vec<Result<()>> {
        let ids: Vec<String> = group_ids.iter().map(|s| s.to_string()).collect();
        self.broker
            .groups()
            .delete_groups(&ids)
            .into_iter()
            .map(|(g, c)| match c {
                ErrorCode::None => Ok(()),
                c => Err(Error::kafka(c, format!("deleting group {g}"))),
            })
            .collect()
    }

    /// Truncates the head of a partition (DeleteRecords); returns the new low watermark.
    ///
    /// # Errors
    /// `OffsetOutOfRange`, `UnknownTopicOrPartition`.
    pub fn delete_records(&self, tp: &TopicPartition, before_offset: i64) -> Result<i64> {
        self.broker.delete_records(&tp.topic, tp.partition, before_offset)
    }
}
