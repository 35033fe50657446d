//! Whether a partition's appends are failing on storage errors (a full disk, a read-only or
//! vanished file system), so that the failure is loud once instead of silent every time.
//!
//! A failed append answers its producer KAFKA_STORAGE_ERROR (retriable: clients retry until
//! `delivery.timeout.ms`) and nothing of it stays in the log. The first failure of a partition,
//! and each change of its cause (the `io::ErrorKind`), is logged at ERROR; repeats are counted,
//! not logged. The first append that succeeds again logs the recovery at INFO with the count.
//! Meanwhile `describe` reports the fault and Metadata lists this node as an offline replica of
//! the partition.
//!
//! Kafka takes the whole log directory offline on an I/O error and needs a restart; Brook keeps
//! the partition writable so appends succeed again as soon as space returns.

use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// The current storage fault of a partition, as `describe` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageFault {
    /// The error of the first failed append with this cause.
    pub error: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub since_ms: i64,
    /// Appends failed since.
    pub failed_appends: u64,
}

#[derive(Debug, Default)]
pub(crate) struct StorageHealth {
    /// Whether `fault` is set: healthy appends check this, not the mutex.
    failing: AtomicBool,
    fault: Mutex<Option<(ErrorKind, StorageFault)>>,
}

impl StorageHealth {
    /// The fault, while appends are failing.
    pub(crate) fn fault(&self) -> Option<StorageFault> {
        self.fault.lock().as_ref().map(|(_, f)| f.clone())
    }

    /// Notes the outcome of one append to `topic`-`partition`.
    pub(crate) fn observe<T>(&self, topic: &str, partition: i32, result: &Result<T>, now_ms: i64) {
        match result {
            Err(Error::Storage { source, .. }) => {
                let e = result.as_ref().err().map(ToString::to_string).unwrap_or_default();
                let mut fault = self.fault.lock();
                match &mut *fault {
                    Some((kind, f)) if *kind == source.kind() => f.failed_appends += 1,
                    _ => {
                        tracing::error!(
                            topic, partition, error = %e,
                            "appends to this partition fail on a storage error; producers get KAFKA_STORAGE_ERROR and retry (logged once per cause, the broker recovers when the disk does)"
                        );
                        *fault = Some((source.kind(), StorageFault { error: e, since_ms: now_ms, failed_appends: 1 }));
                        self.failing.store(true, Ordering::Release);
                    }
                }
            }
            Ok(_) if self.failing.swap(false, Ordering::AcqRel) => {
                if let Some((_, f)) = self.fault.lock().take() {
                    tracing::info!(
                        topic, partition, failed_appends = f.failed_appends, since_ms = f.since_ms,
                        "appends to this partition succeed again after storage errors"
                    );
                }
            }
            Ok(_) | Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::ErrorKind;
    use std::sync::Arc;

    use parking_lot::Mutex;
    use tracing::{span, Event, Level, Metadata, Subscriber};

    use crate::record::{BatchBuilder, Compression};
    use crate::{Broker, BrokerConfig, ErrorCode};

    /// Collects this module's log events as `(level, fields)`.
    #[derive(Debug, Clone, Default)]
    struct Lines(Arc<Mutex<Vec<(Level, String)>>>);

    impl Subscriber for Lines {
        fn enabled(&self, m: &Metadata<'_>) -> bool {
            m.target().starts_with(module_path!().trim_end_matches("::tests"))
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, e: &Event<'_>) {
            struct Fields(String);
            impl tracing::field::Visit for Fields {
                fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                    self.0.push_str(&format!("{}={v:?} ", f.name()));
                }
            }
            let mut f = Fields(String::new());
            e.record(&mut f);
            self.0.lock().push((*e.metadata().level(), f.0));
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }

    fn batch() -> Vec<u8> {
        let mut b = BatchBuilder::new(Compression::None);
        b.push(1, Some(b"k"), Some(b"v"), &[]);
        b.build().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_disk_is_logged_once_per_cause_described_and_recovered_from() {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
        broker.create_topic("t", 2, BTreeMap::new()).unwrap();
        let p0 = broker.inner.partition("t", 0).unwrap();
        let lines = Lines::default();
        tracing::subscriber::with_default(lines.clone(), || {
            p0.inject_storage_fault(Some(ErrorKind::StorageFull));
            for _ in 0..50 {
                let err = broker.produce("t", 0, &mut batch()).unwrap_err();
                assert_eq!(err.code(), ErrorCode::KafkaStorageError);
            }
            broker.produce("t", 1, &mut batch()).unwrap();
            let d = broker.describe_topic("t").unwrap();
            let fault = d.partitions[0].storage_fault.clone().expect("partition 0 reports the fault");
            assert_eq!(fault.failed_appends, 50);
            assert!(fault.error.contains("no storage space"), "{}", fault.error);
            assert_eq!(d.partitions[1].storage_fault, None);
            // Another cause is logged again.
            p0.inject_storage_fault(Some(ErrorKind::ReadOnlyFilesystem));
            assert!(broker.produce("t", 0, &mut batch()).is_err());
            // Space returns: the next append succeeds, the recovery is logged, the fault cleared.
            p0.inject_storage_fault(None);
            assert_eq!(broker.produce("t", 0, &mut batch()).unwrap().base_offset, 0);
            broker.produce("t", 0, &mut batch()).unwrap();
            assert_eq!(broker.describe_topic("t").unwrap().partitions[0].storage_fault, None);
        });
        let lines = lines.0.lock().clone();
        let levels: Vec<Level> = lines.iter().map(|(l, _)| *l).collect();
        assert_eq!(levels, [Level::ERROR, Level::ERROR, Level::INFO], "{lines:?}");
        assert!(lines[0].1.contains("topic=\"t\" partition=0"), "{lines:?}");
        assert!(lines[2].1.contains("failed_appends=1"), "{lines:?}");
        broker.shutdown().await;
    }
}
