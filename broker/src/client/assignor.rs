//! Consumer partition assignors, as Kafka's client ships them: `range`, `roundrobin` and
//! `cooperative-sticky`. The group leader runs one over every member's [`Subscription`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::consumer_protocol::{Assignment, Subscription, ASSIGNMENT_VERSION};
use super::TopicPartition;
use crate::Result;

/// How a group moves partitions between members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebalanceProtocol {
    /// Every member gives up all its partitions before each rebalance.
    Eager,
    /// Members keep their partitions across a rebalance; a partition changing owner is revoked in
    /// one rebalance and assigned in the next.
    Cooperative,
}

/// A partition assignment strategy (`partition.assignment.strategy`).
pub trait PartitionAssignor: Send + Sync {
    /// The protocol name members advertise in JoinGroup (`range`, `roundrobin`, ...).
    fn name(&self) -> &str;

    /// Assigns the partitions of the subscribed topics (`partitions_per_topic`: topic -> number of
    /// partitions; subscribed topics missing from it are skipped) to the members (member id ->
    /// subscription). Every member gets an entry, possibly empty.
    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> BTreeMap<String, Vec<TopicPartition>>;

    /// The rebalance protocol the assignor supports. Default: eager, as Kafka's
    /// `ConsumerPartitionAssignor.supportedProtocols`.
    fn protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Eager
    }
}

/// Runs `assignor` as the group leader does after JoinGroup: decodes every member's subscription
/// (`(member id, group.instance.id, metadata)`, as the JoinGroup response lists them), assigns,
/// and encodes each member's [`Assignment`] for SyncGroup.
///
/// # Errors
/// [`crate::Error::Corrupt`] when a member's metadata is not a consumer protocol subscription.
pub fn leader_assign(
    assignor: &dyn PartitionAssignor,
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[(String, Option<String>, Vec<u8>)],
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut subscriptions = BTreeMap::new();
    for (id, instance, metadata) in members {
        let mut s = Subscription::decode(metadata)?;
        s.group_instance_id = instance.clone();
        subscriptions.insert(id.clone(), s);
    }
    Ok(assignor
        .assign(partitions_per_topic, &subscriptions)
        .into_iter()
        .map(|(m, tps)| {
            (
                m,
                Assignment::from_partitions(&tps).encode(ASSIGNMENT_VERSION),
            )
        })
        .collect())
}

/// Members in Kafka's `MemberInfo` order: static members first, by instance id, then the rest by
/// member id.
fn sorted_members<'a>(
    members: impl Iterator<Item = (&'a String, &'a Subscription)>,
) -> Vec<&'a String> {
    let mut v: Vec<(&String, &Subscription)> = members.collect();
    v.sort_by(
        |(a_id, a), (b_id, b)| match (&a.group_instance_id, &b.group_instance_id) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a_id.cmp(b_id),
        },
    );
    v.into_iter().map(|(id, _)| id).collect()
}

/// A candidate move: ((owned by the giver, load of the receiver), receiver, partition).
type Move<'m, 'p> = ((bool, usize), &'m String, &'p TopicPartition);

fn empty_assignment(
    subscriptions: &BTreeMap<String, Subscription>,
) -> BTreeMap<String, Vec<TopicPartition>> {
    subscriptions
        .keys()
        .map(|m| (m.clone(), Vec::new()))
        .collect()
}

/// Kafka's `RangeAssignor`: per topic, the partitions are split into contiguous ranges over the
/// sorted subscribed members; the first `partitions % members` members get one extra.
///
/// Two members and two topics of three partitions: C0 gets t0p0, t0p1, t1p0, t1p1; C1 gets t0p2,
/// t1p2.
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeAssignor;

impl PartitionAssignor for RangeAssignor {
    fn name(&self) -> &str {
        "range"
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let mut out = empty_assignment(subscriptions);
        for (topic, &count) in partitions_per_topic {
            let members = sorted_members(
                subscriptions
                    .iter()
                    .filter(|(_, s)| s.topics.iter().any(|t| t == topic)),
            );
            if members.is_empty() || count <= 0 {
                continue;
            }
            let n = members.len() as i32;
            let (per, extra) = (count / n, count % n);
            for (i, m) in members.into_iter().enumerate() {
                let i = i as i32;
                let start = per * i + i.min(extra);
                let len = per + i32::from(i < extra);
                let assigned = out.entry(m.clone()).or_default();
                assigned.extend((start..start + len).map(|p| TopicPartition::new(topic.clone(), p)));
            }
        }
        out
    }
}

