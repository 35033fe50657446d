//! SaslAuthenticate (36): SASL/PLAIN against `sasl.plain.users`.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{RequestHeader, SaslAuthenticateRequest, SaslAuthenticateResponse};

use super::{str_bytes, Ctx, Reply};
use crate::error::ErrorCode;
use crate::server::session::ConnState;

/// Checks a PLAIN token (`authzid NUL user NUL password`).
fn check_plain(ctx: &Ctx, token: &[u8]) -> Result<String, String> {
    let mut parts = token.split(|b| *b == 0);
    let (_authz, user, pass) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(u), Some(p), None) => (a, u, p),
        _ => return Err("invalid SASL/PLAIN token".to_owned()),
    };
    let user = String::from_utf8_lossy(user).into_owned();
    match ctx.config.sasl_users.get(&user) {
        Some(p) if p.as_bytes() == pass => Ok(user),
        _ => Err("Authentication failed: Invalid username or password".to_owned()),
    }
}

pub(crate) async fn handle(ctx: &Ctx, conn: &mut ConnState, _: &RequestHeader, req: SaslAuthenticateRequest) -> SaslAuthenticateResponse {
    let mut resp = SaslAuthenticateResponse::default();
    if conn.sasl_mechanism.is_none() {
        resp.error_code = ErrorCode::IllegalSaslState.as_i16();
        resp.error_message = Some(str_bytes("SaslAuthenticate before SaslHandshake"));
        return resp;
    }
    match check_plain(ctx, &req.auth_bytes) {
        Ok(user) => {
            tracing::debug!(peer = %conn.peer, user, "SASL/PLAIN authenticated");
            conn.authenticated = true;
        }
        Err(m) => {
            resp.error_code = ErrorCode::SaslAuthenticationFailed.as_i16();
            resp.error_message = Some(str_bytes(m));
        }
    }
    resp
}

/// The raw token after a SaslHandshake v0: an empty frame on success, else the connection closes.
pub(crate) fn raw_token(ctx: &Ctx, conn: &mut ConnState, token: &[u8]) -> Reply {
    conn.raw_sasl_next = false;
    match check_plain(ctx, token) {
        Ok(_) => {
            conn.authenticated = true;
            let mut b = BytesMut::with_capacity(4);
            b.put_i32(0);
            Reply::Send(b)
        }
        Err(m) => Reply::Close(m),
    }
}
