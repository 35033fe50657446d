//! Internal topic names, as Kafka Streams makes them: `<application.id>-<store>-changelog`,
//! `<application.id>-<name>-repartition`; the broker's own start with `__`.
//!
//! # Examples
//! ```
//! use brook_common::topics::{changelog_topic, internal_topic, is_internal, store_of_changelog};
//! assert_eq!(changelog_topic("app", "counts"), "app-counts-changelog");
//! assert_eq!(internal_topic("app", "KSTREAM-AGGREGATE-0000000003-repartition"), "app-KSTREAM-AGGREGATE-0000000003-repartition");
//! assert!(is_internal("app", "app-counts-changelog"));
//! assert!(is_internal("app", "__consumer_offsets"));
//! assert!(!is_internal("app", "counts-changelog"));
//! assert_eq!(store_of_changelog("app", "app-counts-changelog"), Some("counts"));
//! ```

/// The changelog topic of `store`: `<application.id>-<store>-changelog`.
#[must_use]
pub fn changelog_topic(application_id: &str, store: &str) -> String {
    format!("{application_id}-{store}-changelog")
}

/// The name on the cluster of an application's internal topic `name` (a repartition topic's
/// `<name>-repartition`, a changelog's `<store>-changelog`): `<application.id>-<name>`.
#[must_use]
pub fn internal_topic(application_id: &str, name: &str) -> String {
    format!("{application_id}-{name}")
}

/// Whether `topic` is internal: the broker's (`__consumer_offsets`, `__transaction_state`) or
/// one of the application's changelog and repartition topics.
#[must_use]
pub fn is_internal(application_id: &str, topic: &str) -> bool {
    topic.starts_with("__")
        || topic
            .strip_prefix(application_id)
            .and_then(|t| t.strip_prefix('-'))
            .is_some_and(|t| t.ends_with("-changelog") || t.ends_with("-repartition"))
}

/// The store whose changelog `topic` is, when it is one of the application's.
#[must_use]
pub fn store_of_changelog<'a>(application_id: &str, topic: &'a str) -> Option<&'a str> {
    topic.strip_prefix(application_id)?.strip_prefix('-')?.strip_suffix("-changelog")
}
