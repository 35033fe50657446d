//! Frame-handling tests: a real listener on 127.0.0.1:0, raw sockets for the bad frames.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, MetadataRequest, ProduceRequest, RequestHeader, ResponseHeader,
    SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wire_client::Client;
use super::ServerConfig;
use crate::{Broker, BrokerConfig};

struct Server {
    addr: String,
    ctx: std::sync::Arc<super::api::Ctx>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start(config: ServerConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let ctx = std::sync::Arc::new(super::api::Ctx::new(broker, config, listener.local_addr().unwrap()).unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let c = ctx.clone();
    let task = tokio::spawn(async move {
        super::serve_ctx(c, listener, rx).await.unwrap();
    });
    Server { addr, ctx, stop: Some(tx), task, _dir: dir }
}

impl Server {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), &mut self.task).await.unwrap().unwrap();
    }
}

/// A request frame (size prefix included) with a v1/v2 header chosen by the API key.
fn frame<R: Encodable>(key: ApiKey, version: i16, correlation_id: i32, body: &R) -> BytesMut {
    let mut b = BytesMut::new();
    b.put_i32(0);
    let mut h = RequestHeader::default();
    h.request_api_key = key as i16;
    h.request_api_version = version;
    h.correlation_id = correlation_id;
    h.client_id = Some(StrBytes::from_static_str("test"));
    h.encode(&mut b, key.request_header_version(version)).unwrap();
    body.encode(&mut b, version).unwrap();
    let n = (b.len() - 4) as i32;
    b[..4].copy_from_slice(&n.to_be_bytes());
    b
}

/// True when the server closed the connection (EOF or reset) within 5 s.
async fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await, Ok(Ok(0)) | Ok(Err(_)))
}

async fn read_response(s: &mut TcpStream) -> Bytes {
    let mut len = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut len)).await.unwrap().unwrap();
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).await.unwrap();
    Bytes::from(body)
}

/// Waits until `cond` holds, failing the test after 10 s.
pub(crate) async fn wait_for(cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "condition not reached within 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn still_serving(addr: &str) {
    let mut c = Client::connect(addr).await.unwrap();
    let md = c.send(MetadataRequest::default()).await.unwrap();
    assert_eq!(md.brokers.len(), 1);
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let srv = start(ServerConfig { socket_request_max_bytes: 1 << 20, ..ServerConfig::default() }).await;
    let mut keep = TcpStream::connect(&srv.addr).await.unwrap();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", {
            let mut v = 12i32.to_be_bytes().to_vec();
            v.extend_from_slice(&[0xff; 12]);
            v
        }),
        ("too short for a header", {
            let mut v = 3i32.to_be_bytes().to_vec();
            v.extend_from_slice(&[0, 3, 0]);
            v
        }),
        ("negative length", (-5i32).to_be_bytes().to_vec()),
        ("oversize length", ((1 << 20) + 1i32).to_be_bytes().to_vec()),
        ("unknown api key", {
            let mut v = 10i32.to_be_bytes().to_vec();
            v.extend_from_slice(&[0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff]);
            v
        }),
        ("unsupported metadata version", frame(ApiKey::Metadata, 0, 1, &MetadataRequest::default())
            .iter()
            .enumerate()
            .map(|(i, b)| if i == 7 { 99 } else { *b })
            .collect()),
        ("truncated body", {
            let mut f = frame(ApiKey::Metadata, 4, 1, &MetadataRequest::default()).to_vec();
            let declared = (f.len() - 4 + 20) as i32;
            f[..4].copy_from_slice(&declared.to_be_bytes());
            f
        }),
    ];
    for (name, bytes) in cases {
        let mut s = TcpStream::connect(&srv.addr).await.unwrap();
        s.write_all(&bytes).await.unwrap();
        if name == "truncated body" {
            s.shutdown().await.unwrap();
        }
        assert!(closed(&mut s).await, "{name}: connection should be closed");
        still_serving(&srv.addr).await;
    }
    // The connection opened before the bad ones still works.
    keep.write_all(&frame(ApiKey::ApiVersions, 0, 7, &ApiVersionsRequest::default())).await.unwrap();
    let mut r = read_response(&mut keep).await;
    assert_eq!(ResponseHeader::decode(&mut r, 0).unwrap().correlation_id, 7);
    srv.stop().await;
}

#[tokio::test]
async fn unsupported_api_versions_version_gets_a_v0_error_response() {
    let srv = start(ServerConfig::default()).await;
    let mut s = TcpStream::connect(&srv.addr).await.unwrap();
    let mut f = frame(ApiKey::ApiVersions, 3, 42, &ApiVersionsRequest::default());
    f[6..8].copy_from_slice(&99i16.to_be_bytes());
    s.write_all(&f).await.unwrap();
    let mut r = read_response(&mut s).await;
    assert_eq!(ResponseHeader::decode(&mut r, 0).unwrap().correlation_id, 42);
    let resp = kafka_protocol::messages::ApiVersionsResponse::decode(&mut r, 0).unwrap();
    assert_eq!(resp.error_code, 35);
    assert!(resp.api_keys.iter().any(|k| k.api_key == ApiKey::ApiVersions as i16 && k.max_version == 3));
    srv.stop().await;
}

