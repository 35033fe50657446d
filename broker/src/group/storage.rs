//! The `__consumer_offsets` record schemas, byte for byte as Kafka writes them (big-endian, every
//! key and value prefixed with its i16 schema version, strings i16-length-prefixed, bytes
//! i32-length-prefixed):
//!
//! - `OffsetCommitKey` v0/v1: group string, topic string, partition i32 (Brook writes v1).
//! - `OffsetCommitValue` v0..v3: offset i64, leader epoch i32 (v3+), metadata string, commit
//!   timestamp i64, expire timestamp i64 (v1 only) (Brook writes v3).
//! - `GroupMetadataKey` v2: group string.
//! - `GroupMetadataValue` v0..v3: protocol type string, generation i32, protocol nullable string,
//!   leader nullable string, current state timestamp i64 (v2+), members
//!   `[member id, instance id (v3+, nullable), client id, client host, rebalance timeout i32 (v1+),
//!   session timeout i32, subscription bytes, assignment bytes]` (Brook writes v3).

use crate::codec::Reader;
use crate::{Error, Result};

/// A decoded `__consumer_offsets` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
}

/// A decoded `OffsetCommitValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OffsetValue {
    pub(crate) offset: i64,
    pub(crate) leader_epoch: i32,
    pub(crate) metadata: String,
    pub(crate) commit_timestamp: i64,
    pub(crate) expire_timestamp: Option<i64>,
}

/// One member in a `GroupMetadataValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberValue {
    pub(crate) member_id: String,
    pub(crate) instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) rebalance_timeout: i32,
    pub(crate) session_timeout: i32,
    pub(crate) subscription: Vec<u8>,
    pub(crate) assignment: Vec<u8>,
}

/// A decoded `GroupMetadataValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupValue {
    pub(crate) protocol_type: String,
    pub(crate) generation: i32,
    pub(crate) protocol: Option<String>,
    pub(crate) leader: Option<String>,
    /// -1 when absent (v0, v1).
    pub(crate) current_state_timestamp: i64,
    pub(crate) members: Vec<MemberValue>,
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    // Strings longer than i16::MAX cannot be encoded by Kafka either; callers bound them.
    let len = s.len().min(i16::MAX as usize);
    b.extend_from_slice(&(len as i16).to_be_bytes());
    b.extend_from_slice(&s.as_bytes()[..len]);
}

fn put_nullable_str(b: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_str(b, s),
        None => b.extend_from_slice(&(-1i16).to_be_bytes()),
    }
}

fn put_bytes(b: &mut Vec<u8>, v: &[u8]) {
    b.extend_from_slice(&(v.len() as i32).to_be_bytes());
    b.extend_from_slice(v);
}

/// `OffsetCommitKey` v1.
pub(crate) fn offset_key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + group.len() + topic.len());
    b.extend_from_slice(&1i16.to_be_bytes());
    put_str(&mut b, group);
    put_str(&mut b, topic);
    b.extend_from_slice(&partition.to_be_bytes());
    b
}

/// `OffsetCommitValue` v3 (v1 when an expire timestamp is set, as Kafka does).
pub(crate) fn offset_value(v: &OffsetValue) -> Vec<u8> {
    let mut b = Vec::with_capacity(24 + v.metadata.len());
    match v.expire_timestamp {
        None => {
            b.extend_from_slice(&3i16.to_be_bytes());
            b.extend_from_slice(&v.offset.to_be_bytes());
            b.extend_from_slice(&v.leader_epoch.to_be_bytes());
            put_str(&mut b, &v.metadata);
            b.extend_from_slice(&v.commit_timestamp.to_be_bytes());
        }
        Some(expire) => {
            b.extend_from_slice(&1i16.to_be_bytes());
            b.extend_from_slice(&v.offset.to_be_bytes());
            put_str(&mut b, &v.metadata);
            b.extend_from_slice(&v.commit_timestamp.to_be_bytes());
            b.extend_from_slice(&expire.to_be_bytes());
        }
    }
    b
}

