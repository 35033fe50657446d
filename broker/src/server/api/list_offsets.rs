//! ListOffsets (2): earliest, latest (high watermark or last stable offset), max timestamp, or the
//! first offset at a timestamp.

use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, RequestHeader};

use super::{code, Ctx};
use crate::broker::OffsetSpec;
use crate::partition::IsolationLevel;
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, h: &RequestHeader, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let isolation = if req.isolation_level == 1 {
        IsolationLevel::ReadCommitted
    } else {
        IsolationLevel::ReadUncommitted
    };
    let mut resp = ListOffsetsResponse::default();
    for t in req.topics {
        let mut tr = ListOffsetsTopicResponse::default();
        for p in &t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            let spec = OffsetSpec::from_timestamp(p.timestamp);
            match ctx.broker.list_offset(t.name.0.as_str(), p.partition_index, spec, isolation) {
                Ok((offset, ts)) => {
                    pr.offset = offset;
                    pr.timestamp = ts;
                    if h.request_api_version >= 4 {
                        pr.leader_epoch = 0;
                    }
                }
                Err(e) => {
                    pr.error_code = code(&e);
                    pr.offset = -1;
                    pr.timestamp = -1;
                }
            }
            tr.partitions.push(pr);
        }
        tr.name = t.name;
        resp.topics.push(tr);
    }
    resp
}
