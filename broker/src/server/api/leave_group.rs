//! LeaveGroup (13): one member (v0-2) or a batch (v3+).

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse, RequestHeader};

use super::Ctx;
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, h: &RequestHeader, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let members: Vec<(String, Option<String>)> = if h.request_api_version >= 3 {
        req.members
            .iter()
            .map(|m| (m.member_id.to_string(), m.group_instance_id.as_ref().map(|i| i.to_string())))
            .collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    let codes = ctx.broker.groups().leave_group(req.group_id.0.as_str(), &members);
    let mut resp = LeaveGroupResponse::default();
    if h.request_api_version >= 3 {
        resp.members = req
            .members
            .into_iter()
            .zip(&codes)
            .map(|(m, c)| {
                let mut r = MemberResponse::default();
                r.member_id = m.member_id;
                r.group_instance_id = m.group_instance_id;
                r.error_code = c.as_i16();
                r
            })
            .collect();
        if let Some(c) = codes.iter().find(|c| c.as_i16() != 0) {
            if codes.len() == 1 {
                resp.error_code = c.as_i16();
            }
        }
    } else {
        resp.error_code = codes.first().map_or(0, |c| c.as_i16());
    }
    resp
}
