//! AddOffsetsToTxn (25).

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, RequestHeader};

use super::{err_code, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse {
    let (id, pid, epoch, group) =
        (req.transactional_id.0.to_string(), req.producer_id.0, req.producer_epoch, req.group_id.0.to_string());
    let r = ctx.blocking(move |b| b.add_offsets_to_txn(&id, pid, epoch, &group)).await.and_then(|r| r);
    let mut resp = AddOffsetsToTxnResponse::default();
    resp.error_code = err_code(&r);
    resp
}
