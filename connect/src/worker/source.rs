//! The source task loop: poll the task, convert, send through the seam's producer, and once
//! every record of a batch is acknowledged record its source offsets; write the offsets every
//! `offset.flush.interval.ms` and on stop (at-least-once: after a crash the records produced
//! since the last offset flush are produced again).

use std::sync::Arc;
use std::time::Instant;

use brook_processor_api::OutputRecord;
use serde_json::Value as Json;

use super::{header_to_kafka, Converters, TaskCtx, IDLE_POLL};
use crate::connector::{ConnectRecord, SourceTask};
use crate::error::Result;

/// Where a source task's offsets go: the standalone worker's file, the distributed worker's
/// offset topic.
pub(crate) trait SourceOffsetWriter: Send {
    /// Records the offset of `partition` (kept until [`flush`](Self::flush)).
    fn set(&mut self, partition: &Json, offset: Json);
    /// Makes the offsets recorded so far durable.
    ///
    /// # Errors
    /// I/O or client errors.
    fn flush(&mut self) -> Result<()>;
}

pub(crate) fn run_source(ctx: TaskCtx, mut task: Box<dyn SourceTask>, mut offsets: Box<dyn SourceOffsetWriter>) -> Result<()> {
    let result = (|| {
        let mut producer = ctx.clients.producer(format!("connector-producer-{}-{}", ctx.name, ctx.id))?;
        let mut last_flush = Instant::now();
        let mut topics: Vec<Arc<str>> = Vec::new();
        loop {
            let records = task.poll()?;
            if !records.is_empty() {
                for r in &records {
                    producer.send(to_output(&ctx.conv, &r.record, &mut topics)?)?;
                }
                producer.flush()?;
                for r in &records {
                    offsets.set(&r.source_partition, r.source_offset.clone());
                }
            }
            let stopping = if records.is_empty() { ctx.stop.idle(IDLE_POLL) } else { ctx.stop.is_stopped() };
            if stopping || last_flush.elapsed() >= ctx.flush_every {
                offsets.flush()?;
                task.commit()?;
                last_flush = Instant::now();
            }
            if stopping {
                return Ok(());
            }
        }
    })();
    task.stop();
    match &result {
        Ok(()) => tracing::info!(connector = %ctx.name, task = ctx.id, "source task stopped"),
        Err(e) => tracing::error!(connector = %ctx.name, task = ctx.id, error = %e, "source task failed"),
    }
    result
}

fn to_output(conv: &Converters, r: &ConnectRecord, topics: &mut Vec<Arc<str>>) -> Result<OutputRecord> {
    let key = conv.key.from_connect_data(&r.topic, &r.key)?;
    let value = conv.value.from_connect_data(&r.topic, &r.value)?;
    let topic = match topics.iter().find(|t| ***t == *r.topic) {
        Some(t) => t.clone(),
        None => {
            let t: Arc<str> = Arc::from(r.topic.as_str());
            topics.push(t.clone());
            t
        }
    };
    Ok(OutputRecord {
        topic,
        partition: r.partition,
        key: key.map(Into::into),
        value: value.map(Into::into),
        timestamp: r.timestamp.unwrap_or_else(now_ms),
        headers: r.headers.iter().map(header_to_kafka).collect(),
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
