//! DescribeProducers (61).

use kafka_protocol::messages::describe_producers_response::{PartitionResponse, ProducerState, TopicResponse};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId, RequestHeader};

use super::{code, str_bytes, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: DescribeProducersRequest) -> DescribeProducersResponse {
    let mut resp = DescribeProducersResponse::default();
    for t in req.topics {
        let mut tr = TopicResponse::default();
        for p in &t.partition_indexes {
            let mut pr = PartitionResponse::default();
            pr.partition_index = *p;
            match ctx.broker.describe_producers(t.name.0.as_str(), *p) {
                Ok(list) => {
                    pr.active_producers = list
                        .into_iter()
                        .map(|st| {
                            let mut ps = ProducerState::default();
                            ps.producer_id = ProducerId(st.producer_id);
                            ps.producer_epoch = i32::from(st.producer_epoch);
                            ps.last_sequence = st.last_sequence;
                            ps.last_timestamp = st.last_timestamp;
                            ps.coordinator_epoch = st.coordinator_epoch;
                            ps.current_txn_start_offset = st.current_txn_start_offset.unwrap_or(-1);
                            ps
                        })
                        .collect()
                }
                Err(e) => {
                    pr.error_code = code(&e);
                    pr.error_message = Some(str_bytes(e.to_string()));
                }
            }
            tr.partitions.push(pr);
        }
        tr.name = t.name;
        resp.topics.push(tr);
    }
    resp
}
