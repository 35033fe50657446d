//! ksqlDB-dialect SQL engine: parser, catalog, planner lowered to the Streams DSL. Not built yet.