/// `GroupMetadataKey` v2.
pub(crate) fn group_key(group: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(4 + group.len());
    b.extend_from_slice(&2i16.to_be_bytes());
    put_str(&mut b, group);
    b
}

/// `GroupMetadataValue` v3.
pub(crate) fn group_value(v: &GroupValue) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&3i16.to_be_bytes());
    put_str(&mut b, &v.protocol_type);
    b.extend_from_slice(&v.generation.to_be_bytes());
    put_nullable_str(&mut b, v.protocol.as_deref());
    put_nullable_str(&mut b, v.leader.as_deref());
    b.extend_from_slice(&v.current_state_timestamp.to_be_bytes());
    b.extend_from_slice(&(v.members.len() as i32).to_be_bytes());
    for m in &v.members {
        put_str(&mut b, &m.member_id);
        put_nullable_str(&mut b, m.instance_id.as_deref());
        put_str(&mut b, &m.client_id);
        put_str(&mut b, &m.client_host);
        b.extend_from_slice(&m.rebalance_timeout.to_be_bytes());
        b.extend_from_slice(&m.session_timeout.to_be_bytes());
        put_bytes(&mut b, &m.subscription);
        put_bytes(&mut b, &m.assignment);
    }
    b
}


/// Decodes a key. `Ok(None)` for key versions Brook does not use (Kafka's newer consumer-group
/// protocol records), which replay skips.
pub(crate) fn decode_key(key: &[u8]) -> Result<Option<RecordKey>> {
    let mut r = Reader::new(key, "__consumer_offsets record");
    match r.i16()? {
        0 | 1 => Ok(Some(RecordKey::Offset {
            group: r.string()?,
            topic: r.string()?,
            partition: r.i32()?,
        })),
        2 => Ok(Some(RecordKey::Group { group: r.string()? })),
        v if v > 2 => Ok(None),
        v => Err(Error::Corrupt(format!(
            "__consumer_offsets key version {v}"
        ))),
    }
}

/// Decodes an `OffsetCommitValue` of version 0..=3.
pub(crate) fn decode_offset_value(value: &[u8]) -> Result<OffsetValue> {
    let mut r = Reader::new(value, "__consumer_offsets record");
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(Error::Corrupt(format!(
            "OffsetCommitValue version {version}"
        )));
    }
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.string()?;
    let commit_timestamp = r.i64()?;
    let expire_timestamp = if version == 1 {
        Some(r.i64()?).filter(|t| *t >= 0)
    } else {
        None
    };
    Ok(OffsetValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
        expire_timestamp,
    })
}

