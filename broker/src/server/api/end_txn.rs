//! EndTxn (26): commit or abort, writing the markers.

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, RequestHeader};

use super::{err_code, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: EndTxnRequest) -> EndTxnResponse {
    let (id, pid, epoch, commit) = (req.transactional_id.0.to_string(), req.producer_id.0, req.producer_epoch, req.committed);
    let r = ctx.blocking(move |b| b.end_txn(&id, pid, epoch, commit)).await.and_then(|r| r);
    if let Err(e) = &r {
        tracing::debug!(txn = %req.transactional_id.0.as_str(), error = %e, "EndTxn failed");
    }
    let mut resp = EndTxnResponse::default();
    resp.error_code = err_code(&r);
    resp
}
