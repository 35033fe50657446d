//! OffsetCommit (8).

use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse, RequestHeader};

use super::Ctx;
use crate::group::OffsetCommit;
use crate::server::conn::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: OffsetCommitRequest) -> OffsetCommitResponse {
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
    let mut codes = codes.into_iter();
    let mut resp = OffsetCommitResponse::default();
    for t in req.topics {
        let mut tr = OffsetCommitResponseTopic::default();
        tr.name = t.name;
        for p in t.partitions {
            let mut pr = OffsetCommitResponsePartition::default();
            pr.partition_index = p.partition_index;
            pr.error_code = codes.next().unwrap_or(0);
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}
