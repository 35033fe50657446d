//! SaslHandshake (17): only PLAIN, and only when `sasl.plain.users` is configured.

use kafka_protocol::messages::{RequestHeader, SaslHandshakeRequest, SaslHandshakeResponse};

use super::{str_bytes, Ctx};
use crate::error::ErrorCode;
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, conn: &mut ConnState, h: &RequestHeader, req: SaslHandshakeRequest) -> SaslHandshakeResponse {
    let mut resp = SaslHandshakeResponse::default();
    resp.mechanisms = vec![str_bytes("PLAIN")];
    if ctx.config.sasl_users.is_empty() {
        resp.error_code = ErrorCode::IllegalSaslState.as_i16();
        resp.mechanisms.clear();
    } else if req.mechanism.as_str() != "PLAIN" {
        resp.error_code = ErrorCode::UnsupportedSaslMechanism.as_i16();
    } else {
        conn.sasl_mechanism = Some("PLAIN".to_owned());
        // v0: the token follows as a raw frame instead of a SaslAuthenticate request.
        conn.raw_sasl_next = h.request_api_version == 0;
    }
    resp
}
