//! Fetch (1): long polling on the requested topics' append signals (an append to another topic
//! does not wake the request), read_committed with the aborted
//! transactions list, response and partition byte limits. Fetch sessions are refused the way
//! Kafka does when it has no session slots: session id 0 and full responses every time.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::Encodable;
use tokio::time::Instant;

use super::{code, Ctx, Reply};
use crate::error::ErrorCode;
use crate::partition::IsolationLevel;
use crate::server::session::ConnState;
use crate::server::frame::encode_response;

/// Longest long poll honoured, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(30);

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: FetchRequest) -> FetchResponse {
    if req.session_id != 0 {
        let mut r = FetchResponse::default();
        r.error_code = ErrorCode::FetchSessionIdNotFound.as_i16();
        return r;
    }
    let wait = Duration::from_millis(req.max_wait_ms.max(0) as u64).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    // Watched before the first read: an append between the read and the wait is not missed.
    let mut changes = ctx.broker.watch_topics(req.topics.iter().map(|t| t.topic.0.as_str()));
    loop {
        #[cfg(test)]
        ctx.fetch_reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (resp, bytes, stop) = ctx.disk_io(|| read(ctx, &req));
        if stop || bytes >= req.min_bytes.max(1) as usize || Instant::now() >= deadline {
            return resp;
        }
        tokio::select! {
            () = changes.changed() => {}
            () = tokio::time::sleep_until(deadline) => return ctx.disk_io(|| read(ctx, &req)).0,
        }
    }
}

/// The reply to a Fetch: the response in parts (see [`encode_parts`]).
pub(crate) fn reply(correlation_id: i32, header_version: i16, version: i16, resp: FetchResponse) -> Reply {
    match encode_parts(correlation_id, header_version, version, resp) {
        Ok(parts) => Reply::SendParts(parts),
        Err(e) => Reply::Close(format!("cannot encode Fetch v{version} response: {e}")),
    }
}

/// One pass over the requested partitions (file I/O: called through [`Ctx::disk_io`]):
/// (response, record bytes, whether an error means the
/// fetch must return at once).
fn read(ctx: &Ctx, req: &FetchRequest) -> (FetchResponse, usize, bool) {
    let isolation = if req.isolation_level == 1 {
        IsolationLevel::ReadCommitted
    } else {
        IsolationLevel::ReadUncommitted
    };
    let mut budget = if req.max_bytes <= 0 { usize::MAX } else { req.max_bytes as usize };
    let mut total = 0usize;
    let mut stop = false;
    let mut resp = FetchResponse::default();
    for t in &req.topics {
        let topic = t.topic.0.as_str();
        let mut tr = FetchableTopicResponse::default();
        tr.topic = t.topic.clone();
        tr.topic_id = t.topic_id;
        for p in &t.partitions {
            let mut pd = PartitionData::default();
            pd.partition_index = p.partition;
            pd.high_watermark = -1;
            pd.last_stable_offset = -1;
            pd.log_start_offset = -1;
            let max = (p.partition_max_bytes.max(0) as usize).min(budget);
            let res = if max == 0 {
                ctx.broker.fetch(topic, p.partition, p.fetch_offset, 0, isolation).map(|mut d| {
                    d.records = Default::default();
                    d
                })
            } else {
                ctx.broker.fetch(topic, p.partition, p.fetch_offset, max, isolation)
            };
            match res {
                Ok(d) => {
                    pd.high_watermark = d.high_watermark;
                    pd.last_stable_offset = d.last_stable_offset;
                    pd.log_start_offset = d.log_start_offset;
                    if isolation == IsolationLevel::ReadCommitted {
                        pd.aborted_transactions = Some(
                            d.aborted
                                .iter()
                                .map(|a| {
                                    let mut at = AbortedTransaction::default();
                                    at.producer_id = ProducerId(a.producer_id);
                                    at.first_offset = a.first_offset;
                                    at
                                })
                                .collect(),
                        );
                    }
                    let n = d.records.len();
                    total += n;
                    budget = budget.saturating_sub(n);
                    pd.records = Some(d.records);
                }
                Err(e) => {
                    stop = true;
                    pd.error_code = code(&e);
                    pd.records = Some(Default::default());
                }
            }
            tr.partitions.push(pd);
        }
        resp.responses.push(tr);
    }
    (resp, total, stop)
}

/// Record sets at least this large are written from the buffer they were read into; smaller ones
/// are copied into the response with the fields around them.
const SPLICE_MIN: usize = 16 * 1024;

