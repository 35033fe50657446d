//! Processor API, topologies and the runtime (KafkaStreams, stream threads, tasks). Not built yet (issue 5).