#[test]
fn api_versions_v3_carries_no_tagged_fields() {
    let b = super::api::api_versions::encoded(3);
    let n = super::api::SUPPORTED.len();
    // error code, compact array (n+1 varint, 7 bytes per entry incl. its empty tag buffer),
    // throttle time, then an empty tag buffer: nothing else.
    assert_eq!(b.len(), 2 + 1 + n * 7 + 4 + 1);
    assert_eq!(*b.last().unwrap(), 0);
}

#[tokio::test]
async fn produce_with_acks_zero_gets_no_response() {
    let srv = start(ServerConfig::default()).await;
    let mut s = TcpStream::connect(&srv.addr).await.unwrap();
    let mut p = ProduceRequest::default();
    p.acks = 0;
    p.timeout_ms = 1000;
    s.write_all(&frame(ApiKey::Produce, 3, 1, &p)).await.unwrap();
    s.write_all(&frame(ApiKey::ApiVersions, 0, 2, &ApiVersionsRequest::default())).await.unwrap();
    let mut r = read_response(&mut s).await;
    assert_eq!(ResponseHeader::decode(&mut r, 0).unwrap().correlation_id, 2);
    srv.stop().await;
}

#[tokio::test]
async fn sasl_plain_is_required_when_users_are_configured() {
    let mut config = ServerConfig::default();
    config.set("sasl.plain.users", "alice:secret").unwrap();
    let srv = start(config).await;

    // Metadata before authenticating closes the connection.
    let mut c = Client::connect(&srv.addr).await.unwrap();
    assert!(c.send(MetadataRequest::default()).await.is_err());

    for (password, ok) in [("wrong", false), ("secret", true)] {
        let mut c = Client::connect(&srv.addr).await.unwrap();
        let mut hs = SaslHandshakeRequest::default();
        hs.mechanism = StrBytes::from_static_str("PLAIN");
        assert_eq!(c.send(hs).await.unwrap().error_code, 0);
        let mut auth = SaslAuthenticateRequest::default();
        auth.auth_bytes = Bytes::from(format!("\0alice\0{password}"));
        let r = c.send(auth).await.unwrap();
        assert_eq!(r.error_code == 0, ok, "password {password}");
        if ok {
            assert_eq!(c.send(MetadataRequest::default()).await.unwrap().brokers.len(), 1);
        }
    }
    srv.stop().await;
}

#[tokio::test]
async fn idle_connections_are_reaped() {
    let srv = start(ServerConfig { connections_max_idle: Duration::from_millis(200), ..ServerConfig::default() }).await;
    let mut s = TcpStream::connect(&srv.addr).await.unwrap();
    assert!(closed(&mut s).await);
    srv.stop().await;
}

#[test]
fn decode_request_never_panics_on_prefixes() {
    let f = frame(ApiKey::Metadata, 12, 9, &MetadataRequest::default()).freeze();
    for n in 4..f.len() {
        let _ = super::decode_request(f.slice(4..n));
    }
    assert!(super::decode_request(f.slice(4..)).is_ok());
}

#[tokio::test]
async fn sasl_handshake_v0_takes_a_raw_token() {
    let mut config = ServerConfig::default();
    config.set("sasl.plain.users", "bob:pw").unwrap();
    let srv = start(config).await;
    let mut s = TcpStream::connect(&srv.addr).await.unwrap();
    let mut hs = SaslHandshakeRequest::default();
    hs.mechanism = StrBytes::from_static_str("PLAIN");
    s.write_all(&frame(ApiKey::SaslHandshake, 0, 1, &hs)).await.unwrap();
    let mut r = read_response(&mut s).await;
    assert_eq!(ResponseHeader::decode(&mut r, 0).unwrap().correlation_id, 1);
    let token = b"\0bob\0pw";
    let mut raw = (token.len() as i32).to_be_bytes().to_vec();
    raw.extend_from_slice(token);
    s.write_all(&raw).await.unwrap();
    assert!(read_response(&mut s).await.is_empty(), "an empty frame acknowledges the token");
    s.write_all(&frame(ApiKey::Metadata, 4, 2, &MetadataRequest::default())).await.unwrap();
    let mut r = read_response(&mut s).await;
    assert_eq!(ResponseHeader::decode(&mut r, 0).unwrap().correlation_id, 2);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announced_frame_sizes_reserve_nothing_until_the_bytes_arrive() {
    let srv = start(ServerConfig::default()).await;
    // 300 connections each announce a 100 MiB request, send 100 bytes of it and stall.
    let mut stalled = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(&srv.addr).await.unwrap();
        let mut announce = 104_857_600i32.to_be_bytes().to_vec();
        announce.extend_from_slice(&[0u8; 100]);
        s.write_all(&announce).await.unwrap();
        stalled.push(s);
    }
    // Each holds at most one 64 KiB chunk of the budget, not 100 MiB.
    let bound = 300 * 64 * 1024;
    wait_for(|| srv.ctx.memory.in_use() >= 100 * 300).await;
    assert!(srv.ctx.memory.in_use() <= bound, "{} bytes held", srv.ctx.memory.in_use());
    // Normal requests are still answered.
    for _ in 0..3 {
        still_serving(&srv.addr).await;
    }
    assert!(srv.ctx.memory.in_use() <= bound);
    drop(stalled);
    wait_for(|| srv.ctx.memory.in_use() == 0).await;
    srv.stop().await;
}

