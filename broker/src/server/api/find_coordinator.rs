//! FindCoordinator (10): this node coordinates every group and transactional id; v4 batches keys.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, RequestHeader};

use super::{str_bytes, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, h: &RequestHeader, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let mut resp = FindCoordinatorResponse::default();
    if h.request_api_version >= 4 {
        resp.coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let mut c = Coordinator::default();
                c.key = key;
                c.node_id = BrokerId(ctx.node_id);
                c.host = str_bytes(ctx.host.clone());
                c.port = ctx.port;
                c
            })
            .collect();
    } else {
        resp.node_id = BrokerId(ctx.node_id);
        resp.host = str_bytes(ctx.host.clone());
        resp.port = ctx.port;
    }
    resp
}
