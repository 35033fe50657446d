//! Kafka's consumer protocol: the `Subscription` a consumer sends as its JoinGroup metadata and the
//! `Assignment` the leader hands out through SyncGroup (`ConsumerProtocolSubscription` and
//! `ConsumerProtocolAssignment` in Kafka), byte for byte as the Java client and librdkafka encode
//! them: an i16 version, then big-endian fields, i16-length strings, i32-length bytes (-1 for null)
//! and i32-count arrays.
//!
//! - Subscription v0: topics `[string]`, user data (nullable bytes); v1 adds owned partitions
//!   `[topic, [partition]]`; v2 the generation id (i32); v3 the rack id (nullable string).
//! - Assignment v0..v3: assigned partitions `[topic, [partition]]`, user data (nullable bytes).
//!
//! As in Kafka, a version newer than Brook knows is read as the newest one it knows (later versions
//! only append fields), and bytes after the last known field are ignored.

use crate::client::TopicPartition;
use crate::codec::Reader;
use crate::{Error, Result};

/// The newest Subscription version Brook reads and writes.
pub const SUBSCRIPTION_VERSION: i16 = 3;
/// The newest Assignment version Brook reads and writes.
pub const ASSIGNMENT_VERSION: i16 = 3;
/// The JoinGroup protocol type of consumer groups.
pub const PROTOCOL_TYPE: &str = "consumer";

/// A consumer's subscription: its JoinGroup metadata for every assignor it supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The subscribed topics.
    pub topics: Vec<String>,
    /// Assignor-specific data.
    pub user_data: Option<Vec<u8>>,
    /// The partitions the member owns now (v1+), as `(topic, partitions)`.
    pub owned_partitions: Vec<(String, Vec<i32>)>,
    /// The generation the owned partitions belong to (v2+); -1 when unknown.
    pub generation_id: i32,
    /// The consumer's `client.rack` (v3+).
    pub rack_id: Option<String>,
    /// The member's `group.instance.id`. Not part of the encoding: the coordinator reports it next
    /// to the metadata, and assignors order static members by it, as Kafka's `MemberInfo` does.
    pub group_instance_id: Option<String>,
}

impl Default for Subscription {
    fn default() -> Self {
        Subscription {
            topics: Vec::new(),
            user_data: None,
            owned_partitions: Vec::new(),
            generation_id: -1,
            rack_id: None,
            group_instance_id: None,
        }
    }
}

/// A member's assignment, as the leader sends it through SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// The assigned partitions, as `(topic, partitions)`.
    pub partitions: Vec<(String, Vec<i32>)>,
    /// Assignor-specific data.
    pub user_data: Option<Vec<u8>>,
}

impl Subscription {
    /// A subscription to `topics`, with nothing else set.
    pub fn new(topics: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Subscription {
            topics: topics.into_iter().map(Into::into).collect(),
            ..Subscription::default()
        }
    }

    /// Encodes the subscription as version `version` (clamped to 0..=3); fields the version does
    /// not have are left out.
    pub fn encode(&self, version: i16) -> Vec<u8> {
        let version = version.clamp(0, SUBSCRIPTION_VERSION);
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&version.to_be_bytes());
        put_i32(&mut b, self.topics.len());
        for t in &self.topics {
            put_str(&mut b, t);
        }
        put_nullable_bytes(&mut b, self.user_data.as_deref());
        if version >= 1 {
            put_topic_partitions(&mut b, &self.owned_partitions);
        }
        if version >= 2 {
            b.extend_from_slice(&self.generation_id.to_be_bytes());
        }
        if version >= 3 {
            match &self.rack_id {
                Some(r) => put_str(&mut b, r),
                None => b.extend_from_slice(&(-1i16).to_be_bytes()),
            }
        }
        b
    }

    /// Decodes a subscription of any version.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the bytes are truncated, a count or version is negative, or a
    /// string is not UTF-8.
    pub fn decode(bytes: &[u8]) -> Result<Subscription> {
        let mut r = Reader::new(bytes, "consumer protocol data");
        let version = version(&mut r)?.min(SUBSCRIPTION_VERSION);
        let mut s = Subscription::default();
        for _ in 0..r.count()? {
            s.topics.push(r.string()?);
        }
        s.user_data = r.nullable_bytes()?;
        if version >= 1 {
            s.owned_partitions = topic_partitions(&mut r)?;
        }
        if version >= 2 {
            s.generation_id = r.i32()?;
        }
        if version >= 3 {
            s.rack_id = r.nullable_string()?;
        }
        Ok(s)
    }
}

