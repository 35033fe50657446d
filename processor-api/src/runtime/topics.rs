//! Startup topic work: partition counts per sub-topology, internal topic creation,
//! co-partitioning checks, pattern sources, and the map from input partitions to tasks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use super::client::{InternalTopic, StreamsAdmin};
use crate::config::StreamsConfig;
use crate::engine::{SubtopologyInfo, TaskId, TopicPartition};
use crate::error::{Result, TopologyError};
use crate::topology::pattern::TopicPattern;

/// The resolved topics of a topology.
#[derive(Debug)]
pub(crate) struct TopologyTopics {
    /// Sub-topology by id (pattern sources: the topics matched at start).
    pub(crate) subtopologies: BTreeMap<u32, SubtopologyInfo>,
    /// Every topic a sub-topology reads -> that sub-topology; grows when a new topic matches
    /// a pattern source.
    source_of: RwLock<BTreeMap<String, u32>>,
    /// Partition count of each sub-topology (its task count).
    pub(crate) partitions: BTreeMap<u32, i32>,
    /// Pattern sources by sub-topology.
    patterns: Vec<(u32, TopicPattern)>,
    application_id: String,
    /// Bumped whenever `source_of` changes: threads re-subscribe.
    version: AtomicU64,
}

impl TopologyTopics {
    /// Topics the stream threads subscribe to.
    #[cfg(test)]
    pub(crate) fn subscription(&self) -> Vec<String> {
        self.source_of.read().keys().cloned().collect()
    }

    /// The subscription and its version.
    pub(crate) fn versioned_subscription(&self) -> (u64, Vec<String>) {
        let map = self.source_of.read();
        (self.version.load(Ordering::SeqCst), map.keys().cloned().collect())
    }

    /// The version of the subscription (changes when a pattern matches a new topic).
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// Whether a topology has pattern sources.
    pub(crate) fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
    }

    /// Input topics of a sub-topology.
    pub(crate) fn topics_of(&self, subtopology: u32) -> Vec<String> {
        self.source_of.read().iter().filter(|(_, &s)| s == subtopology).map(|(t, _)| t.clone()).collect()
    }

    /// The task an input partition belongs to.
    pub(crate) fn task_of(&self, tp: &TopicPartition) -> Option<TaskId> {
        self.source_of.read().get(&tp.topic).map(|&s| TaskId { subtopology: s, partition: tp.partition })
    }

    /// Looks for topics that newly match a pattern source (Kafka re-checks its metadata every
    /// `metadata.max.age.ms`); returns whether the subscription changed. A topic with more
    /// partitions than the sub-topology has tasks is not subscribed (its changelogs could not
    /// hold the extra tasks), with an error log.
    ///
    /// # Errors
    /// Client errors listing topics.
    pub(crate) fn refresh(&self, admin: &dyn StreamsAdmin) -> Result<bool> {
        if self.patterns.is_empty() {
            return Ok(false);
        }
        let mut added = Vec::new();
        for t in admin.list_topics()? {
            if self.source_of.read().contains_key(&t) || is_internal(&self.application_id, &t) {
                continue;
            }
            let Some(&(sub, _)) = self.patterns.iter().find(|(_, p)| p.matches(&t)) else { continue };
            let Some(n) = admin.partition_count(&t)? else { continue };
            let tasks = self.partitions.get(&sub).copied().unwrap_or(0);
            if n > tasks {
                tracing::error!(topic = %t, partitions = n, subtopology = sub, tasks, "a topic matching a pattern source has more partitions than the sub-topology has tasks; not subscribed");
                continue;
            }
            added.push((t, sub));
        }
        if added.is_empty() {
            return Ok(false);
        }
        tracing::info!(application = %self.application_id, topics = ?added.iter().map(|(t, _)| t).collect::<Vec<_>>(), "new topics match pattern sources");
        self.source_of.write().extend(added);
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(true)
    }

    /// Groups assigned partitions into tasks.
    pub(crate) fn tasks_of(&self, assigned: &[TopicPartition]) -> BTreeMap<TaskId, Vec<TopicPartition>> {
        let mut out: BTreeMap<TaskId, Vec<TopicPartition>> = BTreeMap::new();
        for tp in assigned {
            if let Some(t) = self.task_of(tp) {
                out.entry(t).or_default().push(tp.clone());
            }
        }
        out
    }
}

/// Whether `topic` is internal: the broker's (`__consumer_offsets`, ...) or this
/// application's changelog and repartition topics. Pattern sources never match those.
pub(crate) use brook_common::topics::is_internal;

