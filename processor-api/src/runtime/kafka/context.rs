//! Where librdkafka's client-level events end up: its error callback also delivers
//! end-of-partition events (`Global error: PartitionEOF`) and other non-errors, which rdkafka's
//! default context logs at `ERROR`. Only real errors are logged as errors here.

use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientContext;

/// How loud a client-level librdkafka event is: `None` for events that are not errors at all.
pub(super) fn level_of(error: &KafkaError) -> Option<tracing::Level> {
    if matches!(error, KafkaError::PartitionEOF(_)) {
        return None;
    }
    match error.rdkafka_error_code() {
        // Reaching the end of a partition (the restore consumer asks for it) is not a failure.
        Some(RDKafkaErrorCode::PartitionEOF) | Some(RDKafkaErrorCode::NoError) => None,
        // librdkafka reconnects by itself: transient broker disconnects are warnings.
        Some(RDKafkaErrorCode::BrokerTransportFailure)
        | Some(RDKafkaErrorCode::AllBrokersDown)
        | Some(RDKafkaErrorCode::Resolve) => Some(tracing::Level::WARN),
        _ => Some(tracing::Level::ERROR),
    }
}

/// Logs a client-level librdkafka error at the level [`level_of`] gives it.
pub(super) fn log_error(error: &KafkaError, reason: &str) {
    match level_of(error) {
        None => tracing::debug!(target: "librdkafka", %error, reason, "librdkafka event"),
        Some(tracing::Level::WARN) => tracing::warn!(target: "librdkafka", %error, reason, "librdkafka"),
        Some(_) => tracing::error!(target: "librdkafka", %error, reason, "librdkafka"),
    }
}

/// The context of the seam's clients without their own callbacks (admin, metadata and restore
/// consumers).
pub(super) struct SeamContext;

impl ClientContext for SeamContext {
    fn error(&self, error: KafkaError, reason: &str) {
        log_error(&error, reason);
    }
}

impl ConsumerContext for SeamContext {}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata};

    use super::*;

    /// Records the level of every event.
    #[derive(Default)]
    struct Levels(Arc<Mutex<Vec<Level>>>);

    impl tracing::Subscriber for Levels {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, e: &Event<'_>) {
            self.0.lock().unwrap().push(*e.metadata().level());
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    fn levels_of(error: KafkaError) -> Vec<Level> {
        let levels = Levels::default();
        let seen = levels.0.clone();
        tracing::subscriber::with_default(levels, || SeamContext.error(error, "reason"));
        let out = seen.lock().unwrap().clone();
        out
    }

    #[test]
    fn partition_eof_is_not_logged_as_an_error() {
        assert_eq!(levels_of(KafkaError::Global(RDKafkaErrorCode::PartitionEOF)), [Level::DEBUG]);
        assert_eq!(levels_of(KafkaError::PartitionEOF(0)), [Level::DEBUG]);
        assert_eq!(levels_of(KafkaError::Global(RDKafkaErrorCode::AllBrokersDown)), [Level::WARN]);
        assert_eq!(levels_of(KafkaError::Global(RDKafkaErrorCode::SaslAuthenticationFailed)), [Level::ERROR]);
    }
}
