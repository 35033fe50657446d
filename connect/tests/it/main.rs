//! brook-connect integration tests: converters (golden envelopes), plugins, FileStream
//! connectors through the standalone worker over a real embedded broker and real files.

mod converters;
mod distributed;
mod herder;
mod standalone;
mod transforms;