/// Kafka's `RoundRobinAssignor`: all partitions of the subscribed topics, sorted by topic and
/// partition, dealt round robin over the sorted members, skipping members not subscribed to the
/// partition's topic.
///
/// Two members and two topics of three partitions: C0 gets t0p0, t0p2, t1p1; C1 gets t0p1,
/// t1p0, t1p2.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobinAssignor;

impl PartitionAssignor for RoundRobinAssignor {
    fn name(&self) -> &str {
        "roundrobin"
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let mut out = empty_assignment(subscriptions);
        let members = sorted_members(subscriptions.iter());
        if members.is_empty() {
            return out;
        }
        let topics: BTreeSet<&String> = subscriptions.values().flat_map(|s| &s.topics).collect();
        let mut next = 0usize;
        for topic in topics {
            let Some(&count) = partitions_per_topic.get(topic) else {
                continue;
            };
            for p in 0..count.max(0) {
                // Someone subscribes to `topic`, so this finds a member within one lap.
                for _ in 0..members.len() {
                    let m = members[next % members.len()];
                    next += 1;
                    if subscriptions[m].topics.contains(topic) {
                        out.entry(m.clone()).or_default().push(TopicPartition::new(topic.clone(), p));
                        break;
                    }
                }
            }
        }
        out
    }
}

/// Kafka's `CooperativeStickyAssignor`: a balanced assignment (partition counts differ by at most
/// one among members with the same subscription) that keeps every member's owned partitions where
/// balance allows. A partition that must change owner is left unassigned in this rebalance (its
/// owner revokes it) and assigned in the follow-up rebalance the owner triggers.
///
/// Owned partitions come from [`Subscription::owned_partitions`], with the generation from
/// [`Subscription::generation_id`] or, for clients that only send it there, the 4-byte user data
/// [`CooperativeStickyAssignor::user_data`] writes. Claims from an older generation than the
/// newest are ignored, and so are partitions claimed by two members of the same generation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CooperativeStickyAssignor;

impl CooperativeStickyAssignor {
    /// The subscription user data the Java client's assignor writes: the generation, i32.
    pub fn user_data(generation: i32) -> Vec<u8> {
        generation.to_be_bytes().to_vec()
    }

    fn generation(s: &Subscription) -> i32 {
        if s.generation_id >= 0 {
            return s.generation_id;
        }
        match s.user_data.as_deref() {
            Some([a, b, c, d, ..]) => i32::from_be_bytes([*a, *b, *c, *d]),
            _ => -1,
        }
    }

