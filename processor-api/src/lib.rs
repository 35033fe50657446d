//! Processor API, topologies and the runtime (KafkaStreams, stream threads, tasks).

pub mod config;
pub mod engine;
mod error;

pub use config::{HandlerResponse, ProcessingGuarantee, StreamsConfig, UncaughtExceptionResponse};
pub use engine::{InputRecord, OutputRecord, RecordCollector, SubtopologyInfo, TaskEngine, TaskFactory, TaskId};
pub use error::{Error, Result};
