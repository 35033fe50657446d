//! OffsetCommit (8).

use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse, RequestHeader};

use super::Ctx;
use crate::server::session::ConnState;
use crate::ErrorCode;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let offsets = offset_commits!(req.topics);
    let n = offsets.len();
    let (group, generation) = (req.group_id.0.to_string(), req.generation_id_or_member_epoch);
    let (member, instance) = (req.member_id.to_string(), req.group_instance_id.as_ref().map(|i| i.to_string()));
    let res = ctx
        .blocking(move |b| b.groups().commit_offsets(&group, generation, &member, instance.as_deref(), &offsets))
        .await
        .unwrap_or(Err(ErrorCode::CoordinatorNotAvailable));
    let codes: Vec<i16> = match res {
        Ok(codes) => codes.iter().map(|c| c.as_i16()).collect(),
        Err(c) => vec![c.as_i16(); n],
    };
    let mut resp = OffsetCommitResponse::default();
    resp.topics = commit_response_topics!(req.topics, codes, OffsetCommitResponseTopic, OffsetCommitResponsePartition);
    resp
}
