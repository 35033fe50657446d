//! Deserialization and processing exception handlers.

use std::sync::Arc;

use brook_processor_api::{Error, HandlerResponse, SinkOptions, SourceOptions, Topology, TopologyTestDriver};
use brook_state_store::I64Serde;
use bytes::Bytes;

use crate::common::{config, strings, FailOnBoom};

fn deser_topology() -> Topology {
    let mut t = Topology::new();
    t.add_source("in", SourceOptions::topics(["in"]).with_serdes(strings(), Arc::new(I64Serde)))
        .unwrap()
        .add_sink("out", SinkOptions::topic("out", strings(), Arc::new(I64Serde)), &["in"])
        .unwrap();
    t
}

#[test]
fn deserialization_errors_skip_or_fail() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.set("default.deserialization.exception.handler", "LogAndContinueExceptionHandler").unwrap();
    let driver = TopologyTestDriver::new(deser_topology(), c, 0).unwrap();
    driver.pipe_raw("in", Some(Bytes::from_static(b"k")), Some(Bytes::from_static(b"not 8 bytes")), 1, vec![]).unwrap();
    driver.pipe_raw("in", Some(Bytes::from_static(b"k")), Some(Bytes::copy_from_slice(&7i64.to_be_bytes())), 2, vec![]).unwrap();
    let out = driver.create_output_topic("out", strings(), Arc::new(I64Serde));
    assert_eq!(out.read_values_to_list().unwrap(), vec![Some(7)]);

    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path());
    assert_eq!(c.deserialization_exception_handler, HandlerResponse::Fail);
    let driver = TopologyTestDriver::new(deser_topology(), c, 0).unwrap();
    let e = driver.pipe_raw("in", None, Some(Bytes::from_static(b"bad")), 1, vec![]).unwrap_err();
    assert!(matches!(&e, Error::Deserialization { topic, offset: 0, .. } if topic == "in"), "{e}");
}

fn boom_topology() -> Topology {
    let mut t = Topology::new();
    t.add_source("in", SourceOptions::topics(["in"]).with_serdes(strings(), strings()))
        .unwrap()
        .add_processor("boom", || FailOnBoom, &["in"])
        .unwrap()
        .add_sink("out", SinkOptions::topic("out", strings(), strings()), &["boom"])
        .unwrap();
    t
}

#[test]
fn processing_errors_skip_or_fail() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.set("processing.exception.handler", "continue").unwrap();
    let driver = TopologyTestDriver::new(boom_topology(), c, 0).unwrap();
    let input = driver.create_input_topic("in", strings(), strings());
    input.pipe_input("a".to_owned(), "boom".to_owned()).unwrap();
    input.pipe_input("b".to_owned(), "fine".to_owned()).unwrap();
    let out = driver.create_output_topic("out", strings(), strings());
    assert_eq!(out.read_values_to_list().unwrap(), vec![Some("fine".to_owned())]);

    let dir = tempfile::tempdir().unwrap();
    let driver = TopologyTestDriver::new(boom_topology(), config(dir.path()), 0).unwrap();
    let input = driver.create_input_topic("in", strings(), strings());
    let e = input.pipe_input("a".to_owned(), "boom".to_owned()).unwrap_err();
    assert!(matches!(&e, Error::Processing { processor, .. } if processor == "boom"), "{e}");
}
