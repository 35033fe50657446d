//! Records inside a v2 batch: zig-zag varint encoding, decoding (zero-copy for uncompressed
//! batches), and building batches.

use bytes::{Bytes, BytesMut};

use super::batch::{self, attributes, BatchHeader, BATCH_HEADER_LEN, LOG_OVERHEAD};
use super::compression::{self, Compression};
use crate::error::{Error, Result};
pub use brook_common::Header;

/// One record with its absolute offset and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Absolute offset (batch base offset + delta).
    pub offset: i64,
    /// Absolute timestamp (batch base timestamp + delta, or the append time).
    pub timestamp: i64,
    /// Key, `None` for a null key.
    pub key: Option<Bytes>,
    /// Value, `None` for a tombstone.
    pub value: Option<Bytes>,
    /// Headers in order.
    pub headers: Vec<Header>,
}

// ---- varints -----------------------------------------------------------------------------------

/// Appends a zig-zag varint (Kafka's `varint`).
#[inline]
pub fn put_varint(out: &mut Vec<u8>, v: i32) {
    put_varlong(out, v as i64)
}

/// Appends a zig-zag varlong (Kafka's `varlong`).
#[inline]
pub fn put_varlong(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// The encoded size of a zig-zag varint.
#[inline]
pub fn varint_len(v: i64) -> usize {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    // 7 bits per byte, at least one byte.
    let bits = 64 - (z | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[cold]
fn varint_range(v: i64) -> Error {
    Error::Corrupt(format!("varint {v} out of i32 range"))
}

/// A bounds-checked reader over record bytes.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn varlong(&mut self) -> Result<i64> {
        // One or two bytes (values -8192..=8191: most lengths, deltas and counts in a batch)
        // without the loop.
        let zigzag = |z: u64| ((z >> 1) as i64) ^ -((z & 1) as i64);
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(zigzag(u64::from(b)));
            }
            if let Some(&c) = self.buf.get(self.pos + 1) {
                if c < 0x80 {
                    self.pos += 2;
                    return Ok(zigzag(u64::from(b & 0x7f) | (u64::from(c) << 7)));
                }
            }
        }
        self.varlong_slow()
    }

    #[cold]
    fn varlong_slow(&mut self) -> Result<i64> {
        let mut z: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| Error::Corrupt("varint runs past the end of the batch".into()))?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(Error::Corrupt("varint longer than 64 bits".into()));
            }
            z |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
            }
        }
        Err(Error::Corrupt("varint longer than 10 bytes".into()))
    }

    #[inline]
    fn varint(&mut self) -> Result<i32> {
        let v = self.varlong()?;
        i32::try_from(v).map_err(|_| varint_range(v))
    }

    #[inline]
    fn byte(&mut self) -> Result<u8> {
        let Some(&b) = self.buf.get(self.pos) else { return Err(truncated()) };
        self.pos += 1;
        Ok(b)
    }

    /// A length-prefixed field: `None` for length -1. Inlined into the record loop (twice per
    /// record), its errors built out of line.
    #[inline(always)]
    fn nullable(&mut self) -> Result<Option<std::ops::Range<usize>>> {
        let len = self.varint()?;
        if len < 0 {
            return if len == -1 { Ok(None) } else { Err(bad_length(len)) };
        }
        let end = match self.pos.checked_add(len as usize) {
            Some(end) if end <= self.buf.len() => end,
            _ => return Err(field_past_end(len)),
        };
        let r = self.pos..end;
        self.pos = end;
        Ok(Some(r))
    }
}

#[cold]
fn truncated() -> Error {
    Error::Corrupt("record truncated".into())
}

#[cold]
fn bad_length(len: i32) -> Error {
    Error::Corrupt(format!("negative length {len}"))
}

#[cold]
fn field_past_end(len: i32) -> Error {
    Error::Corrupt(format!("field of {len} bytes runs past the record"))
}

// ---- decoding ------------------------------------------------------------------------------------

/// Decodes every record of one batch, checking its CRC and decompressing it. For uncompressed
/// batches keys and values are slices of `batch` (no copy).
///
/// # Errors
/// [`Error::Corrupt`] for a bad CRC, a codec error, or a malformed record.
pub fn decode_batch_bytes(batch: Bytes) -> Result<(BatchHeader, Vec<Record>)> {
    let mut records = Vec::new();
    let h = decode_batch_into(batch, &mut records)?;
    Ok((h, records))
}

