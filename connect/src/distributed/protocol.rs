//! Connect's group protocol (Kafka's `ConnectProtocol`, version 0, the eager protocol named
//! `default` under protocol type `connect`): what a worker says when it joins (its REST URL and
//! how far it has read the config topic) and what the leader hands each member (the connectors
//! and tasks it runs), and the leader's round-robin assignment (Kafka's `EagerAssignor`).

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};

/// The group's protocol type.
pub(crate) const PROTOCOL_TYPE: &str = "connect";
/// The eager protocol's name.
pub(crate) const PROTOCOL_NAME: &str = "default";
/// A connector itself in an assignment's task list (Kafka's `CONNECTOR_TASK`).
const CONNECTOR_TASK: i32 = -1;

/// What a member says when it joins (`WorkerState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkerState {
    /// The member's REST URL.
    pub(crate) url: String,
    /// The offset it has read the config topic to.
    pub(crate) config_offset: i64,
}

/// What the leader gives a member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Assignment {
    /// 0, or 1 (`CONFIG_MISMATCH`): the leader could not read the config topic far enough.
    pub(crate) error: i16,
    /// The leader's member id.
    pub(crate) leader: String,
    /// The leader's REST URL.
    pub(crate) leader_url: String,
    /// The config offset the assignment was made at.
    pub(crate) config_offset: i64,
    /// Connectors this member runs.
    pub(crate) connectors: Vec<String>,
    /// Tasks this member runs: (connector, task number).
    pub(crate) tasks: Vec<(String, u32)>,
}

fn put_str(b: &mut BytesMut, s: &str) {
    b.put_i16(s.len() as i16);
    b.put_slice(s.as_bytes());
}

fn bad(what: &str) -> Error {
    Error::Data(format!("malformed Connect group protocol {what}"))
}

fn get_i16(b: &mut Bytes, what: &str) -> Result<i16> {
    if b.remaining() < 2 {
        return Err(bad(what));
    }
    Ok(b.get_i16())
}

fn get_i32(b: &mut Bytes, what: &str) -> Result<i32> {
    if b.remaining() < 4 {
        return Err(bad(what));
    }
    Ok(b.get_i32())
}

fn get_i64(b: &mut Bytes, what: &str) -> Result<i64> {
    if b.remaining() < 8 {
        return Err(bad(what));
    }
    Ok(b.get_i64())
}

fn get_str(b: &mut Bytes, what: &str) -> Result<String> {
    let n = get_i16(b, what)?;
    let n = usize::try_from(n).map_err(|_| bad(what))?;
    if b.remaining() < n {
        return Err(bad(what));
    }
    String::from_utf8(b.split_to(n).to_vec()).map_err(|_| bad(what))
}

impl WorkerState {
    pub(crate) fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(0);
        put_str(&mut b, &self.url);
        b.put_i64(self.config_offset);
        b.freeze()
    }

    pub(crate) fn decode(mut b: Bytes) -> Result<WorkerState> {
        let _version = get_i16(&mut b, "metadata")?;
        Ok(WorkerState { url: get_str(&mut b, "metadata")?, config_offset: get_i64(&mut b, "metadata")? })
    }
}

impl Assignment {
    pub(crate) fn encode(&self) -> Bytes {
        let mut by_connector: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for c in &self.connectors {
            by_connector.entry(c).or_default().push(CONNECTOR_TASK);
        }
        for (c, t) in &self.tasks {
            by_connector.entry(c).or_default().push(*t as i32);
        }
        let mut b = BytesMut::new();
        b.put_i16(0);
        b.put_i16(self.error);
        put_str(&mut b, &self.leader);
        put_str(&mut b, &self.leader_url);
        b.put_i64(self.config_offset);
        b.put_i32(by_connector.len() as i32);
        for (c, ids) in by_connector {
            put_str(&mut b, c);
            b.put_i32(ids.len() as i32);
            for id in ids {
                b.put_i32(id);
            }
        }
        b.freeze()
    }

