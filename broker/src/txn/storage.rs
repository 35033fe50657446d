//! Kafka's `__transaction_state` record schema: `TransactionLogKey` v0 (transactional id) and
//! `TransactionLogValue` v0 (producer id, epoch, timeout, status, partitions, timestamps).

use std::collections::BTreeSet;

use brook_common::TopicPartition;

use crate::codec::Reader;

use super::{TxnMetadata, TxnStatus};
use crate::error::{Error, Result};

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as i16).to_be_bytes());
    b.extend_from_slice(s.as_bytes());
}

/// Encodes the record key: version 0, transactional id.
pub(crate) fn encode_key(transactional_id: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(4 + transactional_id.len());
    b.extend_from_slice(&0i16.to_be_bytes());
    put_str(&mut b, transactional_id);
    b
}

/// Encodes the record value, version 0.
pub(crate) fn encode_value(m: &TxnMetadata) -> Vec<u8> {
    let mut b = Vec::with_capacity(64);
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&m.producer_id.to_be_bytes());
    b.extend_from_slice(&m.producer_epoch.to_be_bytes());
    b.extend_from_slice(&m.timeout_ms.to_be_bytes());
    b.push(m.status as u8);
    let mut by_topic: Vec<(&str, Vec<i32>)> = Vec::new();
    for tp in &m.partitions {
        match by_topic.last_mut() {
            Some((last, ps)) if *last == tp.topic.as_str() => ps.push(tp.partition),
            _ => by_topic.push((tp.topic.as_str(), vec![tp.partition])),
        }
    }
    b.extend_from_slice(&(by_topic.len() as i32).to_be_bytes());
    for (t, ps) in by_topic {
        put_str(&mut b, t);
        b.extend_from_slice(&(ps.len() as i32).to_be_bytes());
        for p in ps {
            b.extend_from_slice(&p.to_be_bytes());
        }
    }
    b.extend_from_slice(&m.last_update_ms.to_be_bytes());
    b.extend_from_slice(&m.start_ms.to_be_bytes());
    b
}


/// Decodes a record key into the transactional id.
pub(crate) fn decode_key(key: &[u8]) -> Result<String> {
    let mut r = Reader::new(key, "transaction log key");
    match r.i16()? {
        0 => r.string(),
        v => Err(Error::Corrupt(format!("unknown transaction log key version {v}"))),
    }
}

/// Decodes a record value.
pub(crate) fn decode_value(transactional_id: &str, value: &[u8]) -> Result<TxnMetadata> {
    let mut r = Reader::new(value, "transaction log value");
    let version = r.i16()?;
    if version != 0 {
        return Err(Error::Corrupt(format!("unknown transaction log value version {version}")));
    }
    let producer_id = r.i64()?;
    let producer_epoch = r.i16()?;
    let timeout_ms = r.i32()?;
    let status_byte = r.i8()?;
    let status = TxnStatus::from_byte(status_byte)
        .ok_or_else(|| Error::Corrupt(format!("unknown transaction status {status_byte}")))?;
    let mut partitions = BTreeSet::new();
    for _ in 0..r.count()? {
        let topic = r.string()?;
        for _ in 0..r.count()? {
            partitions.insert(TopicPartition::new(topic.clone(), r.i32()?));
        }
    }
    let last_update_ms = r.i64()?;
    let start_ms = r.i64()?;
    Ok(TxnMetadata {
        transactional_id: transactional_id.to_owned(),
        producer_id,
        producer_epoch,
        timeout_ms,
        status,
        partitions,
        start_ms,
        last_update_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_golden_key() {
        let m = TxnMetadata {
            transactional_id: "tx".into(),
            producer_id: 42,
            producer_epoch: 3,
            timeout_ms: 60_000,
            status: TxnStatus::Ongoing,
            partitions: [TopicPartition::new("a", 0), TopicPartition::new("a", 2), TopicPartition::new("b", 1)].into(),
            start_ms: 10,
            last_update_ms: 20,
        };
        assert_eq!(encode_key("tx"), vec![0, 0, 0, 2, b't', b'x']);
        let v = encode_value(&m);
        assert_eq!(decode_value("tx", &v).unwrap(), m);
        assert_eq!(decode_key(&encode_key("tx")).unwrap(), "tx");
        for cut in 0..v.len() {
            assert!(decode_value("tx", &v[..cut]).is_err());
        }
        assert!(decode_key(&[0, 1, 0, 9]).is_err());
    }
}
