//! ksqlDB's test tooling for Brook: the `ksql-test-runner` file formats, ksqlDB's
//! query-validation-test (QTT) files, and an executor that runs a case against the engine's
//! test mode and compares records the way ksqlDB's `TestExecutor` does.
//!
//! - [`json`]: test files are read with numbers kept as written (decimals compare by scale);
//! - [`model`]: records (`topic`, `key`, `value`, `timestamp`, `window`, `headers`), input and
//!   output files, QTT cases;
//! - [`compare`]: expected JSON against actual [`Value`](crate::Value)s, ksqlDB's rules;
//! - [`executor`]: statements, then inputs, then outputs topic by topic, through the
//!   [`TestDriver`] seam, with ksqlDB's failure messages;
//! - [`records`]: test-file records to record bytes and back, with the topic's formats;
//! - [`statements`]: a statements file split into statements;
//! - [`EngineDriver`] / [`run_on_engine`]: the engine's test mode as the system under test.
//!
//! `brook test-runner` (crate `cli`) and the QTT conformance test (`tests/it/qtt.rs`) both
//! build on this module.
//!
//! ```
//! use brook_sql_engine::testing::{model, Json};
//! let outputs = model::records_file(r#"{"outputs":[{"topic":"OUT","key":1,"value":{"PRICE":1.50}}]}"#, "outputs").unwrap();
//! assert_eq!(outputs[0].value, Json::parse(r#"{"PRICE":1.50}"#).unwrap());
//! ```

pub mod compare;
mod engine;
pub mod executor;
pub mod json;
pub mod model;
mod post;
pub mod records;
pub mod statements;

pub use engine::{case_properties, run_on_engine, EngineDriver};
pub use executor::{
    run_test, ActualRecord, DriverError, Failure, Outcome, TestDriver, BASE_PROPERTIES,
};
pub use json::Json;
pub use model::{Header, TestCase, TestRecord, WindowData, WindowType};
pub use post::SourceSummary;
