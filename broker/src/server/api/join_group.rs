//! JoinGroup (11).

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse, RequestHeader};

use super::{str_bytes, Ctx};
use crate::group::JoinGroup;
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, conn: &mut ConnState, h: &RequestHeader, req: JoinGroupRequest) -> JoinGroupResponse {
    let v = h.request_api_version;
    let join = JoinGroup {
        group_id: req.group_id.0.to_string(),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if v == 0 { req.session_timeout_ms } else { req.rebalance_timeout_ms },
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.map(|i| i.to_string()),
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata.to_vec()))
            .collect(),
        client_id: h.client_id.as_ref().map(|c| c.to_string()).unwrap_or_default(),
        client_host: format!("/{}", conn.peer.ip()),
        require_known_member_id: v >= 4,
    };
    let r = ctx.broker.groups().join_group(join).await;
    let mut resp = JoinGroupResponse::default();
    resp.error_code = r.error.as_i16();
    resp.generation_id = r.generation_id;
    resp.protocol_type = r.protocol_type.map(str_bytes);
    resp.protocol_name = r.protocol_name.map(str_bytes);
    if v < 7 && resp.protocol_name.is_none() {
        resp.protocol_name = Some(str_bytes(""));
    }
    resp.leader = str_bytes(r.leader);
    resp.member_id = str_bytes(r.member_id);
    resp.members = r
        .members
        .into_iter()
        .map(|m| {
            let mut jm = JoinGroupResponseMember::default();
            jm.member_id = str_bytes(m.member_id);
            jm.group_instance_id = m.group_instance_id.map(str_bytes);
            jm.metadata = m.metadata.into();
            jm
        })
        .collect();
    resp
}
