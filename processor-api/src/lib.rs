//! Processor API, topologies and the runtime (KafkaStreams, stream threads, tasks).

pub mod config;
pub mod engine;
mod error;
pub mod runtime;

// processor api
mod context;
mod processor;
mod punctuation;
mod record;
mod store_ref;
mod task_id;
pub mod task;
pub mod test_driver;
pub mod topology;

pub use config::{ConfigKey, HandlerResponse, ProcessingGuarantee, StreamsConfig, UncaughtExceptionResponse};
pub use engine::{AnyTaskId, ConsumerRecord, OutputRecord, RecordCollector, SubtopologyInfo, TaskEngine, TaskFactory, TaskId};
pub use error::{Error, Result, TopologyError};

// processor api
pub use context::ProcessorContext;
pub use processor::{OffsetReset, Processor, ProcessorSupplier, RecordTimestampExtractor, TimestampExtractor};
pub use punctuation::{Cancellable, PunctuationType};
pub use record::{Record, RecordMetadata};
pub use store_ref::{GlobalStores, StoreRef};
pub use task::{StreamTask, TaskResources, TopologyTaskFactory};
pub use test_driver::{TestInputTopic, TestOutputTopic, TestRecord, TopologyTestDriver};

pub use topology::{
    Partitioner, SinkOptions, SourceOptions, StoreFactory, TopicNameExtractor, Topology, TopologyDescription,
};

// runtime
pub use runtime::{Embedded, KafkaStreams, State, StoreQueryParameters};

/// The Processor API guide, `docs/processor-api.md`: its examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/processor-api.md")]
mod guide {}
