//! What a stream thread works with, shared by every thread of one `KafkaStreams` instance: the
//! config, the task factory, the topics, the clients; and the settings of the clients a thread
//! creates.

use std::path::PathBuf;
use std::sync::Arc;

use super::client::{ClientSupplier, ConsumerSettings, ProducerSettings, StreamsAdmin};
use super::restore_listener::StateRestoreListener;
use super::topics::TopologyTopics;
use crate::config::StreamsConfig;
use crate::engine::TaskFactory;

/// What every thread of one `KafkaStreams` instance shares.
pub(crate) struct ThreadContext {
    pub(crate) config: Arc<StreamsConfig>,
    pub(crate) factory: Arc<dyn TaskFactory>,
    pub(crate) topics: Arc<TopologyTopics>,
    pub(crate) supplier: Arc<dyn ClientSupplier>,
    pub(crate) admin: Arc<dyn StreamsAdmin>,
    pub(crate) process_id: String,
    pub(crate) app_dir: PathBuf,
    /// Told about active tasks' restores.
    pub(crate) restore_listener: Option<Arc<dyn StateRestoreListener>>,
    /// Called after a thread changes state.
    pub(crate) on_state_change: Arc<dyn Fn() + Send + Sync>,
}

pub(crate) fn producer_settings(
    config: &StreamsConfig,
    thread: &str,
    transactional_id: Option<String>,
) -> ProducerSettings {
    let mut overrides = config.client_overrides_with("producer.");
    if transactional_id.is_some() {
        // Kafka Streams' default for its exactly-once producers is 10 s (the client's is 60 s):
        // a crashed instance's open transaction blocks readers of its partitions for this long
        // when no restarted instance fences it. Kept above twice the commit interval, so a
        // transaction is never aborted for living as long as it is meant to.
        let ms = 10_000u128.max(2 * config.commit_interval.as_millis());
        overrides.entry("transaction.timeout.ms".to_owned()).or_insert_with(|| ms.to_string());
    }
    ProducerSettings {
        client_id: format!("{thread}-producer"),
        transactional_id,
        overrides,
        runtime: config.runtime.clone(),
    }
}

/// Consumer settings of a thread's group consumer (`group`) or restore consumer. A
/// `group.instance.id` in the config makes each thread a static member `<id>-<thread index>`,
/// as Kafka Streams does, so a restarted instance takes its tasks back without waiting for the
/// session timeout.
pub(crate) fn consumer_settings(
    config: &StreamsConfig,
    client_id: String,
    group: bool,
    thread_index: usize,
) -> ConsumerSettings {
    let mut overrides = if group { config.client_overrides_with("consumer.") } else { config.client_overrides_with("restore.consumer.") };
    if group {
        // Unprefixed, as in Kafka Streams, it applies to the main consumer.
        if let Some(reset) = config.client_overrides.get("auto.offset.reset") {
            overrides.entry("auto.offset.reset".into()).or_insert_with(|| reset.clone());
        }
        if let Some(id) = config.client_overrides.get("group.instance.id").or_else(|| overrides.get("group.instance.id")).cloned()
        {
            overrides.insert("group.instance.id".into(), format!("{id}-{thread_index}"));
        }
    } else {
        overrides.remove("group.instance.id");
    }
    ConsumerSettings {
        group_id: group.then(|| config.application_id.clone()),
        client_id,
        read_committed: config.exactly_once(),
        session_timeout: config.session_timeout,
        heartbeat_interval: config.heartbeat_interval,
        // Hand every fetched record to the tasks at once: a paused partition's records left in
        // the consumer would be dropped and fetched again. `buffered.records.per.partition`
        // bounds the task buffers (softly, by one fetch).
        max_poll_records: 100_000,
        overrides,
        runtime: config.runtime.clone(),
    }
}
