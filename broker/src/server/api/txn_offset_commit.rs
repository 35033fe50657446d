//! TxnOffsetCommit (28): offsets that become visible when the transaction commits.

use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{RequestHeader, TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::{code, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
    let offsets = offset_commits!(req.topics);
    let n = offsets.len();
    let (txn_id, group) = (req.transactional_id.0.to_string(), req.group_id.0.to_string());
    let (pid, epoch, generation) = (req.producer_id.0, req.producer_epoch, req.generation_id);
    let (member_id, instance) = (req.member_id.to_string(), req.group_instance_id.as_ref().map(|i| i.to_string()));
    let res = ctx
        .blocking(move |b| {
            let member = (generation >= 0 && !member_id.is_empty()).then(|| crate::txn::GroupMember {
                generation,
                member_id: &member_id,
                instance_id: instance.as_deref(),
            });
            b.txns().txn_offset_commit(&txn_id, &group, pid, epoch, member, &offsets)
        })
        .await
        .and_then(|r| r);
    let codes: Vec<i16> = match res {
        Ok(c) => c.iter().map(|c| c.as_i16()).collect(),
        Err(e) => vec![code(&e); n],
    };
    let mut resp = TxnOffsetCommitResponse::default();
    resp.topics =
        commit_response_topics!(req.topics, codes, TxnOffsetCommitResponseTopic, TxnOffsetCommitResponsePartition);
    resp
}
