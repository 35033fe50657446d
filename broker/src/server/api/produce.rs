//! Produce (0): batches are appended verbatim; acks=0 gets no response at all.

use bytes::BytesMut;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, RequestHeader};

use super::{code, str_bytes, Ctx};
use crate::error::{Error, ErrorCode};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: ProduceRequest) -> Option<ProduceResponse> {
    ctx.disk_io(|| append(ctx, req))
}

/// Appends every partition's batches (file I/O: called through [`Ctx::disk_io`]).
fn append(ctx: &Ctx, req: ProduceRequest) -> Option<ProduceResponse> {
    let mut resp = ProduceResponse::default();
    for t in req.topic_data {
        let topic = t.name.0.to_string();
        let mut tr = TopicProduceResponse::default();
        tr.name = t.name;
        for p in t.partition_data {
            let mut pr = PartitionProduceResponse::default();
            pr.index = p.index;
            pr.base_offset = -1;
            pr.log_append_time_ms = -1;
            pr.log_start_offset = -1;
            let res = match p.records {
                Some(records) if !records.is_empty() => {
                    let mut bytes = BytesMut::from(&records[..]);
                    ctx.broker.produce(&topic, p.index, &mut bytes)
                }
                _ => Err(Error::kafka(ErrorCode::InvalidRecord, "produce request without records")),
            };
            match res {
                Ok(a) => {
                    pr.base_offset = a.base_offset;
                    pr.log_append_time_ms = a.log_append_time;
                    pr.log_start_offset = a.log_start_offset;
                }
                Err(e) => {
                    tracing::debug!(topic = %topic, partition = p.index, error = %e, "produce failed");
                    pr.error_code = code(&e);
                    pr.error_message = Some(str_bytes(e.to_string()));
                }
            }
            tr.partition_responses.push(pr);
        }
        resp.responses.push(tr);
    }
    (req.acks != 0).then_some(resp)
}
