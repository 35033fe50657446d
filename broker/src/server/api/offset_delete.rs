//! OffsetDelete (47).

use brook_common::TopicPartition;
use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse, RequestHeader};

use super::Ctx;
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let parts: Vec<TopicPartition> = req
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| TopicPartition::new(t.name.0.to_string(), p.partition_index)))
        .collect();
    let mut resp = OffsetDeleteResponse::default();
    match ctx.broker.groups().delete_offsets(req.group_id.0.as_str(), &parts) {
        Ok(codes) => {
            let mut codes = codes.into_iter();
            for t in req.topics {
                let mut tr = OffsetDeleteResponseTopic::default();
                tr.name = t.name;
                for p in t.partitions {
                    let mut pr = OffsetDeleteResponsePartition::default();
                    pr.partition_index = p.partition_index;
                    pr.error_code = codes.next().map_or(0, |c| c.as_i16());
                    tr.partitions.push(pr);
                }
                resp.topics.push(tr);
            }
        }
        Err(c) => resp.error_code = c.as_i16(),
    }
    resp
}