/// Where [`decode_batch_into`] puts a batch's records.
pub trait RecordSink {
    /// Room for `n` more records (the batch's count, bounded by what its bytes can hold).
    fn reserve(&mut self, n: usize);
    /// One record, in order.
    fn push(&mut self, record: Record);

    /// One record, in order, as its parts: what the decoder calls, so that a sink that keeps
    /// records of its own type builds them in place instead of moving a [`Record`] through.
    /// By default a [`Record`] for [`push`](Self::push).
    #[inline]
    fn push_parts(&mut self, offset: i64, timestamp: i64, key: Option<Bytes>, value: Option<Bytes>, headers: Vec<Header>) {
        self.push(Record { offset, timestamp, key, value, headers });
    }
}

impl RecordSink for Vec<Record> {
    fn reserve(&mut self, n: usize) {
        Vec::reserve(self, n);
    }

    fn push(&mut self, record: Record) {
        Vec::push(self, record);
    }
}

/// [`decode_batch_bytes`] handing each record to `sink` instead of collecting them in a new
/// vector (a consumer that keeps its own buffer decodes straight into it). On an error `sink`
/// may already have the batch's first records: a caller that must not keep part of a batch
/// drops what it got.
///
/// # Errors
/// As [`decode_batch_bytes`].
pub fn decode_batch_into(batch: Bytes, sink: &mut impl RecordSink) -> Result<BatchHeader> {
    let h = batch::validate(&batch)?;
    let codec = Compression::from_id(h.compression())?;
    let body = if codec == Compression::None {
        batch.slice(BATCH_HEADER_LEN..)
    } else {
        Bytes::from(compression::decompress(codec, &batch[BATCH_HEADER_LEN..])?)
    };
    // Each record takes at least 7 bytes: bound the allocation by what the body can hold.
    sink.reserve((h.record_count.max(0) as usize).min(body.len() / 7 + 1));
    decode_records(&h, &body, sink)?;
    Ok(h)
}

/// Like [`decode_batch_bytes`], copying `batch` first.
///
/// # Errors
/// As [`decode_batch_bytes`].
pub fn decode_batch(batch: &[u8]) -> Result<(BatchHeader, Vec<Record>)> {
    decode_batch_bytes(Bytes::copy_from_slice(batch))
}

fn decode_records(h: &BatchHeader, body: &Bytes, out: &mut impl RecordSink) -> Result<()> {
    let mut c = Cursor { buf: body, pos: 0 };
    let log_append = h.is_log_append_time();
    for _ in 0..h.record_count {
        let len = c.varint()?;
        let start = c.pos;
        let end = match usize::try_from(len).ok().and_then(|l| start.checked_add(l)) {
            Some(end) if end <= body.len() => end,
            _ => return Err(record_past_batch(len)),
        };
        let mut rc = Cursor {
            buf: &body[..end],
            pos: start,
        };
        let _attributes = rc.byte()?;
        let ts_delta = rc.varlong()?;
        let offset_delta = rc.varint()?;
        let key = rc.nullable()?.map(|r| body.slice(r));
        let value = rc.nullable()?.map(|r| body.slice(r));
        let n_headers = rc.varint()?;
        let headers = if n_headers == 0 { Vec::new() } else { decode_headers(&mut rc, body, n_headers, end)? };
        if rc.pos != end {
            return Err(record_length_mismatch(len, rc.pos - start));
        }
        c.pos = end;
        let timestamp = if log_append { h.max_timestamp } else { h.base_timestamp.wrapping_add(ts_delta) };
        out.push_parts(h.base_offset + offset_delta as i64, timestamp, key, value, headers);
    }
    if c.pos != body.len() {
        return Err(Error::Corrupt(format!(
            "{} trailing bytes after {} records",
            body.len() - c.pos,
            h.record_count
        )));
    }
    Ok(())
}

/// The `n` headers of a record whose fields end at `end` (records mostly have none: out of the
/// record loop).
#[inline(never)]
fn decode_headers(rc: &mut Cursor<'_>, body: &Bytes, n: i32, end: usize) -> Result<Vec<Header>> {
    if n < 0 {
        return Err(Error::Corrupt(format!("negative header count {n}")));
    }
    let mut headers = Vec::with_capacity((n as usize).min(end - rc.pos));
    for _ in 0..n {
        let k = rc
            .nullable()?
            .ok_or_else(|| Error::Corrupt("null header key".into()))?;
        let key = std::str::from_utf8(&body[k])
            .map_err(|_| Error::Corrupt("header key is not UTF-8".into()))?
            .to_owned();
        let value = rc.nullable()?.map(|r| body.slice(r));
        headers.push(Header { key, value });
    }
    Ok(headers)
}

