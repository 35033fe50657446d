//! OffsetCommit (8).

use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse, RequestHeader};

use super::Ctx;
use crate::server::conn::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let offsets = offset_commits!(req.topics);
    let res = ctx.broker.inner.groups.commit_offsets(
        req.group_id.0.as_str(),
        req.generation_id_or_member_epoch,
        req.member_id.as_str(),
        req.group_instance_id.as_ref().map(|i| i.as_str()),
        &offsets,
    );
    let codes: Vec<i16> = match res {
        Ok(codes) => codes.iter().map(|c| c.as_i16()).collect(),
        Err(c) => vec![c.as_i16(); offsets.len()],
    };
    let mut resp = OffsetCommitResponse::default();
    resp.topics = commit_response_topics!(req.topics, codes, OffsetCommitResponseTopic, OffsetCommitResponsePartition);
    resp
}
