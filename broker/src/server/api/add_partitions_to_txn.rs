//! AddPartitionsToTxn (24), the client form (v0-3).

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, RequestHeader};

use brook_common::TopicPartition;

use super::{code, Ctx};
use crate::error::{Error, ErrorCode};
use crate::server::session::ConnState;

pub(crate) async fn handle(
    ctx: &Ctx,
    _: &mut ConnState,
    _: &RequestHeader,
    req: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let parts: Vec<TopicPartition> = req
        .v3_and_below_topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| TopicPartition::new(t.name.0.to_string(), *p)))
        .collect();
    // Unknown partitions fail alone; the others then report OPERATION_NOT_ATTEMPTED, as Kafka does.
    let unknown: Vec<bool> = parts
        .iter()
        .map(|tp| ctx.broker.describe_topic(&tp.topic).map_or(true, |d| tp.partition < 0 || tp.partition as usize >= d.partitions.len()))
        .collect();
    let result: Result<(), Error> = if unknown.iter().any(|u| *u) {
        Err(Error::UnknownTopicOrPartition(String::new()))
    } else {
        let id = req.v3_and_below_transactional_id.0.to_string();
        let (pid, epoch, parts) = (req.v3_and_below_producer_id.0, req.v3_and_below_producer_epoch, parts.clone());
        ctx.blocking(move |b| b.add_partitions_to_txn(&id, pid, epoch, &parts)).await.and_then(|r| r)
    };
    const OPERATION_NOT_ATTEMPTED: i16 = 55;
    let mut resp = AddPartitionsToTxnResponse::default();
    let mut i = 0;
    for t in req.v3_and_below_topics {
        let mut tr = AddPartitionsToTxnTopicResult::default();
        tr.name = t.name;
        for p in t.partitions {
            let mut pr = AddPartitionsToTxnPartitionResult::default();
            pr.partition_index = p;
            pr.partition_error_code = match &result {
                Ok(()) => 0,
                Err(Error::UnknownTopicOrPartition(_)) if unknown[i] => ErrorCode::UnknownTopicOrPartition.as_i16(),
                Err(Error::UnknownTopicOrPartition(_)) => OPERATION_NOT_ATTEMPTED,
                Err(e) => code(e),
            };
            i += 1;
            tr.results_by_partition.push(pr);
        }
        resp.results_by_topic_v3_and_below.push(tr);
    }
    resp
}
