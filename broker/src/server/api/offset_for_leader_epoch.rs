//! OffsetForLeaderEpoch (23): one node, leader epoch 0 forever, so the end offset of any epoch is
//! the high watermark.

use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, RequestHeader};

use super::{code, Ctx};
use crate::broker::OffsetSpec;
use crate::partition::IsolationLevel;
use crate::server::session::ConnState;

pub(crate) async fn handle(
    ctx: &Ctx,
    _: &mut ConnState,
    _: &RequestHeader,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let mut resp = OffsetForLeaderEpochResponse::default();
    for t in req.topics {
        let mut tr = OffsetForLeaderTopicResult::default();
        for p in &t.partitions {
            let mut e = EpochEndOffset::default();
            e.partition = p.partition;
            let r = ctx.broker.list_offset(
                t.topic.0.as_str(),
                p.partition,
                OffsetSpec::Latest,
                IsolationLevel::ReadUncommitted,
            );
            match r {
                Ok((hw, _)) => {
                    e.leader_epoch = 0;
                    e.end_offset = hw;
                }
                Err(err) => {
                    e.error_code = code(&err);
                    e.leader_epoch = -1;
                    e.end_offset = -1;
                }
            }
            tr.partitions.push(e);
        }
        tr.topic = t.topic;
        resp.topics.push(tr);
    }
    resp
}