#[cold]
fn record_past_batch(len: i32) -> Error {
    Error::Corrupt(format!("record of {len} bytes runs past the batch"))
}

#[cold]
fn record_length_mismatch(len: i32, took: usize) -> Error {
    Error::Corrupt(format!("record declares {len} bytes but its fields take {took}"))
}

// ---- building ------------------------------------------------------------------------------------

/// Builds one v2 batch. Offsets start at 0 (the broker assigns real ones on append).
///
/// # Examples
/// ```
/// use brook_broker::record::{BatchBuilder, Compression, decode_batch};
/// let mut b = BatchBuilder::new(Compression::None);
/// b.push(1_000, Some(b"k"), Some(b"v"), &[]);
/// let (header, records) = decode_batch(&b.build().unwrap()).unwrap();
/// assert_eq!(header.record_count, 1);
/// assert_eq!(records[0].value.as_deref(), Some(&b"v"[..]));
/// ```
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    compression: Compression,
    records: Vec<u8>,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    base_offset: i64,
    last_offset_delta: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    attributes: i16,
    fixed_base_timestamp: bool,
}

impl BatchBuilder {
    /// An empty batch with the given codec and no producer id.
    pub fn new(compression: Compression) -> BatchBuilder {
        BatchBuilder::with_capacity(compression, 0)
    }

    /// [`new`](Self::new) with room for `bytes` of records (a producer's `batch.size`), so
    /// filling the batch never reallocates.
    pub fn with_capacity(compression: Compression, bytes: usize) -> BatchBuilder {
        BatchBuilder {
            compression,
            records: Vec::with_capacity(bytes),
            count: 0,
            base_timestamp: -1,
            max_timestamp: -1,
            base_offset: 0,
            last_offset_delta: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            attributes: compression.id(),
            fixed_base_timestamp: false,
        }
    }

