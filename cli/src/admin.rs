//! Connecting to the broker and turning error codes into Kafka's messages.

use anyhow::anyhow;
use brook_broker::client::consumer_protocol::Assignment;
use brook_broker::server::wire_client::{Client, ClientError};
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use brook_common::TopicPartition;
use kafka_protocol::protocol::StrBytes;

use crate::Bootstrap;

pub(crate) async fn connect(b: &Bootstrap) -> anyhow::Result<Client> {
    let addr = b.checked_addr()?;
    Client::connect(addr).await.map_err(|e| match e {
        ClientError::Io { .. } | ClientError::Timeout(_) => anyhow!(
            "Connection to node -1 ({addr}) could not be established. Broker may not be available. ({e}) \
             Is `brook server` running there? Check --bootstrap-server."
        ),
        e => anyhow!(e),
    })
}

pub(crate) fn str_bytes(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_owned())
}

pub(crate) fn tn(v: &str) -> TopicName {
    TopicName(str_bytes(v))
}

/// Kafka's message for a wire error code.
pub(crate) fn error_name(code: i16) -> &'static str {
    match code {
        1 => "The requested offset is not within the range of offsets maintained by the server.",
        3 => "This server does not host this topic-partition.",
        7 => "The request timed out.",
        15 => "The coordinator is not available.",
        16 => "This is not the correct coordinator.",
        17 => "The request attempted to perform an operation on an invalid topic.",
        25 => "The coordinator is not aware of this member.",
        27 => "The group is rebalancing, so a rejoin is needed.",
        36 => "Topic already exists.",
        37 => "Number of partitions is below 1.",
        38 => "Replication factor is below 1 or larger than the number of available brokers.",
        40 => "Configuration is invalid.",
        42 => "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker.",
        68 => "The group is not empty.",
        69 => "The group id does not exist.",
        73 => "Topic deletion is disabled.",
        _ => "The server experienced an unexpected error when processing the request.",
    }
}

/// The topic-partitions of a group member's consumer-protocol assignment (as DescribeGroups
/// returns it); none when the bytes are not a consumer assignment.
pub(crate) fn assigned_partitions(member_assignment: &[u8]) -> Vec<TopicPartition> {
    Assignment::decode(member_assignment).map(|a| a.topic_partitions()).unwrap_or_default()
}

/// Metadata for `topics` (all when `None`), without auto-creating anything.
pub(crate) async fn metadata(c: &mut Client, topics: Option<&[String]>) -> anyhow::Result<MetadataResponse> {
    metadata_request(c, topics, false).await
}

/// The metadata of `topic`, asked with auto-creation as the Java producer's first Metadata
/// request does (a broker with `auto.create.topics.enable` creates it); `None` when the
/// broker answered with no topic.
pub(crate) async fn auto_created_topic(c: &mut Client, topic: &str) -> anyhow::Result<Option<MetadataResponseTopic>> {
    Ok(metadata_request(c, Some(&[topic.to_owned()]), true).await?.topics.into_iter().next())
}

async fn metadata_request(c: &mut Client, topics: Option<&[String]>, auto_create: bool) -> anyhow::Result<MetadataResponse> {
    let mut req = MetadataRequest::default();
    req.allow_auto_topic_creation = auto_create;
    req.topics = topics.map(|ts| {
        ts.iter()
            .map(|t| {
                let mut m = MetadataRequestTopic::default();
                m.name = Some(tn(t));
                m
            })
            .collect()
    });
    Ok(c.send(req).await?)
}

/// The partition count of `topic`, or Kafka's error when it does not exist.
pub(crate) async fn partitions(c: &mut Client, topic: &str) -> anyhow::Result<i32> {
    let md = metadata(c, Some(&[topic.to_owned()])).await?;
    let t = md.topics.first().ok_or_else(|| anyhow!("no metadata for topic {topic}"))?;
    match t.error_code {
        0 => Ok(t.partitions.len() as i32),
        3 => Err(anyhow!("Topic '{topic}' does not exist as expected")),
        c => Err(anyhow!("{} (topic {topic})", error_name(c))),
    }
}
