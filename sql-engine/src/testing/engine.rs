//! The [`TestDriver`] over Brook's own engine in test mode, and [`run_on_engine`], which
//! `brook test-runner` and the QTT conformance test both call.
//!
//! Until the engine's test mode (`Engine::new_test`, `pipe_input`, `read_output`,
//! `topic_schema`) lands, every case reports [`Outcome::Unsupported`]: the file handling and
//! the comparison are exercised by the in-crate tests over a scripted driver.

use super::executor::{run_test, DriverError, Outcome, TestDriver, BASE_PROPERTIES};
use super::model::{TestCase, TestRecord};
use super::ActualRecord;

/// Brook's engine, in test mode, as the system under test.
#[derive(Debug)]
pub struct EngineDriver {
    _private: (),
}

impl EngineDriver {
    /// An engine in test mode configured with `properties` (ksqlDB/Streams keys).
    ///
    /// # Errors
    /// [`DriverError::Unsupported`] while the engine has no test mode.
    pub fn new(properties: &[(String, String)]) -> Result<EngineDriver, DriverError> {
        let _ = properties;
        Err(DriverError::Unsupported(
            "the SQL engine has no test mode yet".into(),
        ))
    }
}

impl TestDriver for EngineDriver {
    fn execute(&mut self, _statement: &str) -> Result<(), DriverError> {
        Err(DriverError::Unsupported(
            "the SQL engine has no test mode yet".into(),
        ))
    }

    fn pipe_input(&mut self, _record: &TestRecord) -> Result<(), DriverError> {
        Err(DriverError::Unsupported(
            "the SQL engine has no test mode yet".into(),
        ))
    }

    fn read_output(&mut self, _topic: &str) -> Result<Vec<ActualRecord>, DriverError> {
        Err(DriverError::Unsupported(
            "the SQL engine has no test mode yet".into(),
        ))
    }
}

/// The properties a case runs with: [`BASE_PROPERTIES`], then the case's own.
pub fn case_properties(case: &TestCase) -> Vec<(String, String)> {
    let mut props: Vec<(String, String)> = BASE_PROPERTIES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    props.extend(case.properties.iter().cloned());
    props
}

/// Runs `case` on a fresh engine in test mode.
pub fn run_on_engine(case: &TestCase) -> Outcome {
    match EngineDriver::new(&case_properties(case)) {
        Ok(mut driver) => run_test(case, &mut driver),
        Err(DriverError::Unsupported(m)) => Outcome::Unsupported(m),
        Err(DriverError::Rejected(m)) => {
            Outcome::Unsupported(format!("the engine cannot start: {m}"))
        }
    }
}