    /// Sets the idempotent producer fields.
    pub fn producer(&mut self, id: i64, epoch: i16, base_sequence: i32) -> &mut Self {
        self.producer_id = id;
        self.producer_epoch = epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Marks the batch transactional.
    pub fn transactional(&mut self, yes: bool) -> &mut Self {
        if yes {
            self.attributes |= attributes::TRANSACTIONAL;
        } else {
            self.attributes &= !attributes::TRANSACTIONAL;
        }
        self
    }

    /// Sets the base offset written into the header (0 by default).
    pub fn base_offset(&mut self, offset: i64) -> &mut Self {
        self.base_offset = offset;
        self
    }

    /// Number of records pushed so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Approximate encoded size so far (uncompressed).
    pub fn size(&self) -> usize {
        BATCH_HEADER_LEN + self.records.len()
    }

    /// Appends a record with the next offset delta.
    pub fn push(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> &mut Self {
        let delta = self.last_offset_delta + 1;
        self.push_with_delta(delta, timestamp, key, value, headers)
    }

    /// Appends a record at an explicit offset delta (must grow).
    pub fn push_with_delta(
        &mut self,
        offset_delta: i32,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> &mut Self {
        if self.count == 0 && !self.fixed_base_timestamp {
            self.base_timestamp = timestamp;
        }
        self.max_timestamp = self.max_timestamp.max(timestamp);
        // The record is written through a slice (bounds-checked stores to a local slice), not
        // pushed byte by byte: a byte pushed to a `Vec<u8>` may alias the vector's own length,
        // so every push would reload and store it. The slice is sized by an upper bound and
        // the length prefix, which comes first, gets one byte: the fields are not sized one by
        // one beforehand. A record of 64 bytes or more (a longer prefix) moves its fields up.
        let ts_delta = timestamp - self.base_timestamp;
        let field = |v: Option<&[u8]>| 5 + v.map_or(0, <[u8]>::len);
        let mut upper = 5 + 1 + 10 + 5 + field(key) + field(value) + 5;
        for h in headers {
            upper += field(Some(h.key.as_bytes())) + field(h.value.as_deref());
        }
        let s = &mut self.records;
        let start = s.len();
        s.resize(start + upper, 0);
        let buf = &mut s[start..];
        // buf[0]: the length prefix's first byte; buf[1]: the attributes, 0.
        let mut w = SliceWriter { buf, pos: 2 };
        w.varlong(ts_delta);
        w.varlong(i64::from(offset_delta));
        w.nullable(key);
        w.nullable(value);
        w.varlong(headers.len() as i64);
        for h in headers {
            w.nullable(Some(h.key.as_bytes()));
            w.nullable(h.value.as_deref());
        }
        let end = w.pos;
        let len = end - 1;
        let written = if len < 64 {
            // The zig-zag varint of a length below 64: one byte.
            w.buf[0] = (len << 1) as u8;
            end
        } else {
            let prefix = varint_len(len as i64);
            w.buf.copy_within(1..end, prefix);
            w.pos = 0;
            w.varlong(len as i64);
            prefix + len
        };
        s.truncate(start + written);
        self.count += 1;
        self.last_offset_delta = offset_delta;
        self
    }

    /// Finishes the batch: header, compression and CRC.
    ///
    /// # Errors
    /// Only if the codec fails.
    pub fn build(&self) -> Result<Vec<u8>> {
        let body = if self.compression == Compression::None {
            std::borrow::Cow::Borrowed(&self.records[..])
        } else {
            std::borrow::Cow::Owned(compression::compress(self.compression, &self.records)?)
        };
        let mut out = Vec::with_capacity(BATCH_HEADER_LEN + body.len());
        let last_delta = self.last_offset_delta.max(0);
        out.extend_from_slice(&self.base_offset.to_be_bytes());
        out.extend_from_slice(&((BATCH_HEADER_LEN - LOG_OVERHEAD + body.len()) as i32).to_be_bytes());
        out.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
        out.push(2);
        out.extend_from_slice(&[0; 4]); // crc, filled below
        out.extend_from_slice(&self.attributes.to_be_bytes());
        out.extend_from_slice(&last_delta.to_be_bytes());
        out.extend_from_slice(&self.base_timestamp.to_be_bytes());
        out.extend_from_slice(&self.max_timestamp.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.base_sequence.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&body);
        let crc = batch::compute_crc(&out);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        Ok(out)
    }

    /// [`build`](Self::build) into `Bytes`.
    ///
    /// # Errors
    /// Only if the codec fails.
    pub fn build_bytes(&self) -> Result<Bytes> {
        Ok(Bytes::from(self.build()?))
    }
}

/// Writes a record into a slice sized for it beforehand ([`BatchBuilder::push_with_delta`]).
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl SliceWriter<'_> {
    /// A zig-zag varlong; one and two bytes (most lengths and deltas) without the loop.
    #[inline]
    fn varlong(&mut self, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        if z < 0x80 {
            self.buf[self.pos] = z as u8;
            self.pos += 1;
            return;
        }
        if z < 0x4000 {
            self.buf[self.pos..self.pos + 2].copy_from_slice(&[(z as u8) | 0x80, (z >> 7) as u8]);
            self.pos += 2;
            return;
        }
        while z >= 0x80 {
            self.buf[self.pos] = (z as u8) | 0x80;
            self.pos += 1;
            z >>= 7;
        }
        self.buf[self.pos] = z as u8;
        self.pos += 1;
    }

    #[inline]
    fn bytes(&mut self, b: Option<&[u8]>) {
        if let Some(b) = b {
            self.buf[self.pos..self.pos + b.len()].copy_from_slice(b);
            self.pos += b.len();
        }
    }

    #[inline]
    fn nullable(&mut self, b: Option<&[u8]>) {
        self.varlong(b.map_or(-1, |b| b.len() as i64));
        self.bytes(b);
    }
}

/// Re-encodes `records` (a subset of a batch's records, e.g. after compaction) into a batch that
/// keeps the template's base offset, last offset delta, timestamps, producer fields and
/// attributes, with a fresh CRC.
///
/// # Errors
/// [`Error::Corrupt`] if a record's offset lies outside the template batch.
pub fn rebuild_batch(template: &BatchHeader, records: &[Record]) -> Result<Vec<u8>> {
    let codec = Compression::from_id(template.compression())?;
    let mut b = BatchBuilder::new(codec);
    b.base_offset = template.base_offset;
    b.producer_id = template.producer_id;
    b.producer_epoch = template.producer_epoch;
    b.base_sequence = template.base_sequence;
    b.attributes = template.attributes;
    b.base_timestamp = template.base_timestamp;
    b.fixed_base_timestamp = true;
    for r in records {
        let delta = r.offset - template.base_offset;
        if delta < 0 || delta > template.last_offset_delta as i64 {
            return Err(Error::Corrupt(format!(
                "record offset {} outside batch {}..={}",
                r.offset,
                template.base_offset,
                template.last_offset()
            )));
        }
        let ts = if template.is_log_append_time() {
            template.base_timestamp
        } else {
            r.timestamp
        };
        b.push_with_delta(delta as i32, ts, r.key.as_deref(), r.value.as_deref(), &r.headers);
    }
    b.max_timestamp = template.max_timestamp;
    b.last_offset_delta = template.last_offset_delta;
    b.build()
}

// ---- control records -------------------------------------------------------------------------

/// The kind of a transaction marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    /// The transaction was aborted.
    Abort,
    /// The transaction was committed.
    Commit,
}

/// Builds a control batch carrying one transaction marker (key: version 0 + type; value:
/// version 0 + coordinator epoch), as Kafka's `EndTransactionMarker`.
pub fn control_batch(
    producer_id: i64,
    producer_epoch: i16,
    marker: ControlType,
    coordinator_epoch: i32,
    timestamp: i64,
) -> Vec<u8> {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&(if marker == ControlType::Commit { 1i16 } else { 0 }).to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let mut b = BatchBuilder::new(Compression::None);
    b.producer(producer_id, producer_epoch, -1);
    b.attributes = attributes::TRANSACTIONAL | attributes::CONTROL;
    b.push(timestamp, Some(&key), Some(&value), &[]);
    b.build().unwrap_or_default()
}

/// Reads the marker type of a control batch.
///
/// # Errors
/// [`Error::Corrupt`] if the batch is not a well-formed control batch.
pub fn control_type(batch: &[u8]) -> Result<ControlType> {
    let (h, records) = decode_batch(batch)?;
    if !h.is_control() {
        return Err(Error::Corrupt("not a control batch".into()));
    }
    let key = records
        .first()
        .and_then(|r| r.key.as_ref())
        .filter(|k| k.len() >= 4)
        .ok_or_else(|| Error::Corrupt("control record without a key".into()))?;
    match i16::from_be_bytes([key[2], key[3]]) {
        0 => Ok(ControlType::Abort),
        1 => Ok(ControlType::Commit),
        t => Err(Error::Corrupt(format!("unknown control record type {t}"))),
    }
}

/// Concatenates batches into one buffer (a produce request's record set).
pub fn concat(batches: &[&[u8]]) -> BytesMut {
    let mut out = BytesMut::with_capacity(batches.iter().map(|b| b.len()).sum());
    for b in batches {
        out.extend_from_slice(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_kafka() {
        // Kafka's ByteUtils zig-zag examples.
        for (v, bytes) in [(0i64, vec![0u8]), (-1, vec![1]), (1, vec![2]), (-64, vec![0x7f]), (64, vec![0x80, 0x01])] {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            assert_eq!(out, bytes, "{v}");
            assert_eq!(varint_len(v), bytes.len());
            assert_eq!(Cursor { buf: &out, pos: 0 }.varlong().unwrap(), v);
        }
        for v in [i64::MIN, i64::MAX, 300, -300] {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            assert_eq!(Cursor { buf: &out, pos: 0 }.varlong().unwrap(), v);
        }
        let bad = [0xffu8; 11];
        assert!(matches!(Cursor { buf: &bad, pos: 0 }.varlong(), Err(Error::Corrupt(_))));
    }

    #[test]
    fn varints_of_every_length_round_trip_and_truncations_fail() {
        // Around each length boundary (the one- and two-byte fast paths included), then a
        // value of every length cut short.
        let mut values = vec![0i64, -1, 1];
        for bits in 6..63 {
            let b = 1i64 << bits;
            values.extend([b - 1, b, -b, -b - 1]);
        }
        values.extend([i64::MIN, i64::MAX]);
        for v in values {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            assert_eq!(varint_len(v), out.len(), "{v}");
            let mut c = Cursor { buf: &out, pos: 0 };
            assert_eq!(c.varlong().unwrap(), v);
            assert_eq!(c.pos, out.len(), "{v}");
            for cut in 0..out.len() {
                assert!(Cursor { buf: &out[..cut], pos: 0 }.varlong().is_err(), "{v} cut at {cut}");
            }
        }
    }

    fn sample(codec: Compression) -> Vec<u8> {
        let mut b = BatchBuilder::new(codec);
        b.producer(7, 1, 10).transactional(true);
        b.push(1000, Some(b"a"), Some(b"1"), &[]);
        b.push(999, None, None, &[Header { key: "h".into(), value: Some(Bytes::from_static(b"x")) }]);
        b.push(1005, Some(b"c"), Some(&[0u8; 300]), &[]);
        b.build().unwrap()
    }

    #[test]
    fn records_of_every_length_around_the_one_byte_prefix_round_trip() {
        // Lengths below 64 take a one-byte prefix, longer ones move their fields up; deltas
        // of one, two and more varint bytes; null and empty keys and values; headers.
        let mut b = BatchBuilder::new(Compression::None);
        let mut expected = Vec::new();
        for (i, size) in (0..140usize).chain([300, 20_000]).enumerate() {
            let value = vec![i as u8; size];
            let key = match i % 3 {
                0 => None,
                1 => Some(Vec::new()),
                _ => Some(vec![7u8; i % 70]),
            };
            let headers = if i % 5 == 0 {
                vec![Header { key: format!("h{i}"), value: Some(Bytes::from(vec![1u8; i % 90])) }, Header { key: String::new(), value: None }]
            } else {
                Vec::new()
            };
            let ts = 1_000 + (i as i64 - 70) * 997;
            let delta = i as i32 * 131;
            b.push_with_delta(delta, ts, key.as_deref(), Some(&value), &headers);
            expected.push((i64::from(delta), ts, key.map(Bytes::from), Some(Bytes::from(value)), headers));
        }
        let (h, records) = decode_batch(&b.build().unwrap()).unwrap();
        assert_eq!(h.record_count as usize, expected.len());
        for (r, (offset, ts, key, value, headers)) in records.iter().zip(expected) {
            assert_eq!((r.offset, r.timestamp), (offset, ts));
            assert_eq!((&r.key, &r.value, &r.headers), (&key, &value, &headers));
        }
    }

    #[test]
    fn builds_and_decodes_every_codec() {
        for codec in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            let (h, recs) = decode_batch(&sample(codec)).unwrap();
            assert_eq!(h.record_count, 3);
            assert_eq!((h.base_timestamp, h.max_timestamp), (1000, 1005));
            assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (7, 1, 10));
            assert!(h.is_transactional());
            assert_eq!(h.last_sequence(), 12);
            assert_eq!(recs.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![0, 1, 2]);
            assert_eq!(recs[1].timestamp, 999);
            assert_eq!(recs[1].key, None);
            assert_eq!(recs[1].headers[0].key, "h");
            assert_eq!(recs[2].value.as_ref().unwrap().len(), 300);
        }
    }

    #[test]
    fn rebuild_keeps_offsets_and_timestamps() {
        let mut bytes = sample(Compression::Lz4);
        batch::set_base_offset(&mut bytes, 100);
        let (h, recs) = decode_batch(&bytes).unwrap();
        let kept = vec![recs[1].clone(), recs[2].clone()];
        let rebuilt = rebuild_batch(&h, &kept).unwrap();
        let (h2, recs2) = decode_batch(&rebuilt).unwrap();
        assert_eq!(h2.base_offset, 100);
        assert_eq!(h2.last_offset(), 102);
        assert_eq!(h2.base_timestamp, h.base_timestamp);
        assert_eq!(recs2, kept);
    }

    #[test]
    fn control_markers_round_trip() {
        let c = control_batch(5, 2, ControlType::Commit, 0, 77);
        assert_eq!(control_type(&c).unwrap(), ControlType::Commit);
        let a = control_batch(5, 2, ControlType::Abort, 0, 77);
        assert_eq!(control_type(&a).unwrap(), ControlType::Abort);
        assert!(matches!(control_type(&sample(Compression::None)), Err(Error::Corrupt(_))));
    }

    #[test]
    fn truncated_or_mangled_batches_never_panic() {
        let good = sample(Compression::None);
        for cut in 0..good.len() {
            assert!(decode_batch(&good[..cut]).is_err());
        }
        // Mangle each body byte and fix the CRC so the record decoder itself is exercised.
        for i in BATCH_HEADER_LEN..good.len() {
            let mut b = good.clone();
            b[i] = b[i].wrapping_add(0x41);
            let crc = batch::compute_crc(&b);
            b[17..21].copy_from_slice(&crc.to_be_bytes());
            let _ = decode_batch(&b);
        }
    }
}
