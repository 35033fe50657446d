//! TxnOffsetCommit (28): offsets that become visible when the transaction commits.

use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{RequestHeader, TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::{code, Ctx};
use crate::group::OffsetCommit;
use crate::server::conn::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
    let offsets: Vec<OffsetCommit> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| OffsetCommit {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: p.committed_leader_epoch,
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            })
        })
        .collect();
    let res = ctx.broker.txn_offset_commit(
        req.transactional_id.0.as_str(),
        req.group_id.0.as_str(),
        req.producer_id.0,
        req.producer_epoch,
        (req.generation_id >= 0 && !req.member_id.is_empty()).then(|| crate::txn::GroupMember {
            generation: req.generation_id,
            member_id: req.member_id.as_str(),
            instance_id: req.group_instance_id.as_ref().map(|i| i.as_str()),
        }),
        &offsets,
    );
    let codes: Vec<i16> = match res {
        Ok(c) => c.iter().map(|c| c.as_i16()).collect(),
        Err(e) => vec![code(&e); offsets.len()],
    };
    let mut codes = codes.into_iter();
    let mut resp = TxnOffsetCommitResponse::default();
    for t in req.topics {
        let mut tr = TxnOffsetCommitResponseTopic::default();
        tr.name = t.name;
        for p in t.partitions {
            let mut pr = TxnOffsetCommitResponsePartition::default();
            pr.partition_index = p.partition_index;
            pr.error_code = codes.next().unwrap_or(0);
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}