/// Encodes a Fetch response (size prefix, header, body) as a list of byte strings to write one
/// after the other: the fields, with each large record set left as its own part, so the bytes
/// read from the log go to the socket without being copied into a response buffer. The parts
/// concatenated are exactly what [`encode_response`] produces (the tests compare both).
///
/// # Errors
/// As [`encode_response`]: a response that cannot be encoded at `version`.
pub(crate) fn encode_parts(
    correlation_id: i32,
    header_version: i16,
    version: i16,
    mut resp: FetchResponse,
) -> Result<Vec<Bytes>, String> {
    let flexible = version >= 12;
    let plain = version > 12
        || !resp.unknown_tagged_fields.is_empty()
        || resp.responses.iter().any(|t| !t.unknown_tagged_fields.is_empty());
    if plain {
        return encode_response(correlation_id, header_version, version, &resp).map(|b| vec![b.freeze()]);
    }
    let mut h = ResponseHeader::default();
    h.correlation_id = correlation_id;
    let size = h.compute_size(header_version).map_err(|e| e.to_string())?
        + resp.compute_size(version).map_err(|e| e.to_string())?;
    let size = i32::try_from(size).map_err(|e| e.to_string())?;
    let mut parts = Vec::new();
    let mut buf = BytesMut::with_capacity(1024);
    buf.put_i32(size);
    h.encode(&mut buf, header_version).map_err(|e| e.to_string())?;
    buf.put_i32(resp.throttle_time_ms);
    if version >= 7 {
        buf.put_i16(resp.error_code);
        buf.put_i32(resp.session_id);
    }
    put_len(&mut buf, flexible, resp.responses.len())?;
    for t in &mut resp.responses {
        let name = t.topic.0.as_bytes();
        if flexible {
            put_uvarint(&mut buf, name.len() + 1)?;
        } else {
            buf.put_i16(i16::try_from(name.len()).map_err(|e| e.to_string())?);
        }
        buf.put_slice(name);
        put_len(&mut buf, flexible, t.partitions.len())?;
        for p in &mut t.partitions {
            let no_tags = p.diverging_epoch == Default::default()
                && p.current_leader == Default::default()
                && p.snapshot_id == Default::default()
                && p.unknown_tagged_fields.is_empty();
            let spliced = match &p.records {
                Some(r) if r.len() >= SPLICE_MIN && no_tags => p.records.replace(Bytes::new()),
                _ => None,
            };
            p.encode(&mut buf, version).map_err(|e| e.to_string())?;
            let Some(records) = spliced else { continue };
            // The partition ends with its empty record set's length and, flexible, its (empty)
            // tagged fields: put the real length there and the records after it.
            let tail: &[u8] = if flexible { &[1, 0] } else { &[0, 0, 0, 0] };
            if !buf.ends_with(tail) {
                return Err("unexpected encoding of a fetched partition".to_owned());
            }
            buf.truncate(buf.len() - tail.len());
            if flexible {
                put_uvarint(&mut buf, records.len() + 1)?;
            } else {
                buf.put_i32(i32::try_from(records.len()).map_err(|e| e.to_string())?);
            }
            parts.push(buf.split().freeze());
            parts.push(records);
            if flexible {
                buf.put_u8(0);
            }
        }
        if flexible {
            buf.put_u8(0);
        }
    }
    if flexible {
        buf.put_u8(0);
    }
    parts.push(buf.freeze());
    let written: usize = parts.iter().map(Bytes::len).sum();
    if written != size as usize + 4 {
        return Err(format!("fetch response of {written} bytes, {} expected", size as usize + 4));
    }
    Ok(parts)
}

/// An array length: i32, or (flexible versions) an unsigned varint of the length plus one.
fn put_len(buf: &mut BytesMut, flexible: bool, n: usize) -> Result<(), String> {
    if flexible {
        put_uvarint(buf, n + 1)
    } else {
        buf.put_i32(i32::try_from(n).map_err(|e| e.to_string())?);
        Ok(())
    }
}

