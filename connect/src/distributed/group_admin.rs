//! A sink connector's offsets for the REST API (KIP-875): the committed offsets of its consumer
//! group `connect-<name>`, read, altered and deleted through the group's coordinator over the
//! Kafka wire protocol (OffsetFetch, OffsetCommit as an admin client does, with generation -1
//! and no member id, OffsetDelete, DeleteGroups), so the same code serves an external cluster
//! and `brook server`. The coordinator refuses changes while the group has members: the
//! herder asks for a STOPPED connector, and a sink task still stopping gets Kafka's message.

use std::collections::BTreeMap;

use brook_common::TopicPartition;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{DeleteGroupsRequest, GroupId, OffsetCommitRequest, OffsetDeleteRequest, OffsetFetchRequest, TopicName};

use super::membership::{find_coordinator, sb};
use crate::error::{Error, Result};

const UNKNOWN_MEMBER_ID: i16 = 25;
const ILLEGAL_GENERATION: i16 = 22;
const REBALANCE_IN_PROGRESS: i16 = 27;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;

/// Kafka's message when the group still has members, for `what` (`alter`, `delete`, `reset`).
fn still_running(connector: &str, what: &str) -> Error {
    let verb = match what {
        "alter" => "alter its offsets",
        "delete" => "delete its offsets",
        _ => "reset its offsets",
    };
    Error::BadRequest(format!(
        "Failed to {what} consumer group offsets for connector {connector} either because its tasks haven't stopped completely yet or the connector was resumed before the request to {verb} could be successfully completed. If the connector is in a stopped state, this operation can be safely retried. If it doesn't eventually succeed, the Connect cluster may need to be restarted to get rid of the zombie sink tasks."
    ))
}

fn failed(what: &str, group: &str, e: impl std::fmt::Display) -> Error {
    Error::Conflict(format!("{what} for group {group}: {e}"))
}

fn tp(name: TopicName) -> String {
    name.0.to_string()
}

/// The committed offsets of `group` (empty when it has none or does not exist).
///
/// # Errors
/// The coordinator out of reach or answering an error.
pub(crate) async fn fetch(bootstrap: &[String], group: &str) -> Result<BTreeMap<TopicPartition, i64>> {
    let mut c = find_coordinator(bootstrap, group).await.map_err(|e| failed("OffsetFetch", group, e))?;
    let version = c.version_for::<OffsetFetchRequest>().map_err(|e| failed("OffsetFetch", group, e))?;
    let mut req = OffsetFetchRequest::default();
    if version >= 8 {
        let mut g = OffsetFetchRequestGroup::default();
        g.group_id = GroupId(sb(group));
        g.topics = None;
        req.groups = vec![g];
    } else {
        req.group_id = GroupId(sb(group));
        req.topics = None;
    }
    let resp = c.send(req).await.map_err(|e| failed("OffsetFetch", group, e))?;
    let mut out = BTreeMap::new();
    let mut add = |topic: String, partition: i32, offset: i64, code: i16| {
        if code == 0 && offset >= 0 {
            out.insert(TopicPartition::new(topic, partition), offset);
        }
    };
    if version >= 8 {
        for g in resp.groups {
            if g.error_code != 0 && g.error_code != GROUP_ID_NOT_FOUND {
                return Err(failed("OffsetFetch", group, format!("error {}", g.error_code)));
            }
            for t in g.topics {
                let name = tp(t.name);
                for p in t.partitions {
                    add(name.clone(), p.partition_index, p.committed_offset, p.error_code);
                }
            }
        }
    } else {
        if resp.error_code != 0 && resp.error_code != GROUP_ID_NOT_FOUND {
            return Err(failed("OffsetFetch", group, format!("error {}", resp.error_code)));
        }
        for t in resp.topics {
            let name = tp(t.name);
            for p in t.partitions {
                add(name.clone(), p.partition_index, p.committed_offset, p.error_code);
            }
        }
    }
    Ok(out)
}

fn by_topic<T>(partitions: impl IntoIterator<Item = (TopicPartition, T)>) -> BTreeMap<String, Vec<(i32, T)>> {
    let mut m: BTreeMap<String, Vec<(i32, T)>> = BTreeMap::new();
    for (tp, v) in partitions {
        m.entry(tp.topic.to_string()).or_default().push((tp.partition, v));
    }
    m
}

