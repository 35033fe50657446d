//! What every API handler shares: the connection's [`Reply`], the handlers' context [`Ctx`]
//! (the broker and this node's identity) and the small conversions the handlers use.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;
use crate::error::{Error, Result};
use crate::server::ServerConfig;

/// What the connection does after a request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Write these bytes (size prefix included).
    Send(BytesMut),
    /// Write these byte strings one after the other (size prefix included in the first).
    SendParts(Vec<Bytes>),
    /// No response (Produce with acks=0).
    Nothing,
    /// Close the connection.
    Close(String),
}

/// What every handler can see: the broker and this node's identity.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) broker: Broker,
    pub(crate) config: ServerConfig,
    pub(crate) node_id: i32,
    pub(crate) host: String,
    pub(crate) port: i32,
    pub(crate) cluster_id: String,
    /// The APIs and versions this broker implements (the dispatcher's table, `api::SUPPORTED`).
    pub(crate) supported: &'static [(ApiKey, i16, i16)],
    /// `queued.max.request.bytes`: what all request bodies in flight may hold.
    pub(crate) memory: crate::server::memory::RequestMemory,
    /// Passes of Fetch requests over their partitions (the first read and one per wake-up).
    #[cfg(test)]
    pub(crate) fetch_reads: std::sync::atomic::AtomicU64,
}

impl Ctx {
    /// The context of a server on `local` answering with the APIs of `supported`.
    pub(crate) fn with_versions(
        broker: Broker,
        config: ServerConfig,
        local: SocketAddr,
        supported: &'static [(ApiKey, i16, i16)],
    ) -> Result<Ctx> {
        let (host, port) = match &config.advertised {
            Some((h, p)) => (h.clone(), i32::from(*p)),
            None => {
                let ip = local.ip();
                let host = if ip.is_unspecified() { "localhost".to_owned() } else { ip.to_string() };
                (host, i32::from(local.port()))
            }
        };
        let cluster_id = cluster_id(&broker.config().log_dir)?;
        let memory = crate::server::memory::RequestMemory::new(config.queued_max_request_bytes);
        Ok(Ctx {
            node_id: broker.config().node_id,
            broker,
            config,
            host,
            port,
            cluster_id,
            supported,
            memory,
            #[cfg(test)]
            fetch_reads: Default::default(),
        })
    }

    /// Runs the file I/O of a Produce or Fetch (log appends with their fsyncs, segment reads)
    /// without holding an async worker: on a multi-threaded runtime the worker hands its other
    /// tasks to another thread for the duration (`block_in_place`), so a slow disk delays only
    /// this request; on a current-thread runtime (tests, embedding) `f` runs in place.
    pub(crate) fn disk_io<T>(&self, f: impl FnOnce() -> T) -> T {
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
            _ => f(),
        }
    }

    /// Runs `f` on tokio's blocking pool: for the coordinator requests that wait for an fsync.
    /// [`Error::Shutdown`] when the runtime drops the task.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(Broker) -> T + Send + 'static,
    ) -> Result<T> {
        let broker = self.broker.clone();
        tokio::task::spawn_blocking(move || f(broker))
            .await
            .map_err(|e| match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Error::Shutdown,
            })
    }
}

/// The cluster id, stored in `meta.properties` in the data directory (created on first start).
fn cluster_id(dir: &std::path::Path) -> Result<String> {
    let path = dir.join("meta.properties");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Some(id) = text.lines().find_map(|l| l.strip_prefix("cluster.id=")) {
            return Ok(id.trim().to_owned());
        }
    }
    let id = base64url(&rand::random::<[u8; 16]>());
    let body = format!("version=1\ncluster.id={id}\n");
    crate::topic::write_atomically(dir, "meta.properties", body.as_bytes())?;
    Ok(id)
}

/// Unpadded base64url, as Kafka prints cluster ids and topic ids.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

pub(crate) fn str_bytes(v: impl Into<String>) -> StrBytes {
    StrBytes::from_string(v.into())
}

pub(crate) fn topic_name(v: &str) -> TopicName {
    TopicName(str_bytes(v))
}

pub(crate) fn code(e: &Error) -> i16 {
    e.code().as_i16()
}

pub(crate) fn err_code<T>(r: &Result<T>) -> i16 {
    r.as_ref().err().map_or(0, code)
}