fn put_uvarint(buf: &mut BytesMut, n: usize) -> Result<(), String> {
    let mut n = u32::try_from(n).map_err(|e| e.to_string())?;
    while n >= 0x80 {
        buf.put_u8((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    buf.put_u8(n as u8);
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::messages::fetch_response::{
        AbortedTransaction, EpochEndOffset, FetchableTopicResponse, PartitionData,
    };
    use kafka_protocol::messages::{FetchResponse, ProducerId, TopicName};
    use kafka_protocol::protocol::StrBytes;

    use super::encode_parts;
    use crate::server::frame::encode_response;

    fn records(n: usize, seed: u8) -> Option<Bytes> {
        Some(Bytes::from((0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect::<Vec<_>>()))
    }

    fn response(version: i16, tagged: bool) -> FetchResponse {
        let mut resp = FetchResponse::default();
        resp.throttle_time_ms = 7;
        if version >= 7 {
            resp.session_id = 0;
            resp.error_code = 0;
        }
        let sizes = [None, Some(0), Some(100), Some(16 * 1024), Some(200_000), Some(70_000)];
        for (t, name) in ["a", "a-much-longer-topic-name"].into_iter().enumerate() {
            let mut tr = FetchableTopicResponse::default();
            tr.topic = TopicName(StrBytes::from_static_str(name));
            for (i, size) in sizes.iter().enumerate() {
                let mut pd = PartitionData::default();
                pd.partition_index = i as i32;
                pd.error_code = if i == 1 { 1 } else { 0 };
                pd.high_watermark = 1000 + i as i64;
                pd.last_stable_offset = 900;
                pd.log_start_offset = if version >= 5 { 3 } else { -1 };
                if i % 2 == 0 {
                    let mut a = AbortedTransaction::default();
                    a.producer_id = ProducerId(42);
                    a.first_offset = 17;
                    pd.aborted_transactions = Some(vec![a]);
                }
                pd.records = size.and_then(|n| records(n, (t * 10 + i) as u8));
                if tagged && i == 4 {
                    let mut e = EpochEndOffset::default();
                    e.epoch = 3;
                    e.end_offset = 99;
                    pd.diverging_epoch = e;
                }
                tr.partitions.push(pd);
            }
            resp.responses.push(tr);
        }
        resp
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fetch_waiting_on_one_topic_is_not_woken_by_appends_to_another() {
        use std::sync::atomic::Ordering;
        use std::sync::Arc;
        use std::time::Duration;

        use brook_common::test_support::wait_until_async;
        use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
        use kafka_protocol::messages::{FetchRequest, RequestHeader};

        use crate::record::{BatchBuilder, Compression};
        use crate::server::api::Ctx;
        use crate::server::session::ConnState;
        use crate::server::ServerConfig;
        use crate::{Broker, BrokerConfig};

        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
        broker.create_topic("a", 1, Default::default()).unwrap();
        broker.create_topic("b", 1, Default::default()).unwrap();
        let peer = "127.0.0.1:9092".parse().unwrap();
        let ctx = Arc::new(Ctx::new(broker.clone(), ServerConfig::default(), peer).unwrap());
        let mut req = FetchRequest::default();
        req.max_wait_ms = 20_000;
        req.min_bytes = 1;
        req.max_bytes = 1 << 20;
        let mut topic = FetchTopic::default();
        topic.topic = TopicName(StrBytes::from_static_str("a"));
        let mut partition = FetchPartition::default();
        partition.partition_max_bytes = 1 << 20;
        topic.partitions.push(partition);
        req.topics.push(topic);
        let waiting = {
            let ctx = Arc::clone(&ctx);
            tokio::spawn(async move { super::handle(&ctx, &mut ConnState::new(peer, false), &RequestHeader::default(), req).await })
        };
        let reads = || ctx.fetch_reads.load(Ordering::SeqCst);
        wait_until_async("the fetch read once and waits", Duration::from_secs(10), || async { reads() == 1 }).await;
        let batch = || {
            let mut b = BatchBuilder::new(Compression::None);
            b.push(0, Some(b"k"), Some(b"v"), &[]);
            b.build().unwrap()
        };
        for _ in 0..20 {
            broker.produce("b", 0, &mut batch()).unwrap();
        }
        // Room for a wrong wake-up to show (it would read "a" again).
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(reads(), 1, "appends to b woke the fetch waiting on a");
        assert!(!waiting.is_finished());
        broker.produce("a", 0, &mut batch()).unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap();
        assert!(resp.responses[0].partitions[0].records.as_ref().is_some_and(|r| !r.is_empty()));
        assert_eq!(reads(), 2, "one wake-up, for the append to a");
        broker.shutdown().await;
    }

    #[test]
    fn spliced_fetch_responses_are_byte_for_byte_the_plain_encoding() {
        for version in 4..=12 {
            for tagged in [false, true] {
                if tagged && version < 12 {
                    continue;
                }
                let resp = response(version, tagged);
                let hv = if version >= 12 { 1 } else { 0 };
                let plain = encode_response(5, hv, version, &resp).unwrap();
                let parts = encode_parts(5, hv, version, resp).unwrap();
                assert!(parts.len() > 1, "v{version}: large record sets are separate parts");
                assert_eq!(parts.concat(), plain.to_vec(), "v{version} tagged={tagged}");
            }
        }
    }
}