/// Decodes a `GroupMetadataValue` of version 0..=3.
pub(crate) fn decode_group_value(value: &[u8]) -> Result<GroupValue> {
    let mut r = Reader::new(value, "__consumer_offsets record");
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(Error::Corrupt(format!(
            "GroupMetadataValue version {version}"
        )));
    }
    let protocol_type = r.string()?;
    let generation = r.i32()?;
    let protocol = r.nullable_string()?;
    let leader = r.nullable_string()?;
    let current_state_timestamp = if version >= 2 { r.i64()? } else { -1 };
    let n = r.i32()?;
    let mut members = Vec::new();
    for _ in 0..n.max(0) {
        let member_id = r.string()?;
        let instance_id = if version >= 3 {
            r.nullable_string()?
        } else {
            None
        };
        let client_id = r.string()?;
        let client_host = r.string()?;
        let session_and_rebalance = if version >= 1 {
            let rebalance = r.i32()?;
            (r.i32()?, rebalance)
        } else {
            let s = r.i32()?;
            (s, s)
        };
        members.push(MemberValue {
            member_id,
            instance_id,
            client_id,
            client_host,
            session_timeout: session_and_rebalance.0,
            rebalance_timeout: session_and_rebalance.1,
            subscription: r.bytes()?,
            assignment: r.bytes()?,
        });
    }
    Ok(GroupValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `OffsetCommitKey` v1 {group "g", topic "t", partition 0} and `OffsetCommitValue` v3
    /// {offset 42, leader epoch 5, metadata "", commit timestamp 1000}, laid out field by field
    /// from Kafka's `OffsetCommitKey.json` / `OffsetCommitValue.json` (non-flexible: i16 string
    /// lengths, big-endian integers), each prefixed with its i16 version as
    /// `MessageUtil.toVersionPrefixedBytes` writes it.
    #[test]
    fn offset_commit_golden_bytes() {
        let key = offset_key("g", "t", 0);
        assert_eq!(
            key,
            [
                0, 1, /* group */ 0, 1, b'g', /* topic */ 0, 1, b't',
                /* partition */ 0, 0, 0, 0
            ]
        );
        let value = offset_value(&OffsetValue {
            offset: 42,
            leader_epoch: 5,
            metadata: String::new(),
            commit_timestamp: 1000,
            expire_timestamp: None,
        });
        assert_eq!(
            value,
            [
                0, 3, // version
                0, 0, 0, 0, 0, 0, 0, 42, // offset
                0, 0, 0, 5, // leader epoch
                0, 0, // metadata ""
                0, 0, 0, 0, 0, 0, 0x03, 0xe8, // commit timestamp 1000
            ]
        );
        assert_eq!(
            decode_key(&key).unwrap(),
            Some(RecordKey::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 0
            })
        );
        let v = decode_offset_value(&value).unwrap();
        assert_eq!(
            (v.offset, v.leader_epoch, v.commit_timestamp),
            (42, 5, 1000)
        );
    }

    #[test]
    fn older_offset_value_versions_decode() {
        // v1: offset 7, metadata "m", commit 10, expire 20.
        let mut v1 = vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, b'm'];
        v1.extend_from_slice(&10i64.to_be_bytes());
        v1.extend_from_slice(&20i64.to_be_bytes());
        let d = decode_offset_value(&v1).unwrap();
        assert_eq!(
            (d.offset, d.leader_epoch, d.metadata.as_str()),
            (7, -1, "m")
        );
        assert_eq!(d.expire_timestamp, Some(20));
        assert_eq!(offset_value(&d), v1);
        // v0 and v2 have no expire timestamp.
        let mut v0 = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0];
        v0.extend_from_slice(&11i64.to_be_bytes());
        assert_eq!(decode_offset_value(&v0).unwrap().offset, 9);
        v0[1] = 2;
        assert_eq!(decode_offset_value(&v0).unwrap().commit_timestamp, 11);
    }

    #[test]
    fn group_value_round_trips() {
        let v = GroupValue {
            protocol_type: "consumer".into(),
            generation: 3,
            protocol: Some("range".into()),
            leader: Some("m1".into()),
            current_state_timestamp: 123,
            members: vec![MemberValue {
                member_id: "m1".into(),
                instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout: 300_000,
                session_timeout: 10_000,
                subscription: vec![1, 2],
                assignment: vec![3],
            }],
        };
        let bytes = group_value(&v);
        assert_eq!(&bytes[..2], &[0, 3]);
        assert_eq!(decode_group_value(&bytes).unwrap(), v);
        assert_eq!(group_key("g"), [0, 2, 0, 1, b'g']);
        assert_eq!(
            decode_key(&group_key("g")).unwrap(),
            Some(RecordKey::Group { group: "g".into() })
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let samples: [&[u8]; 6] = [
            &[],
            &[0],
            &[0, 1, 0, 9, b'g'],
            &[0xff, 0xff],
            &[0, 3, 1, 2, 3],
            &[0, 2, 0x7f, 0xff],
        ];
        for s in samples {
            assert!(decode_key(s).is_err() || decode_key(s).unwrap().is_none() || s.len() > 4);
            assert!(decode_offset_value(s).is_err());
            assert!(decode_group_value(s).is_err());
        }
        // Every truncation of a valid value fails cleanly.
        let full = offset_value(&OffsetValue {
            offset: 1,
            leader_epoch: 0,
            metadata: "meta".into(),
            commit_timestamp: 2,
            expire_timestamp: None,
        });
        for n in 0..full.len() {
            assert!(decode_offset_value(&full[..n]).is_err());
        }
        assert_eq!(decode_key(&[0, 5, 1]).unwrap(), None);
    }
}