    /// The balanced, sticky assignment before the cooperative adjustment.
    pub(crate) fn sticky_assign(
        partitions_per_topic: &BTreeMap<String, i32>,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let members = sorted_members(subscriptions.iter());
        let subscribed =
            |m: &String, topic: &str| subscriptions[m].topics.iter().any(|t| t == topic);
        let exists = |topic: &str, p: i32| {
            partitions_per_topic
                .get(topic)
                .is_some_and(|n| (0..*n).contains(&p))
        };

        // Valid previous ownership: newest generation only, no double claims.
        let max_gen = subscriptions
            .values()
            .map(Self::generation)
            .max()
            .unwrap_or(-1);
        let mut claims: HashMap<TopicPartition, Vec<&String>> = HashMap::new();
        for m in &members {
            let s = &subscriptions[*m];
            if Self::generation(s) != max_gen {
                continue;
            }
            for (t, ps) in &s.owned_partitions {
                for p in ps {
                    if exists(t, *p) && subscribed(m, t) {
                        claims.entry(TopicPartition::new(t.clone(), *p)).or_default().push(m);
                    }
                }
            }
        }
        let mut assigned: BTreeMap<&String, BTreeSet<TopicPartition>> =
            members.iter().map(|m| (*m, BTreeSet::new())).collect();
        let mut owner: HashMap<TopicPartition, &String> = HashMap::new();
        let mut originally: HashMap<TopicPartition, &String> = HashMap::new();
        for (tp, ms) in claims {
            if let [m] = ms[..] {
                assigned.entry(m).or_default().insert(tp.clone());
                owner.insert(tp.clone(), m);
                originally.insert(tp, m);
            }
        }

        // Every partition of a subscribed topic, the hardest to place (fewest candidates) first.
        let mut all: Vec<(TopicPartition, Vec<&String>)> = Vec::new();
        for (topic, &n) in partitions_per_topic {
            let candidates: Vec<&String> = members
                .iter()
                .copied()
                .filter(|m| subscribed(m, topic))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            for p in 0..n.max(0) {
                all.push((TopicPartition::new(topic.clone(), p), candidates.clone()));
            }
        }
        all.sort_by(|(a_tp, a), (b_tp, b)| a.len().cmp(&b.len()).then_with(|| a_tp.cmp(b_tp)));
        let candidates: HashMap<TopicPartition, Vec<&String>> = all.iter().cloned().collect();

        // Partitions nobody validly owns go to their least loaded candidate.
        for (tp, cands) in &all {
            if owner.contains_key(tp) {
                continue;
            }
            let target = cands
                .iter()
                .min_by_key(|m| assigned[**m].len())
                .copied()
                .expect("candidates is not empty");
            assigned.entry(target).or_default().insert(tp.clone());
            owner.insert(tp.clone(), target);
        }

        // Balance: while some member holds two or more partitions more than a member that could
        // take one of them, move one (from the most loaded member first, preferring partitions
        // it did not own before, so nothing is revoked needlessly). Each move lowers the sum of
        // squared loads, so this ends.
        loop {
            let mut order: Vec<&String> = members.clone();
            order.sort_by_key(|m| std::cmp::Reverse(assigned[*m].len()));
            let mut chosen: Option<(&String, &String, TopicPartition)> = None;
            for heavy in order {
                let h = assigned[heavy].len();
                let mut best: Option<Move<'_, '_>> = None;
                for tp in &assigned[heavy] {
                    let owned = originally.get(tp) == Some(&heavy);
                    for light in &candidates[tp] {
                        let l = assigned[*light].len();
                        if h > l + 1 && best.as_ref().is_none_or(|(k, _, _)| (owned, l) < *k) {
                            best = Some(((owned, l), light, tp));
                        }
                    }
                }
                if let Some((_, light, tp)) = best {
                    chosen = Some((heavy, light, tp.clone()));
                    break;
                }
            }
            let Some((heavy, light, tp)) = chosen else {
                break;
            };
            if let Some(set) = assigned.get_mut(heavy) {
                set.remove(&tp);
            }
            assigned.entry(light).or_default().insert(tp);
        }

        let mut out = empty_assignment(subscriptions);
        for (m, tps) in assigned {
            out.insert(m.clone(), tps.into_iter().collect());
        }
        out
    }
}

impl PartitionAssignor for CooperativeStickyAssignor {
    fn name(&self) -> &str {
        "cooperative-sticky"
    }

