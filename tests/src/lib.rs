//! Brook's cross-crate integration tests live in `it/` (one test binary, `cargo test -p
//! brook-tests`): kcat, librdkafka (the `rdkafka` crate), confluent-kafka for Python and the
//! `brook` admin CLI, all against an in-process `brook server` on 127.0.0.1:0.
