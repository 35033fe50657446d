//! Streams DSL (`StreamsBuilder`, `KStream`, `KTable`, ...) lowered to processor-api topologies. Not built yet (issue 6).
