//! Heartbeat (12).

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse, RequestHeader};

use super::Ctx;
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: HeartbeatRequest) -> HeartbeatResponse {
    let code = ctx.broker.groups().heartbeat(
        req.group_id.0.as_str(),
        req.generation_id,
        req.member_id.as_str(),
        req.group_instance_id.as_ref().map(|i| i.as_str()),
    );
    let mut resp = HeartbeatResponse::default();
    resp.error_code = code.as_i16();
    resp
}
