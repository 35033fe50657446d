//! Producing and fetching record batches over the wire, shared by the console and perf tools.

use std::collections::{BTreeMap, HashSet, VecDeque};

use anyhow::{anyhow, bail};
use brook_broker::record::batch::split_batches;
use brook_broker::record::{control_type, decode_batch, BatchBuilder, Compression, ControlType, Record};
use brook_broker::server::wire_client::Client;
use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{BrokerId, FetchRequest, ListOffsetsRequest, ProduceRequest};

use crate::admin::{error_name, tn};

/// Kafka's `Utils.murmur2`.
pub(crate) fn murmur2(data: &[u8]) -> i32 {
    let (m, r) = (0x5bd1_e995u32, 24);
    let mut h = 0x9747_b28cu32 ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(m);
        k ^= k >> r;
        k = k.wrapping_mul(m);
        h = h.wrapping_mul(m) ^ k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(m);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(m);
    h ^= h >> 15;
    h as i32
}

/// The Java client's partition for a key.
pub(crate) fn partition_for(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

/// The producer's `acks`: `all`/`-1` or `1`, with the Java client's message for other values
/// (`0` is valid in Kafka but the console and perf tools wait for every response).
pub(crate) fn parse_acks(v: &str) -> anyhow::Result<i16> {
    match v.trim() {
        "all" | "-1" => Ok(-1),
        "1" => Ok(1),
        "0" => bail!("acks=0 is not supported by brook's console and perf tools: use acks=1 or acks=all"),
        _ => bail!("Invalid value {v} for configuration acks: String must be one of: all, -1, 0, 1"),
    }
}

/// One record to send.
pub(crate) type Rec = (Option<Vec<u8>>, Vec<u8>);

/// Sends one batch per partition in one Produce request; returns the base offsets.
pub(crate) async fn produce(c: &mut Client, topic: &str, batches: &BTreeMap<i32, Vec<Rec>>, acks: i16) -> anyhow::Result<()> {
    let now = brook_common::now_ms();
    let mut td = TopicProduceData::default();
    td.name = tn(topic);
    for (p, recs) in batches {
        if recs.is_empty() {
            continue;
        }
        let mut b = BatchBuilder::new(Compression::None);
        for (k, v) in recs {
            b.push(now, k.as_deref(), Some(v), &[]);
        }
        let mut pd = PartitionProduceData::default();
        pd.index = *p;
        pd.records = Some(Bytes::from(b.build()?));
        td.partition_data.push(pd);
    }
    let mut req = ProduceRequest::default();
    req.acks = acks;
    req.timeout_ms = 30_000;
    req.topic_data = vec![td];
    let resp = c.send(req).await?;
    for t in &resp.responses {
        for p in &t.partition_responses {
            if p.error_code != 0 {
                let msg = p.error_message.as_ref().map_or(error_name(p.error_code).to_owned(), |m| m.to_string());
                bail!("producing to {topic}-{} failed: {msg}", p.index);
            }
        }
    }
    Ok(())
}

/// ListOffsets for every partition: `ts` -2 earliest, -1 latest.
pub(crate) async fn list_offsets(c: &mut Client, topic: &str, partitions: i32, ts: i64) -> anyhow::Result<Vec<i64>> {
    let mut t = ListOffsetsTopic::default();
    t.name = tn(topic);
    t.partitions = (0..partitions)
        .map(|p| {
            let mut lp = ListOffsetsPartition::default();
            lp.partition_index = p;
            lp.timestamp = ts;
            lp
        })
        .collect();
    let mut req = ListOffsetsRequest::default();
    req.replica_id = BrokerId(-1);
    req.topics = vec![t];
    let resp = c.send(req).await?;
    let mut out = vec![0; partitions as usize];
    for p in resp.topics.iter().flat_map(|t| t.partitions.iter()) {
        if p.error_code != 0 {
            bail!("ListOffsets for {topic}-{} failed: {}", p.partition_index, error_name(p.error_code));
        }
        if let Some(slot) = out.get_mut(p.partition_index as usize) {
            *slot = p.offset;
        }
    }
    Ok(out)
}

/// One Fetch for `positions` (partition -> next offset): the records, with positions advanced.
/// Under read_committed the records of aborted transactions and all control records are dropped.
pub(crate) async fn fetch(
    c: &mut Client,
    topic: &str,
    positions: &mut BTreeMap<i32, i64>,
    read_committed: bool,
    max_wait_ms: i32,
) -> anyhow::Result<Vec<(i32, Record)>> {
    let mut t = FetchTopic::default();
    t.topic = tn(topic);
    t.partitions = positions
        .iter()
        .map(|(p, o)| {
            let mut fp = FetchPartition::default();
            fp.partition = *p;
            fp.fetch_offset = *o;
            fp.partition_max_bytes = 1 << 20;
            fp.current_leader_epoch = -1;
            fp.last_fetched_epoch = -1;
            fp.log_start_offset = -1;
            fp
        })
        .collect();
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(-1);
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = 1;
    req.max_bytes = 50 << 20;
    req.isolation_level = i8::from(read_committed);
    req.session_epoch = -1;
    req.topics = vec![t];
    let resp = c.send(req).await?;
    if resp.error_code != 0 {
        bail!("fetch failed: {}", error_name(resp.error_code));
    }
    let mut out = Vec::new();
    for pd in resp.responses.iter().flat_map(|t| t.partitions.iter()) {
        let p = pd.partition_index;
        if pd.error_code != 0 {
            bail!("fetch from {topic}-{p} failed: {}", error_name(pd.error_code));
        }
        let Some(records) = &pd.records else { continue };
        let pos = positions.get_mut(&p).ok_or_else(|| anyhow!("unexpected partition {p}"))?;
        let mut aborted = AbortedFilter::new(pd.aborted_transactions.iter().flatten().map(|a| (a.producer_id.0, a.first_offset)).collect());
        let Ok(batches) = split_batches(records) else { continue };
        for (h, range) in batches {
            if h.last_offset() < *pos {
                continue;
            }
            let bytes = &records[range];
            let abort_marker = h.is_control() && control_type(bytes).ok() == Some(ControlType::Abort);
            let skip = aborted.skip(h.producer_id, h.last_offset(), h.is_transactional(), abort_marker);
            if h.is_control() {
                *pos = h.next_offset();
                continue;
            }
            if !(read_committed && skip) {
                let (_, recs) = decode_batch(bytes)?;
                out.extend(recs.into_iter().filter(|r| r.offset >= *pos).map(|r| (p, r)));
            }
            *pos = h.next_offset();
        }
    }
    Ok(out)
}

/// The read_committed filter of one partition's batches in a fetch, as the Java consumer's:
/// the aborted transactions the broker listed (producer id, first offset), in offset order, each
/// taken once, when the first batch reaching its first offset goes by; from then on that
/// producer's transactional batches are skipped until its ABORT marker.
#[derive(Debug)]
struct AbortedFilter {
    pending: VecDeque<(i64, i64)>,
    active: HashSet<i64>,
}

impl AbortedFilter {
    fn new(mut aborted: Vec<(i64, i64)>) -> Self {
        aborted.sort_by_key(|(_, first)| *first);
        AbortedFilter { pending: aborted.into(), active: HashSet::new() }
    }

    /// Whether the batch (its producer, last offset, transactional flag, and whether it is an
    /// ABORT marker) belongs to an aborted transaction; call for every batch, in order.
    fn skip(&mut self, producer_id: i64, last_offset: i64, transactional: bool, abort_marker: bool) -> bool {
        while let Some(&(pid, _)) = self.pending.front().filter(|(_, first)| *first <= last_offset) {
            self.pending.pop_front();
            self.active.insert(pid);
        }
        if abort_marker {
            self.active.remove(&producer_id);
            return true;
        }
        transactional && self.active.contains(&producer_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two producers' transactions aborted at once (a restart fencing both), then committed
    /// ones from the same producers: only the aborted batches are skipped. Offsets from a sink
    /// of the recovery test, which read only up to the first aborted batch when each aborted
    /// transaction was taken again at every later batch of its producer.
    #[test]
    fn aborted_transactions_hide_their_batches_only() {
        // (producer, first, last, control, abort marker)
        let batches = [
            (17, 0, 20, false, false),
            (17, 21, 21, true, false),
            (16, 55, 61, false, false),
            (16, 62, 62, true, false),
            (16, 63, 67, false, false),
            (17, 68, 73, false, false),
            (16, 74, 74, true, true),
            (17, 75, 75, true, true),
            (16, 76, 80, false, false),
            (16, 81, 81, true, false),
            (17, 82, 87, false, false),
            (17, 88, 88, true, false),
        ];
        let mut filter = AbortedFilter::new(vec![(17, 68), (16, 63)]);
        let visible: Vec<i64> = batches
            .iter()
            .filter(|(pid, _, last, control, abort)| !filter.skip(*pid, *last, true, *abort) && !control)
            .map(|(_, first, ..)| *first)
            .collect();
        assert_eq!(visible, [0, 55, 76, 82]);
    }

    #[test]
    fn murmur2_matches_kafka_utils_test() {
        // Kafka's UtilsTest.testMurmur2.
        let cases: [(&str, i32); 6] = [
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            ("abc", 479470107),
        ];
        for (s, want) in cases {
            assert_eq!(murmur2(s.as_bytes()), want, "{s}");
        }
        assert!((0..3).contains(&partition_for(b"key", 3)));
    }
}
