//! The boundary between the runtime (threads, clients, commits) and the task engine (the
//! processor graph of one task, its stores, its punctuators). Records cross it as bytes; the
//! typed Processor API lives on the engine's side.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::config::StreamsConfig;
use crate::error::Result;

pub use brook_common::{ConsumerRecord, Header, TopicPartition};
pub use crate::task_id::{AnyTaskId, TaskId};

/// A record a task sends: sink output, changelog or repartition record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRecord {
    /// Destination topic (shared: a sink sends every record to the same few topics).
    pub topic: Arc<str>,
    /// Explicit partition (changelogs: the task's partition), else the default partitioner.
    pub partition: Option<i32>,
    /// Key bytes.
    pub key: Option<Bytes>,
    /// Value bytes; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Timestamp.
    pub timestamp: i64,
    /// Headers.
    pub headers: Vec<Header>,
}

/// Where a task's output goes; the runtime implements it over a producer (transactional under
/// exactly-once), the test driver over in-memory topics.
pub trait RecordCollector {
    /// Sends one record.
    ///
    /// # Errors
    /// The producer's error (the production exception handler decides what happens next).
    fn send(&mut self, record: OutputRecord) -> Result<()>;
}

/// What the runtime needs to know about one sub-topology to create topics and tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubtopologyInfo {
    /// Index, as in `describe()`.
    pub id: u32,
    /// User source topics (pattern sources are resolved by the runtime).
    pub source_topics: Vec<String>,
    /// Internal repartition topics this sub-topology reads (full names, with the application
    /// id prefix).
    pub repartition_source_topics: Vec<String>,
    /// Repartition topics it writes.
    pub repartition_sink_topics: Vec<String>,
    /// Repartition topics (among those it writes) created with a fixed partition count
    /// (`Repartitioned::with_number_of_partitions`); the others take the partition count of
    /// this sub-topology.
    pub repartition_partition_counts: BTreeMap<String, i32>,
    /// Changelog topics of its stores, with the topic configs they are created with.
    pub changelog_topics: Vec<(String, BTreeMap<String, String>)>,
    /// Groups of source topics that must be co-partitioned (joins).
    pub copartition_groups: Vec<Vec<String>>,
}

/// Builds task engines for a topology.
pub trait TaskFactory: Send + Sync {
    /// The sub-topologies, in `describe()` order.
    fn subtopologies(&self) -> Vec<SubtopologyInfo>;

    /// Creates the engine of one task; its state lives under
    /// `state.dir/<application.id>/<task id>/`.
    ///
    /// # Errors
    /// Store errors (opening RocksDB, a corrupt directory that cannot be wiped).
    fn create_task(&self, id: TaskId, inputs: Vec<TopicPartition>, state_dir: &Path, config: &StreamsConfig) -> Result<Box<dyn TaskEngine>>;

    /// The `auto.offset.reset` policy of each source topic (or pattern) that sets its own.
    /// Default: none.
    fn offset_resets(&self) -> BTreeMap<String, crate::OffsetReset> {
        BTreeMap::new()
    }

    /// Regex patterns of pattern sources, with the sub-topology reading them (Java regex
    /// syntax, whole-name match). The runtime subscribes to every topic that matches, now and
    /// whenever it refreshes its metadata (`metadata.max.age.ms`). Default: none.
    fn source_patterns(&self) -> Vec<(u32, String)> {
        Vec::new()
    }

    /// The topics of global stores (each read in full by every instance). Default: none.
    fn global_source_topics(&self) -> Vec<String> {
        Vec::new()
    }

    /// Creates the engine that keeps the global stores up to date from `inputs` (every
    /// partition of [`global_source_topics`](Self::global_source_topics)); its state lives
    /// under `state_dir/global/`. `None` without global stores (the default).
    ///
    /// # Errors
    /// As [`create_task`](Self::create_task).
    fn create_global_engine(&self, _inputs: Vec<TopicPartition>, _state_dir: &Path, _config: &StreamsConfig) -> Result<Option<Box<dyn TaskEngine>>> {
        Ok(None)
    }

    /// Names of the stores interactive queries may ask for (local and global). Default: none
    /// known, so an unknown store reads as "not (yet) here" rather than "not in the topology".
    fn store_names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// One task's processor graph, stores and punctuators.
pub trait TaskEngine: Send {
    /// The task id.
    fn id(&self) -> AnyTaskId;

    /// Changelog partitions of this task's stores with the offset restore must start from
    /// (from the checkpoint, or the store's transactional offset; 0 when unknown).
    fn changelog_start_offsets(&self) -> BTreeMap<TopicPartition, i64>;

    /// Replays changelog records into the store behind `changelog`.
    ///
    /// # Errors
    /// Store errors.
    fn restore(&mut self, changelog: &TopicPartition, records: &[ConsumerRecord]) -> Result<()>;

    /// Called once restore is complete: processors are initialised.
    ///
    /// # Errors
    /// Errors from processors' `init`.
    fn initialize(&mut self) -> Result<()>;

    /// Buffers fetched records of one input partition.
    fn add_records(&mut self, partition: &TopicPartition, records: Vec<ConsumerRecord>);

    /// [`add_records`](Self::add_records) from an iterator: the runtime hands each partition's
    /// run of a poll over without collecting it into a vector of its own. Default: collects
    /// and calls `add_records`.
    fn add_record_run(&mut self, partition: &TopicPartition, records: &mut dyn Iterator<Item = ConsumerRecord>) {
        self.add_records(partition, records.collect());
    }

    /// Records buffered for a partition (the runtime pauses partitions past
    /// `buffered.records.per.partition`).
    fn buffered(&self, partition: &TopicPartition) -> usize;

    /// Processes the next record in timestamp order across input partitions; `false` when no
    /// record may be processed now (empty, or waiting up to `max.task.idle.ms` for an empty
    /// partition).
    ///
    /// # Errors
    /// A processing error the processing exception handler chose to fail on.
    fn process(&mut self, wall_clock_ms: i64, out: &mut dyn RecordCollector) -> Result<bool>;

    /// Fires due wall-clock punctuators (stream-time ones fire from `process`).
    ///
    /// # Errors
    /// Punctuator errors.
    fn punctuate(&mut self, wall_clock_ms: i64, out: &mut dyn RecordCollector) -> Result<bool>;

    /// Flushes caches and stores (sending changelog records through `out`) and returns the
    /// input offsets to commit (the next offset per input partition processed since the last
    /// commit).
    ///
    /// # Errors
    /// Store errors.
    fn prepare_commit(&mut self, out: &mut dyn RecordCollector) -> Result<BTreeMap<TopicPartition, i64>>;

    /// After the commit succeeded: records the changelog end offsets (checkpoint file under
    /// at-least-once, in the stores' write batch under exactly-once).
    ///
    /// # Errors
    /// Store or I/O errors.
    fn post_commit(&mut self, changelog_offsets: &BTreeMap<TopicPartition, i64>) -> Result<()>;

    /// Whether a processor asked for a commit (`ProcessorContext::commit`).
    fn commit_requested(&mut self) -> bool;

    /// Closes the task; `clean` writes a checkpoint, otherwise (under exactly-once after an
    /// error) local state is treated as dirty.
    ///
    /// # Errors
    /// Store errors.
    fn close(&mut self, clean: bool) -> Result<()>;

    /// Lets the runtime reach the concrete engine (interactive queries, tests).
    fn as_any(&self) -> &dyn std::any::Any;
}