impl Assignment {
    /// An assignment of `partitions` (grouped by topic in order of first appearance), without
    /// user data.
    pub fn from_partitions(partitions: &[TopicPartition]) -> Self {
        let mut grouped: Vec<(String, Vec<i32>)> = Vec::new();
        for tp in partitions {
            match grouped.iter_mut().find(|(topic, _)| *topic == tp.topic) {
                Some((_, ps)) => ps.push(tp.partition),
                None => grouped.push((tp.topic.clone(), vec![tp.partition])),
            }
        }
        Assignment {
            partitions: grouped,
            user_data: None,
        }
    }

    /// The assigned partitions.
    pub fn topic_partitions(&self) -> Vec<TopicPartition> {
        self.partitions
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(move |p| TopicPartition::new(t.clone(), *p)))
            .collect()
    }

    /// Encodes the assignment as version `version` (clamped to 0..=3; all versions share one
    /// layout).
    pub fn encode(&self, version: i16) -> Vec<u8> {
        let version = version.clamp(0, ASSIGNMENT_VERSION);
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&version.to_be_bytes());
        put_topic_partitions(&mut b, &self.partitions);
        put_nullable_bytes(&mut b, self.user_data.as_deref());
        b
    }

    /// Decodes an assignment of any version. An empty byte string (what the coordinator sends a
    /// member the leader gave nothing) is an empty assignment, as in the Java client.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the bytes are truncated, a count or version is negative, or a
    /// string is not UTF-8.
    pub fn decode(bytes: &[u8]) -> Result<Assignment> {
        if bytes.is_empty() {
            return Ok(Assignment::default());
        }
        let mut r = Reader::new(bytes, "consumer protocol data");
        version(&mut r)?;
        Ok(Assignment {
            partitions: topic_partitions(&mut r)?,
            user_data: r.nullable_bytes()?,
        })
    }
}

fn put_i32(b: &mut Vec<u8>, n: usize) {
    b.extend_from_slice(&i32::try_from(n).unwrap_or(i32::MAX).to_be_bytes());
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    // Kafka strings are at most i16::MAX bytes; topic names and rack ids are far shorter.
    let len = s.len().min(i16::MAX as usize);
    b.extend_from_slice(&(len as i16).to_be_bytes());
    b.extend_from_slice(&s.as_bytes()[..len]);
}

