//! A minimal Kafka protocol client over one TCP connection: the `brook` admin tools and the
//! tests use it. It negotiates versions with ApiVersions and sends one request at a time.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), brook_broker::server::wire_client::ClientError> {
//! use brook_broker::server::wire_client::Client;
//! use kafka_protocol::messages::MetadataRequest;
//! let mut c = Client::connect("127.0.0.1:9092").await?;
//! let md = c.send(MetadataRequest::default()).await?;
//! println!("{} brokers", md.brokers.len());
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What can go wrong talking to a broker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Connecting, reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What the client was doing.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The broker's answer did not decode, or it does not support the request.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// No answer in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// One connection to a Kafka-protocol broker.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    correlation_id: i32,
    versions: HashMap<i16, (i16, i16)>,
    client_id: String,
    timeout: Duration,
}

impl Client {
    /// Connects to `addr` (`host:port`) and negotiates API versions.
    ///
    /// # Errors
    /// [`ClientError::Io`] when the broker is unreachable; protocol errors.
    ///
    /// # Cancel safety
    /// Cancel safe: a dropped future closes the half-made connection.
    pub async fn connect(addr: &str) -> Result<Client, ClientError> {
        let timeout = Duration::from_secs(30);
        let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout(Duration::from_secs(10)))?
            .map_err(|e| ClientError::Io { context: format!("connecting to {addr}"), source: e })?;
        let _ = stream.set_nodelay(true);
        let mut c = Client { stream, correlation_id: 0, versions: HashMap::new(), client_id: "brook-cli".into(), timeout };
        let mut req = ApiVersionsRequest::default();
        req.client_software_name = StrBytes::from_static_str("brook");
        req.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
        let resp: ApiVersionsResponse = c.send_version(req, 3).await?;
        if resp.error_code != 0 {
            return Err(ClientError::Protocol(format!("ApiVersions failed with error {}", resp.error_code)));
        }
        c.versions = resp.api_keys.iter().map(|k| (k.api_key, (k.min_version, k.max_version))).collect();
        Ok(c)
    }

    /// Sets how long [`send`](Self::send) waits for an answer. Default: 30 s.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The highest version of `R` both sides support.
    ///
    /// # Errors
    /// [`ClientError::Protocol`] when the broker does not support `R` at all.
    pub fn version_for<R: Request>(&self) -> Result<i16, ClientError> {
        let (min, max) = self
            .versions
            .get(&R::KEY)
            .copied()
            .ok_or_else(|| ClientError::Protocol(format!("broker does not support api key {}", R::KEY)))?;
        let v = max.min(R::VERSIONS.max);
        if v < min.max(R::VERSIONS.min) {
            return Err(ClientError::Protocol(format!("no common version for api key {}", R::KEY)));
        }
        Ok(v)
    }

    /// Sends `req` at the highest common version and waits for its response.
    ///
    /// # Errors
    /// I/O, timeouts, undecodable responses.
    ///
    /// # Cancel safety
    /// Not cancel safe: a request may be half written or its response left unread on the
    /// connection; drop the client after cancelling a call.
    pub async fn send<R: Request>(&mut self, req: R) -> Result<R::Response, ClientError> {
        let v = self.version_for::<R>()?;
        self.send_version(req, v).await
    }

    /// Sends `req` at `version` and waits for its response.
    ///
    /// # Errors
    /// I/O, timeouts, undecodable responses.
    ///
    /// # Cancel safety
    /// Not cancel safe, as [`Client::send`].
    pub async fn send_version<R: Request>(&mut self, req: R, version: i16) -> Result<R::Response, ClientError> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let mut h = RequestHeader::default();
        h.request_api_key = R::KEY;
        h.request_api_version = version;
        h.correlation_id = self.correlation_id;
        h.client_id = Some(StrBytes::from_string(self.client_id.clone()));
        let key = ApiKey::try_from(R::KEY).map_err(|_| ClientError::Protocol("unknown api key".into()))?;
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        h.encode(&mut buf, R::header_version(version))
            .map_err(|e| ClientError::Protocol(format!("encoding request header: {e}")))?;
        req.encode(&mut buf, version)
            .map_err(|e| ClientError::Protocol(format!("encoding request: {e}")))?;
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        let io = |context: &str| {
            let context = context.to_owned();
            move |e| ClientError::Io { context, source: e }
        };
        let timeout = self.timeout;
        let fut = async {
            self.stream.write_all(&buf).await.map_err(io("sending request"))?;
            let mut len = [0u8; 4];
            self.stream.read_exact(&mut len).await.map_err(io("reading response"))?;
            let n = i32::from_be_bytes(len);
            if !(4..=1 << 30).contains(&n) {
                return Err(ClientError::Protocol(format!("bad response size {n}")));
            }
            let mut body = vec![0u8; n as usize];
            self.stream.read_exact(&mut body).await.map_err(io("reading response"))?;
            Ok::<_, ClientError>(Bytes::from(body))
        };
        let mut body = tokio::time::timeout(timeout, fut).await.map_err(|_| ClientError::Timeout(timeout))??;
        let hv = key.response_header_version(version);
        let rh = ResponseHeader::decode(&mut body, hv)
            .map_err(|e| ClientError::Protocol(format!("decoding response header: {e}")))?;
        if rh.correlation_id != self.correlation_id {
            return Err(ClientError::Protocol(format!(
                "correlation id {} does not match request {}",
                rh.correlation_id, self.correlation_id
            )));
        }
        let resp = R::Response::decode(&mut body, version)
            .map_err(|e| ClientError::Protocol(format!("decoding {key:?} v{version} response: {e}")))?;
        let _ = body.remaining();
        Ok(resp)
    }
}
