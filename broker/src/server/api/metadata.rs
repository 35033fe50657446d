//! Metadata (3): brokers, topics and partitions; auto-creates requested topics when allowed.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, RequestHeader};
use uuid::Uuid;

use super::{code, str_bytes, topic_name, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, h: &RequestHeader, req: MetadataRequest) -> MetadataResponse {
    let v = h.request_api_version;
    let broker = &ctx.broker;
    let auto = v < 4 || req.allow_auto_topic_creation;
    let names: Vec<String> = match &req.topics {
        None => broker.list_topics(),
        Some(t) if t.is_empty() && v == 0 => broker.list_topics(),
        Some(t) => t
            .iter()
            .filter_map(|t| match &t.name {
                Some(n) => Some(n.0.to_string()),
                None => by_id(ctx, t.topic_id),
            })
            .collect(),
    };
    let mut resp = MetadataResponse::default();
    let mut b = MetadataResponseBroker::default();
    b.node_id = BrokerId(ctx.node_id);
    b.host = str_bytes(ctx.host.clone());
    b.port = ctx.port;
    resp.brokers = vec![b];
    resp.cluster_id = Some(str_bytes(ctx.cluster_id.clone()));
    resp.controller_id = BrokerId(ctx.node_id);
    resp.cluster_authorized_operations = i32::MIN;
    for name in names {
        let mut t = MetadataResponseTopic::default();
        t.name = Some(topic_name(&name));
        t.topic_authorized_operations = i32::MIN;
        let described = broker
            .partition_count(&name, auto && req.topics.is_some())
            .and_then(|_| broker.describe_topic(&name));
        match described {
            Ok(d) => {
                t.topic_id = Uuid::from_bytes(d.id);
                t.is_internal = d.internal;
                t.partitions = d
                    .partitions
                    .iter()
                    .map(|p| {
                        let mut mp = MetadataResponsePartition::default();
                        mp.partition_index = p.partition;
                        mp.leader_id = BrokerId(ctx.node_id);
                        mp.leader_epoch = 0;
                        mp.replica_nodes = vec![BrokerId(ctx.node_id)];
                        mp.isr_nodes = vec![BrokerId(ctx.node_id)];
                        if p.storage_fault.is_some() {
                            // Appends fail on a storage error: Kafka lists the replica offline.
                            mp.offline_replicas = vec![BrokerId(ctx.node_id)];
                        }
                        mp
                    })
                    .collect();
            }
            Err(e) => t.error_code = code(&e),
        }
        resp.topics.push(t);
    }
    resp
}

/// A topic's name from its id.
pub(crate) fn by_id(ctx: &Ctx, id: Uuid) -> Option<String> {
    let want = *id.as_bytes();
    ctx.broker
        .list_topics()
        .into_iter()
        .find(|n| ctx.broker.describe_topic(n).is_ok_and(|d| d.id == want))
}
