//! ApiVersions (18): the supported API table.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader};

use super::{Ctx, Reply};
use crate::error::ErrorCode;
use crate::server::session::ConnState;
use crate::server::frame::encode_response;

/// The response body listing every API of `supported`. Tagged fields stay at their defaults, so
/// nothing but the header fields is encoded (librdkafka 2.0 reads no tagged features).
pub(crate) fn response(error: i16, supported: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.error_code = error;
    r.api_keys = supported
        .iter()
        .map(|(k, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = *k as i16;
            v.min_version = *min;
            v.max_version = *max;
            v
        })
        .collect();
    r.finalized_features_epoch = -1;
    r
}

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, _: ApiVersionsRequest) -> ApiVersionsResponse {
    response(0, ctx.supported)
}

/// An ApiVersions request at a version this broker does not know: answered in the v0 format
/// with UNSUPPORTED_VERSION and the supported list, as Kafka does, so the client can retry.
pub(crate) fn unsupported(correlation_id: i32, supported: &[(ApiKey, i16, i16)]) -> Reply {
    match encode_response(correlation_id, 0, 0, &response(ErrorCode::UnsupportedVersion.as_i16(), supported)) {
        Ok(b) => Reply::Send(b),
        Err(e) => Reply::Close(format!("cannot encode ApiVersions: {e}")),
    }
}

/// Encodes the response at `version` without a size prefix or header (for tests).
#[cfg(test)]
pub(crate) fn encoded(version: i16) -> bytes::BytesMut {
    use kafka_protocol::protocol::Encodable;
    let mut b = bytes::BytesMut::new();
    response(0, super::SUPPORTED).encode(&mut b, version).unwrap();
    b
}