#[tokio::test]
async fn unauthenticated_connections_may_not_announce_large_frames() {
    let mut config = ServerConfig::default();
    config.set("sasl.plain.users", "alice:secret").unwrap();
    let srv = start(config).await;
    let mut s = TcpStream::connect(&srv.addr).await.unwrap();
    s.write_all(&(1i32 << 20).to_be_bytes()).await.unwrap();
    assert!(closed(&mut s).await, "1 MiB before authenticating is above sasl.server.max.receive.size");
    assert_eq!(srv.ctx.memory.in_use(), 0);
    srv.stop().await;
}

#[tokio::test]
async fn metadata_lists_the_replica_offline_while_appends_fail_on_storage() {
    let srv = start(ServerConfig::default()).await;
    srv.ctx.broker.create_topic("t", 2, Default::default()).unwrap();
    let p1 = srv.ctx.broker.inner.partition("t", 1).unwrap();
    p1.inject_storage_fault(Some(std::io::ErrorKind::StorageFull));
    let mut batch = crate::record::BatchBuilder::new(crate::record::Compression::None);
    batch.push(1, None, Some(b"v"), &[]);
    assert!(srv.ctx.broker.produce("t", 1, &mut batch.build().unwrap()).is_err());
    let mut c = Client::connect(&srv.addr).await.unwrap();
    let mut all = MetadataRequest::default();
    all.topics = None;
    let md = c.send(all).await.unwrap();
    let t = md.topics.iter().find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "t")).unwrap();
    let offline: Vec<Vec<i32>> = t.partitions.iter().map(|p| p.offline_replicas.iter().map(|b| b.0).collect()).collect();
    assert_eq!(offline, [vec![], vec![0]]);
    srv.stop().await;
}

/// Produce and Fetch do their file I/O off the async workers: with one worker, a produce stuck
/// in its fsync (flush.messages=1 on a slow disk) must not stall another connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_produce_waiting_for_the_disk_does_not_stall_other_connections() {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{ProduceResponse, TopicName};

    let srv = start(ServerConfig::default()).await;
    let config = [("flush.messages".to_owned(), "1".to_owned())].into_iter().collect();
    srv.ctx.broker.create_topic("slow", 1, config).unwrap();
    let mut disk = crate::log::block_syncs_under(crate::topic::partition_dir(srv._dir.path(), "slow", 0));

    let mut batch = crate::record::BatchBuilder::new(crate::record::Compression::None);
    batch.push(1, Some(b"k"), Some(b"v"), &[]);
    let mut part = PartitionProduceData::default();
    part.records = Some(Bytes::from(batch.build().unwrap()));
    let mut topic = TopicProduceData::default();
    topic.name = TopicName(StrBytes::from_static_str("slow"));
    topic.partition_data.push(part);
    let mut produce = ProduceRequest::default();
    produce.acks = -1;
    produce.timeout_ms = 10_000;
    produce.topic_data.push(topic);
    let mut a = TcpStream::connect(&srv.addr).await.unwrap();
    a.write_all(&frame(ApiKey::Produce, 3, 1, &produce)).await.unwrap();
    tokio::task::block_in_place(|| disk.entered.recv_timeout(Duration::from_secs(10))).expect("the produce reaches its fsync");

    // The only worker is not held by the blocked append: another client is served meanwhile.
    // The client runs on a runtime of its own, so a stalled server fails the test instead of
    // also stalling the timer that would fail it.
    let (served, addr) = (std::sync::mpsc::channel(), srv.addr.clone());
    let tx = served.0;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(still_serving(&addr));
        let _ = tx.send(());
    });
    let answered = tokio::task::block_in_place(|| served.1.recv_timeout(Duration::from_secs(10)));
    disk.release();
    assert!(answered.is_ok(), "a Metadata request is answered while a produce waits for the disk");
    let mut r = read_response(&mut a).await;
    assert_eq!(ResponseHeader::decode(&mut r, 0).unwrap().correlation_id, 1);
    let resp = ProduceResponse::decode(&mut r, 3).unwrap();
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    srv.stop().await;
}