    pub(crate) fn decode(mut b: Bytes) -> Result<Assignment> {
        let _version = get_i16(&mut b, "assignment")?;
        let mut a = Assignment {
            error: get_i16(&mut b, "assignment")?,
            leader: get_str(&mut b, "assignment")?,
            leader_url: get_str(&mut b, "assignment")?,
            config_offset: get_i64(&mut b, "assignment")?,
            ..Assignment::default()
        };
        let n = get_i32(&mut b, "assignment")?;
        for _ in 0..n.max(0) {
            let c = get_str(&mut b, "assignment")?;
            let m = get_i32(&mut b, "assignment")?;
            for _ in 0..m.max(0) {
                match get_i32(&mut b, "assignment")? {
                    CONNECTOR_TASK => a.connectors.push(c.clone()),
                    t if t >= 0 => a.tasks.push((c.clone(), t as u32)),
                    _ => return Err(bad("assignment")),
                }
            }
        }
        Ok(a)
    }
}

/// The leader's assignment (Kafka's eager round robin): members by id, connectors by name, then
/// every task by connector and number, dealt in turn from one circular list of members.
/// `tasks` is each connector's task count.
pub(crate) fn assign(members: &[String], tasks: &BTreeMap<String, u32>) -> BTreeMap<String, (Vec<String>, Vec<(String, u32)>)> {
    let mut sorted: Vec<&String> = members.iter().collect();
    sorted.sort();
    let mut out: BTreeMap<String, (Vec<String>, Vec<(String, u32)>)> = sorted.iter().map(|m| ((*m).clone(), Default::default())).collect();
    if sorted.is_empty() {
        return out;
    }
    let mut next = sorted.iter().cycle();
    for c in tasks.keys() {
        if let Some(m) = next.next() {
            out.entry((*m).clone()).or_default().0.push(c.clone());
        }
    }
    for (c, n) in tasks {
        for t in 0..*n {
            if let Some(m) = next.next() {
                out.entry((*m).clone()).or_default().1.push((c.clone(), t));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_state_and_assignment_round_trip_in_connects_layout() {
        let s = WorkerState { url: "http://a:8083/".into(), config_offset: 7 };
        let bytes = s.encode();
        // version 0, url, offset: Kafka's CONFIG_STATE_V0.
        assert_eq!(&bytes[..4], &[0, 0, 0, 14]);
        assert_eq!(WorkerState::decode(bytes).unwrap(), s);
        let a = Assignment { error: 0, leader: "w-1".into(), leader_url: "http://a:8083/".into(), config_offset: 7, connectors: vec!["src".into()], tasks: vec![("sink".into(), 0), ("src".into(), 1)] };
        let decoded = Assignment::decode(a.encode()).unwrap();
        assert_eq!(decoded.connectors, a.connectors);
        let mut tasks = decoded.tasks.clone();
        tasks.sort();
        assert_eq!(tasks, vec![("sink".to_owned(), 0), ("src".to_owned(), 1)]);
        assert!(Assignment::decode(Bytes::from_static(&[0, 0, 0])).is_err());
    }

    #[test]
    fn eager_round_robin_spreads_connectors_then_tasks() {
        let members = vec!["c".to_owned(), "a".to_owned(), "b".to_owned()];
        let tasks: BTreeMap<String, u32> = [("sink".to_owned(), 2), ("src".to_owned(), 2)].into();
        let a = assign(&members, &tasks);
        assert_eq!(a["a"], (vec!["sink".to_owned()], vec![("sink".to_owned(), 1)]));
        assert_eq!(a["b"], (vec!["src".to_owned()], vec![("src".to_owned(), 0)]));
        assert_eq!(a["c"], (vec![], vec![("sink".to_owned(), 0), ("src".to_owned(), 1)]));
    }
}