/// Resolves pattern sources against the existing topics and partition counts, checks
/// co-partitioning and creates the internal topics.
pub(crate) fn prepare(
    mut subs: Vec<SubtopologyInfo>,
    patterns: Vec<(u32, String)>,
    admin: &dyn StreamsAdmin,
    config: &StreamsConfig,
) -> Result<TopologyTopics> {
    let patterns: Vec<(u32, TopicPattern)> =
        patterns.into_iter().map(|(s, p)| Ok((s, TopicPattern::compile(&p)?))).collect::<Result<_>>()?;
    if !patterns.is_empty() {
        let named: BTreeSet<String> = subs.iter().flat_map(|s| s.source_topics.iter().cloned()).collect();
        for t in admin.list_topics()? {
            if named.contains(&t) || is_internal(&config.application_id, &t) {
                continue;
            }
            if let Some((sub, _)) = patterns.iter().find(|(_, p)| p.matches(&t)) {
                if let Some(s) = subs.iter_mut().find(|s| s.id == *sub) {
                    s.source_topics.push(t);
                }
            }
        }
        for (sub, p) in &patterns {
            let empty = subs.iter().find(|s| s.id == *sub).is_some_and(|s| {
                s.source_topics.is_empty() && s.repartition_source_topics.is_empty()
            });
            if empty {
                return Err(TopologyError::NoTopicMatchesPattern { pattern: p.as_str().to_owned(), subtopology: *sub }.into());
            }
        }
    }
    let mut counts: BTreeMap<String, i32> = BTreeMap::new();
    let repartition: BTreeSet<String> = subs
        .iter()
        .flat_map(|s| s.repartition_sink_topics.iter().chain(&s.repartition_source_topics))
        .cloned()
        .collect();
    for s in &subs {
        for t in &s.source_topics {
            match admin.partition_count(t)? {
                Some(n) => {
                    counts.insert(t.clone(), n);
                }
                None => {
                    return Err(TopologyError::MissingSourceTopic { topic: t.clone(), subtopology: s.id }.into())
                }
            }
        }
    }
    // Existing repartition topics keep their count; new ones take their fixed count
    // (`Repartitioned::with_number_of_partitions`) or else the max source partitions of the
    // sub-topology writing them. Iterate to a fixed point (chains of repartitions).
    let fixed: BTreeMap<&String, i32> = subs.iter().flat_map(|s| &s.repartition_partition_counts).map(|(t, n)| (t, *n)).collect();
    for t in &repartition {
        let existing = admin.partition_count(t)?;
        match (existing, fixed.get(t)) {
            (Some(have), Some(&want)) if have != want => {
                return Err(TopologyError::RepartitionTopicPartitions { topic: t.clone(), have, want }.into())
            }
            (Some(n), _) | (None, Some(&n)) => {
                counts.insert(t.clone(), n);
            }
            (None, None) => {}
        }
    }
    let mut partitions: BTreeMap<u32, i32> = BTreeMap::new();
    for _ in 0..=subs.len() {
        let mut changed = false;
        for s in &subs {
            let n =
                s.source_topics.iter().chain(&s.repartition_source_topics).filter_map(|t| counts.get(t).copied()).max();
            if let Some(n) = n {
                if partitions.get(&s.id) != Some(&n) {
                    partitions.insert(s.id, n);
                    changed = true;
                }
                for t in &s.repartition_sink_topics {
                    if !counts.contains_key(t) {
                        counts.insert(t.clone(), n);
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    for s in &subs {
        if !partitions.contains_key(&s.id) {
            return Err(TopologyError::UnknownPartitionCount(s.id).into());
        }
    }
    // Co-partitioning.
    for s in &subs {
        for group in &s.copartition_groups {
            let got: BTreeMap<&str, i32> =
                group.iter().filter_map(|t| counts.get(t).map(|n| (t.as_str(), *n))).collect();
            let distinct: BTreeSet<i32> = got.values().copied().collect();
            if distinct.len() > 1 {
                let counts = got.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect();
                return Err(TopologyError::NotCopartitioned { topics: group.clone(), counts }.into());
            }
        }
    }
    // Internal topics.
    let mut create = Vec::new();
    for s in &subs {
        for t in &s.repartition_sink_topics {
            create.push(InternalTopic {
                name: t.clone(),
                partitions: counts[t],
                configs: BTreeMap::from([
                    ("cleanup.policy".to_owned(), "delete".to_owned()),
                    ("retention.ms".to_owned(), "-1".to_owned()),
                ]),
            });
        }
        for (t, cfg) in &s.changelog_topics {
            let want = partitions[&s.id];
            if let Some(have) = admin.partition_count(t)? {
                if have != want {
                    return Err(TopologyError::ChangelogTopicPartitions { topic: t.clone(), have, subtopology: s.id, tasks: want }.into());
                }
            }
            create.push(InternalTopic { name: t.clone(), partitions: want, configs: cfg.clone() });
        }
    }
    if !create.is_empty() {
        tracing::info!(application = %config.application_id, topics = ?create.iter().map(|t| &t.name).collect::<Vec<_>>(), "creating internal topics");
        admin.create_topics(&create)?;
    }
    let mut source_of = BTreeMap::new();
    for s in &subs {
        for t in s.source_topics.iter().chain(&s.repartition_source_topics) {
            if let Some(prev) = source_of.insert(t.clone(), s.id) {
                if prev != s.id {
                    return Err(TopologyError::TopicReadTwice { topic: t.clone(), first: prev, second: s.id }.into());
                }
            }
        }
    }
    Ok(TopologyTopics {
        subtopologies: subs.into_iter().map(|s| (s.id, s)).collect(),
        source_of: RwLock::new(source_of),
        partitions,
        patterns,
        application_id: config.application_id.clone(),
        version: AtomicU64::new(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::engine::TopicPartition;
    use parking_lot::Mutex;

    #[derive(Default)]
    struct FakeAdmin {
        topics: Mutex<BTreeMap<String, i32>>,
        created: Mutex<Vec<InternalTopic>>,
    }

    impl StreamsAdmin for FakeAdmin {
        fn partition_count(&self, topic: &str) -> Result<Option<i32>> {
            Ok(self.topics.lock().get(topic).copied())
        }
        fn create_topics(&self, topics: &[InternalTopic]) -> Result<()> {
            for t in topics {
                self.topics.lock().entry(t.name.clone()).or_insert(t.partitions);
            }
            self.created.lock().extend(topics.iter().cloned());
            Ok(())
        }
        fn list_topics(&self) -> Result<Vec<String>> {
            Ok(self.topics.lock().keys().cloned().collect())
        }
        fn end_offset(&self, _: &TopicPartition, _: bool) -> Result<i64> {
            Ok(0)
        }
        fn start_offset(&self, _: &TopicPartition) -> Result<i64> {
            Ok(0)
        }
    }

    fn sub(id: u32, sources: &[&str], rep_in: &[&str], rep_out: &[&str], changelogs: &[&str]) -> SubtopologyInfo {
        SubtopologyInfo {
            id,
            source_topics: sources.iter().map(|s| s.to_string()).collect(),
            repartition_source_topics: rep_in.iter().map(|s| s.to_string()).collect(),
            repartition_sink_topics: rep_out.iter().map(|s| s.to_string()).collect(),
            repartition_partition_counts: BTreeMap::new(),
            changelog_topics: changelogs.iter().map(|s| (s.to_string(), BTreeMap::new())).collect(),
            copartition_groups: vec![],
        }
    }

    #[test]
    fn repartition_topics_take_the_partition_count_of_their_writer() {
        let admin = FakeAdmin::default();
        admin.topics.lock().insert("in".into(), 4);
        let subs = vec![
            sub(0, &["in"], &[], &["app-rep-repartition"], &[]),
            sub(1, &[], &["app-rep-repartition"], &[], &["app-agg-changelog"]),
        ];
        let t = prepare(subs, vec![], &admin, &StreamsConfig::new("app")).unwrap();
        assert_eq!(t.partitions, BTreeMap::from([(0, 4), (1, 4)]));
        let created: BTreeMap<String, i32> =
            admin.created.lock().iter().map(|t| (t.name.clone(), t.partitions)).collect();
        assert_eq!(created, BTreeMap::from([("app-agg-changelog".into(), 4), ("app-rep-repartition".into(), 4)]));
        assert_eq!(t.subscription(), ["app-rep-repartition", "in"]);
        let tasks = t.tasks_of(&[TopicPartition::new("in", 2), TopicPartition::new("app-rep-repartition", 2), TopicPartition::new("other", 0)]);
        let ids: Vec<String> = tasks.keys().map(ToString::to_string).collect();
        assert_eq!(ids, ["0_2", "1_2"]);
    }

    #[test]
    fn repartition_topics_with_a_fixed_count_get_it_and_so_do_their_readers() {
        let admin = FakeAdmin::default();
        admin.topics.lock().insert("in".into(), 4);
        let mut writer = sub(0, &["in"], &[], &["app-a-repartition", "app-b-repartition"], &[]);
        writer.repartition_partition_counts = BTreeMap::from([("app-a-repartition".into(), 7)]);
        let subs = vec![
            writer,
            sub(1, &[], &["app-a-repartition"], &["app-c-repartition"], &["app-agg-changelog"]),
            sub(2, &[], &["app-b-repartition"], &[], &[]),
            sub(3, &[], &["app-c-repartition"], &[], &[]),
        ];
        let t = prepare(subs.clone(), vec![], &admin, &StreamsConfig::new("app")).unwrap();
        // The fixed count wins over the writer's 4 and propagates down the chain.
        assert_eq!(t.partitions, BTreeMap::from([(0, 4), (1, 7), (2, 4), (3, 7)]));
        let created: BTreeMap<String, i32> =
            admin.created.lock().iter().map(|t| (t.name.clone(), t.partitions)).collect();
        assert_eq!(
            created,
            BTreeMap::from([
                ("app-a-repartition".into(), 7),
                ("app-agg-changelog".into(), 7),
                ("app-b-repartition".into(), 4),
                ("app-c-repartition".into(), 7),
            ])
        );
        // A restart finds the topics as created and accepts them.
        prepare(subs.clone(), vec![], &admin, &StreamsConfig::new("app")).unwrap();
        // An existing topic with another count is an error, not silently used.
        admin.topics.lock().insert("app-a-repartition".into(), 3);
        let err = prepare(subs, vec![], &admin, &StreamsConfig::new("app")).unwrap_err();
        assert!(
            matches!(&err, Error::Topology(TopologyError::RepartitionTopicPartitions { topic, have: 3, want: 7 }) if topic == "app-a-repartition"),
            "{err}"
        );
    }

    #[test]
    fn mismatched_internal_topics_and_copartitioning_are_rejected() {
        let admin = FakeAdmin::default();
        admin.topics.lock().extend([("a".to_owned(), 2), ("b".to_owned(), 3), ("app-s-changelog".to_owned(), 5)]);
        let err = prepare(vec![sub(0, &["a"], &[], &[], &["app-s-changelog"])], vec![], &admin, &StreamsConfig::new("app"))
            .unwrap_err();
        assert!(
            matches!(&err, Error::Topology(TopologyError::ChangelogTopicPartitions { topic, have: 5, subtopology: 0, tasks: 2 }) if topic == "app-s-changelog"),
            "{err}"
        );
        let mut s = sub(0, &["a", "b"], &[], &[], &[]);
        s.copartition_groups = vec![vec!["a".into(), "b".into()]];
        let err = prepare(vec![s], vec![], &admin, &StreamsConfig::new("app")).unwrap_err();
        let Error::Topology(TopologyError::NotCopartitioned { topics, counts }) = &err else { panic!("{err}") };
        assert_eq!(topics, &["a", "b"]);
        assert_eq!(counts, &[("a".to_owned(), 2), ("b".to_owned(), 3)]);
        assert!(err.to_string().ends_with("must be co-partitioned (same partition count) but have a: 2, b: 3"), "{err}");
    }

    #[test]
    fn pattern_sources_match_user_topics_only_and_pick_up_new_ones() {
        let admin = FakeAdmin::default();
        admin.topics.lock().extend(
            [("in-a", 2), ("in-b", 2), ("other", 2), ("__in-x", 1), ("in-app-s-changelog", 2), ("in-app-r-repartition", 2)]
                .map(|(t, n)| (t.to_owned(), n)),
        );
        let subs = vec![sub(0, &[], &[], &[], &["in-app-s-changelog"])];
        let t = prepare(subs, vec![(0, "in-.*".into())], &admin, &StreamsConfig::new("in-app")).unwrap();
        assert_eq!(t.subscription(), ["in-a", "in-b"]);
        assert_eq!(t.partitions, BTreeMap::from([(0, 2)]));
        assert_eq!(t.version(), 0);
        assert!(!t.refresh(&admin).unwrap(), "nothing new");
        admin.topics.lock().extend([("in-c".to_owned(), 1), ("in-wide".to_owned(), 4)]);
        assert!(t.refresh(&admin).unwrap());
        assert_eq!(t.version(), 1);
        // `in-wide` has more partitions than the sub-topology has tasks: not subscribed.
        assert_eq!(t.subscription(), ["in-a", "in-b", "in-c"]);
        assert_eq!(t.task_of(&TopicPartition::new("in-c", 0)), Some(TaskId { subtopology: 0, partition: 0 }));
        assert_eq!(t.topics_of(0), ["in-a", "in-b", "in-c"]);

        let err = prepare(vec![sub(0, &[], &[], &[], &[])], vec![(0, "nothing-.*".into())], &admin, &StreamsConfig::new("app"))
            .unwrap_err();
        assert!(
            matches!(&err, Error::Topology(TopologyError::NoTopicMatchesPattern { pattern, subtopology: 0 }) if pattern == "nothing-.*"),
            "{err}"
        );
        assert!(is_internal("app", "__consumer_offsets"));
        assert!(is_internal("app", "app-store-changelog"));
        assert!(!is_internal("app", "other-store-changelog"));
    }
}
