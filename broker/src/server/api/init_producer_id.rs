//! InitProducerId (22): idempotent producers get a fresh id; transactional ids get their id with
//! a bumped epoch.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId, RequestHeader};

use super::{code, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let mut resp = InitProducerIdResponse::default();
    let (id, timeout) = (req.transactional_id.as_ref().map(|t| t.0.to_string()), req.transaction_timeout_ms);
    match ctx.blocking(move |b| b.init_producer_id(id.as_deref(), timeout)).await.and_then(|r| r) {
        Ok((pid, epoch)) => {
            resp.producer_id = ProducerId(pid);
            resp.producer_epoch = epoch;
        }
        Err(e) => {
            resp.error_code = code(&e);
            resp.producer_id = ProducerId(-1);
            resp.producer_epoch = -1;
        }
    }
    resp
}