/// Commits `offsets` for `group` as an admin client does (generation -1, no member): only an
/// empty group takes it.
///
/// # Errors
/// [`Error::BadRequest`] with Kafka's message while the group has members; the coordinator's
/// other errors.
pub(crate) async fn alter(bootstrap: &[String], group: &str, connector: &str, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
    let mut c = find_coordinator(bootstrap, group).await.map_err(|e| failed("OffsetCommit", group, e))?;
    let mut req = OffsetCommitRequest::default();
    req.group_id = GroupId(sb(group));
    req.generation_id_or_member_epoch = -1;
    req.member_id = sb("");
    req.retention_time_ms = -1;
    req.topics = by_topic(offsets.iter().map(|(tp, o)| (tp.clone(), *o)))
        .into_iter()
        .map(|(name, parts)| {
            let mut t = OffsetCommitRequestTopic::default();
            t.name = TopicName(sb(&name));
            t.partitions = parts
                .into_iter()
                .map(|(p, o)| {
                    let mut x = OffsetCommitRequestPartition::default();
                    x.partition_index = p;
                    x.committed_offset = o;
                    x.committed_leader_epoch = -1;
                    x
                })
                .collect();
            t
        })
        .collect();
    let resp = c.send(req).await.map_err(|e| failed("OffsetCommit", group, e))?;
    for code in resp.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)) {
        match code {
            0 => {}
            UNKNOWN_MEMBER_ID | ILLEGAL_GENERATION | REBALANCE_IN_PROGRESS => return Err(still_running(connector, "alter")),
            c => return Err(failed("OffsetCommit", group, format!("error {c}"))),
        }
    }
    Ok(())
}

/// Deletes the committed offsets of `partitions` of `group` (OffsetDelete).
///
/// # Errors
/// [`Error::BadRequest`] with Kafka's message while the group consumes them; the
/// coordinator's other errors.
pub(crate) async fn delete(bootstrap: &[String], group: &str, connector: &str, partitions: &[TopicPartition]) -> Result<()> {
    let mut c = find_coordinator(bootstrap, group).await.map_err(|e| failed("OffsetDelete", group, e))?;
    let mut req = OffsetDeleteRequest::default();
    req.group_id = GroupId(sb(group));
    req.topics = by_topic(partitions.iter().map(|tp| (tp.clone(), ())))
        .into_iter()
        .map(|(name, parts)| {
            let mut t = OffsetDeleteRequestTopic::default();
            t.name = TopicName(sb(&name));
            t.partitions = parts
                .into_iter()
                .map(|(p, ())| {
                    let mut x = OffsetDeleteRequestPartition::default();
                    x.partition_index = p;
                    x
                })
                .collect();
            t
        })
        .collect();
    let resp = c.send(req).await.map_err(|e| failed("OffsetDelete", group, e))?;
    let codes = std::iter::once(resp.error_code).chain(resp.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)));
    for code in codes {
        match code {
            0 | GROUP_ID_NOT_FOUND => {}
            GROUP_SUBSCRIBED_TO_TOPIC | NON_EMPTY_GROUP => return Err(still_running(connector, "delete")),
            c => return Err(failed("OffsetDelete", group, format!("error {c}"))),
        }
    }
    Ok(())
}

/// Deletes `group` and so all its offsets (a sink connector's offsets reset, as Kafka's
/// `deleteConsumerGroups`); a group that does not exist is fine.
///
/// # Errors
/// [`Error::BadRequest`] with Kafka's message while the group has members; the
/// coordinator's other errors.
pub(crate) async fn delete_group(bootstrap: &[String], group: &str, connector: &str) -> Result<()> {
    let mut c = find_coordinator(bootstrap, group).await.map_err(|e| failed("DeleteGroups", group, e))?;
    let mut req = DeleteGroupsRequest::default();
    req.groups_names = vec![GroupId(sb(group))];
    let resp = c.send(req).await.map_err(|e| failed("DeleteGroups", group, e))?;
    for r in resp.results {
        match r.error_code {
            0 | GROUP_ID_NOT_FOUND => {}
            NON_EMPTY_GROUP => return Err(still_running(connector, "reset")),
            c => return Err(failed("DeleteGroups", group, format!("error {c}"))),
        }
    }
    Ok(())
}
