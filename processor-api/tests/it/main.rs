//! Integration tests of the Processor API: topologies, describe(), the task engine and the
//! test driver.

mod common;
mod describe;
mod driver;
mod handlers;
mod punctuation;
mod task_engine;
