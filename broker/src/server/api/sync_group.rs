//! SyncGroup (14).

use kafka_protocol::messages::{RequestHeader, SyncGroupRequest, SyncGroupResponse};

use super::{str_bytes, Ctx};
use crate::group::SyncGroup;
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: SyncGroupRequest) -> SyncGroupResponse {
    let sync = SyncGroup {
        group_id: req.group_id.0.to_string(),
        generation: req.generation_id,
        member_id: req.member_id.to_string(),
        instance_id: req.group_instance_id.map(|i| i.to_string()),
        protocol_type: req.protocol_type.map(|p| p.to_string()),
        protocol_name: req.protocol_name.map(|p| p.to_string()),
        assignments: req
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment.to_vec()))
            .collect(),
    };
    let r = ctx.broker.groups().sync_group(sync).await;
    let mut resp = SyncGroupResponse::default();
    resp.error_code = r.error.as_i16();
    resp.protocol_type = r.protocol_type.map(str_bytes);
    resp.protocol_name = r.protocol_name.map(str_bytes);
    resp.assignment = r.assignment.into();
    resp
}
