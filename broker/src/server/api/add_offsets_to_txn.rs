//! AddOffsetsToTxn (25).

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, RequestHeader};

use super::{err_code, Ctx};
use crate::server::conn::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse {
    let r = ctx.broker.add_offsets_to_txn(
        req.transactional_id.0.as_str(),
        req.producer_id.0,
        req.producer_epoch,
        req.group_id.0.as_str(),
    );
    let mut resp = AddOffsetsToTxnResponse::default();
    resp.error_code = err_code(&r);
    resp
}
