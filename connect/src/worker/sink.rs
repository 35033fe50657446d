//! The sink task loop: a group consumer (`connect-<name>`, one member per task, so the group
//! spreads the partitions over the tasks) through the seam, records converted and put to the
//! task; every `offset.flush.interval.ms`, on a rebalance's revocation and on stop the task
//! flushes and the consumer commits what was flushed. After a crash the group resumes from the
//! last commit: records put since then are delivered again (at-least-once).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use brook_processor_api::runtime::{GroupMetadata, OffsetCommitFn, RebalanceHandler};
use parking_lot::Mutex;

use super::{header_from_kafka, TaskCtx, IDLE_POLL};
use crate::connector::{ConnectRecord, SinkRecord, SinkTask};
use crate::error::Result;

type Offsets = BTreeMap<(String, i32), i64>;

/// The task and its offsets, shared with the rebalance handler (which runs inside `poll`, on
/// the task's thread).
struct Shared {
    task: Box<dyn SinkTask>,
    /// Next offset to commit per partition.
    next: Offsets,
    committed: Offsets,
}

impl Shared {
    /// Flushes the task and commits what changed.
    fn flush_and_commit(&mut self, commit: &mut dyn FnMut(&Offsets) -> Result<()>) -> Result<()> {
        if self.next == self.committed {
            return Ok(());
        }
        self.task.flush(&self.next)?;
        commit(&self.next)?;
        self.committed = self.next.clone();
        Ok(())
    }
}

struct Revocations {
    shared: Arc<Mutex<Shared>>,
    name: String,
}

impl RebalanceHandler for Revocations {
    fn on_revoked(&mut self, partitions: &[(String, i32)], _group: &GroupMetadata, commit: &mut OffsetCommitFn<'_>) {
        let mut s = self.shared.lock();
        let r = s.flush_and_commit(&mut |o| Ok(commit(o)?));
        if let Err(e) = r {
            tracing::warn!(connector = %self.name, error = %e, "committing sink offsets on revocation failed; the records since the last commit will be delivered again");
        }
        for tp in partitions {
            s.next.remove(tp);
            s.committed.remove(tp);
        }
    }

    fn on_assigned(&mut self, partitions: &[(String, i32)]) {
        tracing::debug!(connector = %self.name, ?partitions, "sink partitions assigned");
    }
}

pub(crate) fn run_sink(ctx: TaskCtx, task: Box<dyn SinkTask>, topics: Vec<String>) -> Result<()> {
    let shared = Arc::new(Mutex::new(Shared { task, next: Offsets::new(), committed: Offsets::new() }));
    let result = (|| {
        let mut consumer = ctx.clients.consumer(format!("connect-{}", ctx.name), format!("connector-consumer-{}-{}", ctx.name, ctx.id))?;
        consumer.subscribe(&topics, Box::new(Revocations { shared: shared.clone(), name: ctx.name.clone() }))?;
        let mut last_flush = Instant::now();
        let r = (|| loop {
            let polled = consumer.poll(IDLE_POLL)?;
            if !polled.is_empty() {
                let mut s = shared.lock();
                let mut batch = Vec::with_capacity(polled.len());
                for r in polled {
                    let key = ctx.conv.key.to_connect_data(&r.topic, r.key.as_deref())?;
                    let value = ctx.conv.value.to_connect_data(&r.topic, r.value.as_deref())?;
                    s.next.insert((r.topic.to_string(), r.partition), r.offset + 1);
                    batch.push(SinkRecord {
                        kafka_offset: r.offset,
                        record: ConnectRecord {
                            topic: r.topic.to_string(),
                            partition: Some(r.partition),
                            key,
                            value,
                            timestamp: Some(r.timestamp),
                            headers: r.headers.iter().map(header_from_kafka).collect(),
                        },
                    });
                }
                s.task.put(batch)?;
            }
            let stopping = ctx.stop.is_stopped();
            if stopping || last_flush.elapsed() >= ctx.flush_every {
                shared.lock().flush_and_commit(&mut |o| Ok(consumer.commit(o)?))?;
                last_flush = Instant::now();
            }
            if stopping {
                return Ok(());
            }
        })();
        consumer.close();
        r
    })();
    shared.lock().task.stop();
    match &result {
        Ok(()) => tracing::info!(connector = %ctx.name, task = ctx.id, "sink task stopped"),
        Err(e) => tracing::error!(connector = %ctx.name, task = ctx.id, error = %e, "sink task failed"),
    }
    result
}
