//! Streams DSL for Brook: [`StreamsBuilder`], [`KStream`], [`KTable`], [`GlobalKTable`],
//! grouped, windowed and joined streams, lowered to processor-api [`Topology`]s with Kafka
//! Streams' generated node names (`KSTREAM-SOURCE-0000000000`, ...), so `describe()` of a DSL
//! program reads as it does in Kafka Streams.
//!
//! - Records travel as `Record<Option<K>, Option<V>>` between stream nodes and as
//!   `Record<K, Change<V>>` between table nodes (old and new value, Kafka's `Change`).
//! - Key-changing operations (`select_key`, `map`, `flat_map`, `group_by`, `process`) mark a
//!   stream; a later grouping or join inserts `<name>-repartition` (sink, null-key filter,
//!   source; three indices burned as in Kafka) and joins register co-partitioned sources.
//!   The runtime creates a repartition topic with the partition count of the sub-topology
//!   writing it, or with exactly `n` partitions for
//!   [`Repartitioned::with_number_of_partitions`] (the reading sub-topology then has `n` tasks).
//!   An existing repartition topic with another count is a startup error.
//! - Serdes: per operation, else the one the stream carries, else one registered with
//!   [`StreamsBuilder::with_default_serde`], else [`default_serde`] (String, i64, i32, f64,
//!   bytes); a missing one is a [`StreamsBuilder::build`] error.
//! - Records later than a window's grace are dropped and counted in
//!   [`DslMetrics::dropped_records`].
//!
//! Where this differs from Kafka Streams (see each module):
//! - user functions see keys as `Option<&K>`; null values skip value functions;
//! - foreign-key joins run in one task over co-partitioned tables (no subscription and
//!   response topics), with their own node names;
//! - sliding windows are recomputed from raw records kept in `<store>-raw`;
//! - session stores and co-grouped stores are not cached (every update is forwarded);
//! - left/outer stream-stream joins emit expired non-matches on every in-order record
//!   (Kafka throttles to once per second of wall-clock time).
//!
//! # Examples
//!
//! Word count, run through the [`brook_processor_api::TopologyTestDriver`]:
//!
//! ```
//! use std::sync::Arc;
//! use brook_processor_api::{StreamsConfig, TopologyTestDriver};
//! use brook_state_store::{I64Serde, StringSerde};
//! use brook_streams_dsl::{Consumed, Grouped, Materialized, Produced, StreamsBuilder};
//!
//! let builder = StreamsBuilder::new();
//! builder
//!     .stream::<String, String>(&["lines"], Consumed::default())
//!     .flat_map_values(|line| line.to_lowercase().split_whitespace().map(str::to_owned).collect::<Vec<_>>())
//!     .group_by(|_, word| word.clone(), Grouped::default())
//!     .count(Materialized::named("counts").with_caching_disabled())
//!     .to_stream()
//!     .to("word-counts", Produced::default());
//! let topology = builder.build().unwrap();
//!
//! let dir = tempfile::tempdir().unwrap();
//! let mut config = StreamsConfig::new("wc");
//! config.state_dir = dir.path().to_path_buf();
//! let driver = TopologyTestDriver::new(topology, config, 0).unwrap();
//! let (s, l) = (Arc::new(StringSerde), Arc::new(I64Serde));
//! let input = driver.create_input_topic("lines", s.clone(), s.clone());
//! let output = driver.create_output_topic("word-counts", s.clone(), l);
//! input.pipe_value("a b a".to_owned()).unwrap();
//! let counts = output.read_key_values_to_map().unwrap();
//! assert_eq!(counts["a"], 2);
//! assert_eq!(counts["b"], 1);
//! ```

// The DSL is plumbing of typed closures and their state; naming every such type would not
// make it easier to read.
#![allow(clippy::type_complexity)]

mod builder;
mod error;
pub(crate) mod internals;
pub mod join;
pub mod kstream;
pub mod ktable;
mod options;
pub mod window;

pub use brook_processor_api::Topology;
pub use brook_state_store::{Window, Windowed};

pub use builder::{GlobalKTable, StreamsBuilder};
pub use error::{Error, Result};
pub use internals::{default_serde, Change, DslMetrics};
pub use join::JoinWindows;
pub use kstream::{BranchedKStream, KGroupedStream, KStream};
pub use ktable::cogroup::{CogroupedKStream, TimeWindowedCogroupedKStream};
pub use ktable::{KGroupedTable, KTable};
pub use options::{
    Branched, Consumed, Grouped, Joined, Materialized, Named, Printed, Produced, Repartitioned, StoreType, StreamJoined,
};
pub use window::{
    BufferFull, EmitStrategy, SessionWindows, SlidingWindows, Suppressed, TimeWindowedKStream, TimeWindows,
};

/// What keys and values of DSL streams must be: cloneable, sendable, `'static`.
pub trait Data: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> Data for T {}

/// The Streams DSL guide, `docs/streams-dsl.md`: its examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/streams-dsl.md")]
mod guide {}
