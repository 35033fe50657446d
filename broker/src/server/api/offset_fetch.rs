//! OffsetFetch (9): one group (v0-7) or many (v8+); all partitions when the topic list is null.

use brook_common::TopicPartition;
use std::collections::BTreeMap;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{GroupId, OffsetFetchRequest, OffsetFetchResponse, RequestHeader};

use super::{str_bytes, topic_name, Ctx};
use crate::group::FetchedOffset;
use crate::server::session::ConnState;

fn fetch(ctx: &Ctx, group: &str, topics: Option<Vec<TopicPartition>>, stable: bool) -> Result<Vec<FetchedOffset>, i16> {
    ctx.broker
        .groups()
        .fetch_offsets(group, topics.as_deref(), stable)
        .map_err(|c| c.as_i16())
}

fn by_topic(offsets: Vec<FetchedOffset>) -> BTreeMap<String, Vec<FetchedOffset>> {
    let mut m: BTreeMap<String, Vec<FetchedOffset>> = BTreeMap::new();
    for o in offsets {
        m.entry(o.topic.clone()).or_default().push(o);
    }
    m
}

/// The response topics of fetched offsets, in the message types of the request's version
/// (v8+ groups and the older single-group form share the shape, not the types).
macro_rules! response_topics {
    ($offsets:expr, $topic:ident, $partition:ident) => {
        by_topic($offsets)
            .into_iter()
            .map(|(name, parts)| {
                let mut t = $topic::default();
                t.name = topic_name(&name);
                t.partitions = parts
                    .into_iter()
                    .map(|o| {
                        let mut p = $partition::default();
                        p.partition_index = o.partition;
                        p.committed_offset = o.offset;
                        p.committed_leader_epoch = o.leader_epoch;
                        p.metadata = Some(str_bytes(o.metadata));
                        p.error_code = o.error.as_i16();
                        p
                    })
                    .collect();
                t
            })
            .collect()
    };
}

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, h: &RequestHeader, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    if h.request_api_version >= 8 {
        for g in req.groups {
            let topics = g.topics.map(|ts| {
                ts.iter()
                    .flat_map(|t| t.partition_indexes.iter().map(move |p| TopicPartition::new(t.name.0.to_string(), *p)))
                    .collect()
            });
            let mut gr = OffsetFetchResponseGroup::default();
            match fetch(ctx, g.group_id.0.as_str(), topics, req.require_stable) {
                Ok(offsets) => gr.topics = response_topics!(offsets, OffsetFetchResponseTopics, OffsetFetchResponsePartitions),
                Err(c) => gr.error_code = c,
            }
            gr.group_id = GroupId(g.group_id.0);
            resp.groups.push(gr);
        }
        return resp;
    }
    let topics = req.topics.map(|ts| {
        ts.iter()
            .flat_map(|t| t.partition_indexes.iter().map(move |p| TopicPartition::new(t.name.0.to_string(), *p)))
            .collect()
    });
    match fetch(ctx, req.group_id.0.as_str(), topics, req.require_stable) {
        Ok(offsets) => resp.topics = response_topics!(offsets, OffsetFetchResponseTopic, OffsetFetchResponsePartition),
        Err(c) => resp.error_code = c,
    }
    resp
}
