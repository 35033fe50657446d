//! Request frames: the header, the version checks, and response encoding. Nothing here panics on
//! input; every malformed frame is an error that closes its connection.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

/// A request whose header has been decoded and whose API and version are supported.
#[derive(Debug)]
pub struct Frame {
    /// The API.
    pub api_key: ApiKey,
    /// The request header.
    pub header: RequestHeader,
    /// The undecoded request body.
    pub body: Bytes,
}

/// Why a frame could not be turned into a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Truncated or undecodable bytes.
    Malformed(String),
    /// An API key this broker does not know.
    UnknownApiKey {
        /// The key on the wire.
        api_key: i16,
        /// The correlation id, to answer ApiVersions.
        correlation_id: i32,
    },
    /// A known API at a version outside the supported range.
    UnsupportedVersion {
        /// The API.
        api_key: ApiKey,
        /// The requested version.
        api_version: i16,
        /// The correlation id.
        correlation_id: i32,
    },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Malformed(m) => write!(f, "malformed request: {m}"),
            FrameError::UnknownApiKey { api_key, .. } => write!(f, "unknown api key {api_key}"),
            FrameError::UnsupportedVersion { api_key, api_version, .. } => {
                write!(f, "unsupported version {api_version} of {api_key:?}")
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// Decodes the request header of one frame (the bytes after the size prefix) and checks the API
/// key and version against `supported` (the version range served per API, `None`: not served;
/// the broker passes its dispatch table's).
///
/// # Errors
/// [`FrameError`]: malformed bytes, unknown API keys, unsupported versions.
pub fn parse_frame(mut frame: Bytes, supported: fn(ApiKey) -> Option<(i16, i16)>) -> Result<Frame, FrameError> {
    if frame.len() < 8 {
        return Err(FrameError::Malformed(format!("frame of {} bytes is too short", frame.len())));
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let api_key = ApiKey::try_from(key).map_err(|_| FrameError::UnknownApiKey {
        api_key: key,
        correlation_id,
    })?;
    let Some((min, max)) = supported(api_key) else {
        return Err(FrameError::UnknownApiKey { api_key: key, correlation_id });
    };
    if version < min || version > max {
        return Err(FrameError::UnsupportedVersion { api_key, api_version: version, correlation_id });
    }
    let header_version = api_key.request_header_version(version);
    let header = RequestHeader::decode(&mut frame, header_version)
        .map_err(|e| FrameError::Malformed(format!("request header: {e}")))?;
    Ok(Frame { api_key, header, body: frame })
}

/// Decodes a request body of type `T` at `version`.
///
/// # Errors
/// [`FrameError::Malformed`] when the bytes do not decode.
pub fn decode_body<T: Decodable>(body: &mut Bytes, version: i16) -> Result<T, FrameError> {
    T::decode(body, version).map_err(|e| FrameError::Malformed(format!("request body: {e}")))
}

/// Encodes a response with its size prefix and header (`header_version` 0 or 1).
///
/// # Errors
/// A message that cannot be encoded at `version` (a handler bug; the connection is closed).
pub fn encode_response<R: Encodable>(
    correlation_id: i32,
    header_version: i16,
    version: i16,
    response: &R,
) -> Result<BytesMut, String> {
    let mut h = ResponseHeader::default();
    h.correlation_id = correlation_id;
    // Sized up front: a Fetch response carries megabytes of records, and growing the buffer
    // would copy them again at every doubling.
    let size = h.compute_size(header_version).map_err(|e| e.to_string())?
        + response.compute_size(version).map_err(|e| e.to_string())?;
    let mut buf = BytesMut::with_capacity(4 + size);
    buf.put_i32(0);
    h.encode(&mut buf, header_version).map_err(|e| e.to_string())?;
    response.encode(&mut buf, version).map_err(|e| e.to_string())?;
    let len = i32::try_from(buf.len() - 4).map_err(|e| e.to_string())?;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf)
}

/// Reads the i32 size prefix of a frame from `buf`, if four bytes are there.
pub fn frame_len(mut buf: &[u8]) -> Option<i32> {
    (buf.len() >= 4).then(|| buf.get_i32())
}
