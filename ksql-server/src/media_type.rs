//! The media types the REST API reads and writes (re-exported by [`crate::api`]): a leaf, so
//! the endpoints and the error bodies ([`crate::Error`]'s response) name them from one place.

/// `application/vnd.ksql.v1+json`: `/ksql`, `/query` and errors.
pub const KSQL_V1_JSON: &str = "application/vnd.ksql.v1+json";
/// `application/vnd.ksqlapi.delimited.v1`: `/query-stream` and `/inserts-stream` by default.
pub const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";
/// `application/json`.
pub const JSON: &str = "application/json";
