//! TxnOffsetCommit (28): offsets that become visible when the transaction commits.

use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{RequestHeader, TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::{code, Ctx};
use crate::server::conn::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
    let offsets = offset_commits!(req.topics);
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
    let mut resp = TxnOffsetCommitResponse::default();
    resp.topics =
        commit_response_topics!(req.topics, codes, TxnOffsetCommitResponseTopic, TxnOffsetCommitResponsePartition);
    resp
}