fn put_nullable_bytes(b: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        Some(v) => {
            put_i32(b, v.len());
            b.extend_from_slice(v);
        }
        None => b.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

fn put_topic_partitions(b: &mut Vec<u8>, tps: &[(String, Vec<i32>)]) {
    put_i32(b, tps.len());
    for (t, ps) in tps {
        put_str(b, t);
        put_i32(b, ps.len());
        for p in ps {
            b.extend_from_slice(&p.to_be_bytes());
        }
    }
}

fn version(r: &mut Reader<'_>) -> Result<i16> {
    let v = r.i16()?;
    if v < 0 {
        return Err(Error::Corrupt(format!("consumer protocol version {v}")));
    }
    Ok(v)
}

fn topic_partitions(r: &mut Reader<'_>) -> Result<Vec<(String, Vec<i32>)>> {
    let mut out = Vec::new();
    for _ in 0..r.count()? {
        let topic = r.string()?;
        let mut ps = Vec::new();
        for _ in 0..r.count()? {
            ps.push(r.i32()?);
        }
        out.push((topic, ps));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_v0_golden_bytes() {
        // version 0, topics ["t"], user data null.
        let s = Subscription::new(["t"]);
        let bytes = s.encode(0);
        assert_eq!(
            bytes,
            [0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(Subscription::decode(&bytes).unwrap(), s);
    }

    #[test]
    fn subscription_v3_golden_bytes() {
        let s = Subscription {
            topics: vec!["ab".into()],
            user_data: Some(vec![9]),
            owned_partitions: vec![("ab".into(), vec![0, 2])],
            generation_id: 5,
            rack_id: Some("r1".into()),
            group_instance_id: None,
        };
        let bytes = s.encode(3);
        #[rustfmt::skip]
        let expected = [
            0, 3,                         // version
            0, 0, 0, 1, 0, 2, b'a', b'b', // topics ["ab"]
            0, 0, 0, 1, 9,                // user data [9]
            0, 0, 0, 1, 0, 2, b'a', b'b', // owned partitions: topic "ab"
            0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, // partitions [0, 2]
            0, 0, 0, 5,                   // generation id
            0, 2, b'r', b'1',             // rack id
        ];
        assert_eq!(bytes, expected);
        assert_eq!(Subscription::decode(&bytes).unwrap(), s);
        // Older versions leave the newer fields out, and decode with their defaults.
        let v1 = Subscription::decode(&s.encode(1)).unwrap();
        assert_eq!((v1.generation_id, v1.rack_id.as_deref()), (-1, None));
        assert_eq!(v1.owned_partitions, s.owned_partitions);
        let v0 = Subscription::decode(&s.encode(0)).unwrap();
        assert!(v0.owned_partitions.is_empty());
        assert_eq!(v0.user_data, Some(vec![9]));
    }

    #[test]
    fn newer_versions_read_as_the_newest_known() {
        let mut bytes = Subscription::new(["t"]).encode(3);
        bytes[1] = 7; // version 7
        bytes.extend_from_slice(&[1, 2, 3]); // a field Brook does not know
        assert_eq!(
            Subscription::decode(&bytes).unwrap().topics,
            vec!["t".to_string()]
        );
    }

    #[test]
    fn assignment_golden_bytes() {
        let a =
            Assignment::from_partitions(&[TopicPartition::new("t0", 0), TopicPartition::new("t1", 1), TopicPartition::new("t0", 2)]);
        let bytes = a.encode(0);
        #[rustfmt::skip]
        let expected = [
            0, 0,                                         // version
            0, 0, 0, 2,                                   // two topics
            0, 2, b't', b'0', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, // t0: [0, 2]
            0, 2, b't', b'1', 0, 0, 0, 1, 0, 0, 0, 1,     // t1: [1]
            0xff, 0xff, 0xff, 0xff,                       // user data null
        ];
        assert_eq!(bytes, expected);
        let d = Assignment::decode(&bytes).unwrap();
        assert_eq!(d, a);
        assert_eq!(
            d.topic_partitions(),
            vec![TopicPartition::new("t0", 0), TopicPartition::new("t0", 2), TopicPartition::new("t1", 1)]
        );
        assert_eq!(Assignment::decode(&[]).unwrap(), Assignment::default());
        assert_eq!(&a.encode(3)[2..], &bytes[2..]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let full = Subscription {
            topics: vec!["topic".into()],
            user_data: Some(vec![1, 2]),
            owned_partitions: vec![("topic".into(), vec![1])],
            generation_id: 1,
            rack_id: Some("rack".into()),
            group_instance_id: None,
        }
        .encode(3);
        for n in 0..full.len() {
            assert!(
                Subscription::decode(&full[..n]).is_err(),
                "prefix of {n} bytes"
            );
        }
        let a = Assignment::from_partitions(&[TopicPartition::new("t", 3)]).encode(1);
        for n in 1..a.len() {
            assert!(Assignment::decode(&a[..n]).is_err(), "prefix of {n} bytes");
        }
        let samples: [&[u8]; 5] = [
            &[0xff, 0xff],
            &[0, 0, 0xff, 0xff, 0xff, 0xfe],
            &[0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1],
            &[0, 1, 0, 0, 0, 1, 0, 2, 0xff, 0xfe],
            &[0, 0, 0, 0, 0, 1, 0x80, 0x00],
        ];
        for s in samples {
            assert!(Subscription::decode(s).is_err(), "{s:?}");
            assert!(Assignment::decode(s).is_err(), "{s:?}");
        }
        // Pseudo-random bytes never panic.
        let mut x: u32 = 12345;
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = Subscription::decode(&bytes);
            let _ = Assignment::decode(&bytes);
        }
    }
}