    fn protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Cooperative
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let mut out = Self::sticky_assign(partitions_per_topic, subscriptions);
        // A partition some other member still owns is revoked first: nobody gets it this round.
        let mut owned_by: HashMap<(&str, i32), BTreeSet<&str>> = HashMap::new();
        for (m, s) in subscriptions {
            for (t, ps) in &s.owned_partitions {
                for p in ps {
                    owned_by
                        .entry((t.as_str(), *p))
                        .or_default()
                        .insert(m.as_str());
                }
            }
        }
        for (m, tps) in out.iter_mut() {
            tps.retain(|tp| {
                owned_by
                    .get(&(tp.topic.as_str(), tp.partition))
                    .is_none_or(|owners| owners.iter().all(|o| *o == m))
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(list: &[(&str, i32)]) -> BTreeMap<String, i32> {
        list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    fn subs(list: &[(&str, &[&str])]) -> BTreeMap<String, Subscription> {
        list.iter()
            .map(|(m, ts)| (m.to_string(), Subscription::new(ts.iter().copied())))
            .collect()
    }

    fn tps(list: &[(&str, i32)]) -> Vec<TopicPartition> {
        list.iter().map(|(t, p)| TopicPartition::new(*t, *p)).collect()
    }

    fn owning(s: &mut Subscription, owned: &[TopicPartition], generation: i32) {
        s.owned_partitions =
            crate::client::consumer_protocol::Assignment::from_partitions(owned).partitions;
        s.generation_id = generation;
    }

    /// Every partition of `t` assigned at most once; returns how many are assigned.
    fn assert_disjoint(a: &BTreeMap<String, Vec<TopicPartition>>) -> usize {
        let all: Vec<&TopicPartition> = a.values().flatten().collect();
        let set: BTreeSet<&TopicPartition> = all.iter().copied().collect();
        assert_eq!(all.len(), set.len(), "a partition is assigned twice: {a:?}");
        all.len()
    }

    #[test]
    fn leader_assign_decodes_and_encodes() {
        let members = vec![
            ("m1".to_string(), None, Subscription::new(["t"]).encode(3)),
            ("m2".to_string(), None, Subscription::new(["t"]).encode(0)),
        ];
        let out = leader_assign(&RangeAssignor, &topics(&[("t", 3)]), &members).unwrap();
        let m1 = Assignment::decode(&out["m1"]).unwrap();
        assert_eq!(m1.topic_partitions(), tps(&[("t", 0), ("t", 1)]));
        assert_eq!(
            Assignment::decode(&out["m2"]).unwrap().topic_partitions(),
            tps(&[("t", 2)])
        );
        let bad = vec![("m".to_string(), None, vec![0xff])];
        assert!(leader_assign(&RangeAssignor, &topics(&[("t", 3)]), &bad).is_err());
    }

    #[test]
    fn range_kafka_example() {
        let a = RangeAssignor.assign(
            &topics(&[("t0", 3), ("t1", 3)]),
            &subs(&[("C0", &["t0", "t1"]), ("C1", &["t0", "t1"])]),
        );
        assert_eq!(a["C0"], tps(&[("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)]));
        assert_eq!(a["C1"], tps(&[("t0", 2), ("t1", 2)]));
        assert_eq!(RangeAssignor.name(), "range");
        assert_eq!(RangeAssignor.protocol(), RebalanceProtocol::Eager);
    }

    #[test]
    fn range_per_topic_members_and_static_order() {
        let mut s = subs(&[
            ("a", &["t0"]),
            ("b", &["t0", "t1"]),
            ("c", &["t1"]),
            ("d", &[]),
        ]);
        let a = RangeAssignor.assign(&topics(&[("t0", 5), ("t1", 1), ("missing", 2)]), &s);
        assert_eq!(a["a"], tps(&[("t0", 0), ("t0", 1), ("t0", 2)]));
        assert_eq!(a["b"], tps(&[("t0", 3), ("t0", 4), ("t1", 0)]));
        assert_eq!((a["c"].len(), a["d"].len()), (0, 0));
        // Static members come first, by instance id.
        s.get_mut("b").unwrap().group_instance_id = Some("i-0".into());
        let a = RangeAssignor.assign(&topics(&[("t0", 5)]), &s);
        assert_eq!(a["b"], tps(&[("t0", 0), ("t0", 1), ("t0", 2)]));
    }

    #[test]
    fn roundrobin_kafka_examples() {
        let a = RoundRobinAssignor.assign(
            &topics(&[("t0", 3), ("t1", 3)]),
            &subs(&[("C0", &["t0", "t1"]), ("C1", &["t0", "t1"])]),
        );
        assert_eq!(a["C0"], tps(&[("t0", 0), ("t0", 2), ("t1", 1)]));
        assert_eq!(a["C1"], tps(&[("t0", 1), ("t1", 0), ("t1", 2)]));
        // Kafka's javadoc example with unequal subscriptions.
        let a = RoundRobinAssignor.assign(
            &topics(&[("t0", 1), ("t1", 2), ("t2", 3)]),
            &subs(&[
                ("C0", &["t0"]),
                ("C1", &["t0", "t1"]),
                ("C2", &["t0", "t1", "t2"]),
            ]),
        );
        assert_eq!(a["C0"], tps(&[("t0", 0)]));
        assert_eq!(a["C1"], tps(&[("t1", 0)]));
        assert_eq!(a["C2"], tps(&[("t1", 1), ("t2", 0), ("t2", 1), ("t2", 2)]));
        assert_eq!(RoundRobinAssignor.name(), "roundrobin");
    }

    #[test]
    fn cooperative_sticky_fresh_assignment_is_balanced() {
        let t = topics(&[("t0", 3), ("t1", 4)]);
        let s = subs(&[
            ("a", &["t0", "t1"]),
            ("b", &["t0", "t1"]),
            ("c", &["t0", "t1"]),
        ]);
        let a = CooperativeStickyAssignor.assign(&t, &s);
        assert_eq!(assert_disjoint(&a), 7);
        let mut loads: Vec<usize> = a.values().map(Vec::len).collect();
        loads.sort();
        assert_eq!(loads, vec![2, 2, 3]);
        assert_eq!(CooperativeStickyAssignor.name(), "cooperative-sticky");
        assert_eq!(
            CooperativeStickyAssignor.protocol(),
            RebalanceProtocol::Cooperative
        );
    }

    #[test]
    fn cooperative_sticky_revokes_first_then_assigns() {
        let t = topics(&[("t", 6)]);
        let mut s = subs(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"])]);
        let a_owned = tps(&[("t", 0), ("t", 1), ("t", 2)]);
        let b_owned = tps(&[("t", 3), ("t", 4), ("t", 5)]);
        owning(s.get_mut("a").unwrap(), &a_owned, 1);
        owning(s.get_mut("b").unwrap(), &b_owned, 1);
        // Round 1: c is new. a and b each give one partition up; nobody gets it yet.
        let r1 = CooperativeStickyAssignor.assign(&t, &s);
        assert_eq!(
            (r1["a"].len(), r1["b"].len(), r1["c"].len()),
            (2, 2, 0),
            "{r1:?}"
        );
        assert!(r1["a"].iter().all(|tp| a_owned.contains(tp)));
        assert!(r1["b"].iter().all(|tp| b_owned.contains(tp)));
        // Round 2 (the owners revoked and rejoined): c gets the two free partitions.
        owning(s.get_mut("a").unwrap(), &r1["a"], 2);
        owning(s.get_mut("b").unwrap(), &r1["b"], 2);
        owning(s.get_mut("c").unwrap(), &[], 2);
        let r2 = CooperativeStickyAssignor.assign(&t, &s);
        assert_eq!(r2["a"], r1["a"]);
        assert_eq!(r2["b"], r1["b"]);
        assert_eq!(r2["c"].len(), 2);
        assert_eq!(assert_disjoint(&r2), 6);
        // The sticky assignment of round 1 moved exactly the two partitions c got.
        let plain = CooperativeStickyAssignor::sticky_assign(&t, &{
            let mut s = s.clone();
            owning(s.get_mut("a").unwrap(), &a_owned, 1);
            owning(s.get_mut("b").unwrap(), &b_owned, 1);
            owning(s.get_mut("c").unwrap(), &[], -1);
            s
        });
        assert_eq!(plain["c"].len(), 2);
        assert!(plain["a"].iter().all(|tp| a_owned.contains(tp)));
    }

    #[test]
    fn cooperative_sticky_member_leaving_moves_only_its_partitions() {
        let t = topics(&[("t", 6)]);
        let mut s = subs(&[("a", &["t"]), ("b", &["t"])]);
        let a_owned = tps(&[("t", 0), ("t", 3)]);
        let b_owned = tps(&[("t", 1), ("t", 4)]);
        owning(s.get_mut("a").unwrap(), &a_owned, 4);
        owning(s.get_mut("b").unwrap(), &b_owned, 4);
        // c (owning t2, t5) left.
        let r = CooperativeStickyAssignor.assign(&t, &s);
        assert_eq!(assert_disjoint(&r), 6);
        assert_eq!((r["a"].len(), r["b"].len()), (3, 3));
        assert!(a_owned.iter().all(|tp| r["a"].contains(tp)));
        assert!(b_owned.iter().all(|tp| r["b"].contains(tp)));
    }

    #[test]
    fn cooperative_sticky_ignores_stale_and_conflicting_claims() {
        let t = topics(&[("t", 4)]);
        let mut s = subs(&[("a", &["t"]), ("b", &["t"])]);
        owning(s.get_mut("a").unwrap(), &tps(&[("t", 0), ("t", 1)]), 3);
        // b claims t0 from an older generation (it missed a rebalance): a keeps t0.
        owning(s.get_mut("b").unwrap(), &tps(&[("t", 0), ("t", 2)]), 2);
        let plain = CooperativeStickyAssignor::sticky_assign(&t, &s);
        assert_eq!(plain["a"], tps(&[("t", 0), ("t", 1)]));
        assert_eq!(assert_disjoint(&plain), 4);
        // The generation may come in the user data instead (older clients).
        let mut s2 = subs(&[("a", &["t"]), ("b", &["t"])]);
        for (m, owned) in [
            ("a", tps(&[("t", 0), ("t", 1)])),
            ("b", tps(&[("t", 2), ("t", 3)])),
        ] {
            let sub = s2.get_mut(m).unwrap();
            owning(sub, &owned, -1);
            sub.user_data = Some(CooperativeStickyAssignor::user_data(7));
        }
        let r = CooperativeStickyAssignor.assign(&t, &s2);
        assert_eq!(r["a"], tps(&[("t", 0), ("t", 1)]));
        assert_eq!(r["b"], tps(&[("t", 2), ("t", 3)]));
    }

    #[test]
    fn cooperative_sticky_unequal_subscriptions_assign_everything() {
        let t = topics(&[("t0", 2), ("t1", 5), ("t2", 3)]);
        let s = subs(&[
            ("a", &["t0"]),
            ("b", &["t0", "t1"]),
            ("c", &["t1", "t2"]),
            ("d", &["t2"]),
        ]);
        let r = CooperativeStickyAssignor.assign(&t, &s);
        assert_eq!(assert_disjoint(&r), 10);
        for (m, tps) in &r {
            assert!(
                tps.iter().all(|tp| s[m].topics.contains(&tp.topic)),
                "{m} got an unsubscribed topic"
            );
        }
        let loads: Vec<usize> = r.values().map(Vec::len).collect();
        assert!(
            loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 2,
            "{r:?}"
        );
    }

    /// Random groups (equal subscriptions), membership changing every round: each round is
    /// disjoint, only revokes, and once membership stops changing, the next round assigns every
    /// partition, balanced.
    #[test]
    fn cooperative_sticky_converges_balanced() {
        let mut x: u64 = 42;
        let mut rand = |n: u64| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % n
        };
        let t = topics(&[("a", 7), ("b", 5), ("c", 1)]);
        let names = ["m0", "m1", "m2", "m3", "m4", "m5"];
        let mut owned: BTreeMap<String, Vec<TopicPartition>> = BTreeMap::new();
        for round in 0..30 {
            // Change membership.
            let n = 1 + rand(names.len() as u64) as usize;
            let mut s: BTreeMap<String, Subscription> = BTreeMap::new();
            for m in names.iter().take(n) {
                let mut sub = Subscription::new(["a", "b", "c"]);
                owning(
                    &mut sub,
                    owned.get(*m).map(Vec::as_slice).unwrap_or(&[]),
                    round,
                );
                s.insert(m.to_string(), sub);
            }
            let mut r = CooperativeStickyAssignor.assign(&t, &s);
            assert_disjoint(&r);
            for (m, tps) in &r {
                for tp in tps {
                    let owners: Vec<&String> = s
                        .iter()
                        .filter(|(_, sub)| {
                            sub.owned_partitions
                                .iter()
                                .any(|(t, ps)| *t == tp.topic && ps.contains(&tp.partition))
                        })
                        .map(|(o, _)| o)
                        .collect();
                    assert!(
                        owners.is_empty() || owners == [m],
                        "{tp:?} given to {m} while {owners:?} own it"
                    );
                }
            }
            // Follow-up rebalance with the same members.
            for (m, sub) in s.iter_mut() {
                owning(sub, &r[m], round + 1);
            }
            r = CooperativeStickyAssignor.assign(&t, &s);
            assert_eq!(assert_disjoint(&r), 13, "round {round}: {r:?}");
            let loads: Vec<usize> = r.values().map(Vec::len).collect();
            assert!(
                loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1,
                "{r:?}"
            );
            owned = r;
        }
    }

    #[test]
    fn cooperative_sticky_handles_large_groups() {
        let t = topics(&[("big", 1000), ("small", 10)]);
        let mut s: BTreeMap<String, Subscription> = (0..50)
            .map(|i| {
                (
                    format!("member-{i:02}"),
                    Subscription::new(["big", "small"]),
                )
            })
            .collect();
        let first = CooperativeStickyAssignor.assign(&t, &s);
        assert_eq!(assert_disjoint(&first), 1010);
        // One member leaves: everyone else keeps what they had.
        s.remove("member-07");
        for (m, sub) in s.iter_mut() {
            owning(sub, &first[m], 1);
        }
        let second = CooperativeStickyAssignor.assign(&t, &s);
        assert_eq!(assert_disjoint(&second), 1010);
        for (m, tps) in &second {
            assert!(
                first[m].iter().all(|tp| tps.contains(tp)),
                "{m} lost a partition"
            );
        }
    }
}
