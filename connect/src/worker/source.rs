//! The at-least-once source loop: a batch is produced, then its offsets are recorded in the
//! [`OffsetStore`], flushed every `offset.flush.interval.ms`, when the task pauses and when it
//! stops. The exactly-once loop is `crate::exactly_once`'s.

use std::sync::Arc;
use std::time::Instant;

use super::task::{output_record, source_record, Signal, TaskCtx, IDLE_POLL};
use crate::connector::SourceTask;
use crate::error::Result;
use crate::exactly_once::Transactional;
use crate::herder::State;
use crate::offsets::OffsetStore;

pub(super) fn run_source(mut ctx: TaskCtx, mut task: Box<dyn SourceTask>, offsets: Arc<dyn OffsetStore>) {
    let result = source_loop(&mut ctx, task.as_mut(), offsets.as_ref());
    task.stop();
    ctx.finish("source", &result);
}

pub(super) fn run_eos_source(mut ctx: TaskCtx, mut task: Box<dyn SourceTask>, mut txn: Transactional) {
    let result = crate::exactly_once::run(&mut ctx, task.as_mut(), &mut txn);
    task.stop();
    ctx.finish("source", &result);
}

fn source_loop(ctx: &mut TaskCtx, task: &mut dyn SourceTask, offsets: &dyn OffsetStore) -> Result<()> {
    let mut producer = ctx.clients.producer(format!("connector-producer-{}-{}", ctx.id.connector, ctx.id.task))?;
    let mut last_flush = Instant::now();
    let mut dirty = false;
    let mut topics: Vec<Arc<str>> = Vec::new();
    loop {
        let signal = ctx.signal();
        if signal == Signal::Pause {
            if dirty {
                offsets.flush()?;
                task.commit()?;
                dirty = false;
            }
            ctx.set_state(State::Paused);
            if ctx.idle(IDLE_POLL) == Signal::Shutdown {
                offsets.flush()?;
                task.commit()?;
                return Ok(());
            }
            continue;
        }
        ctx.set_state(State::Running);
        let records = if signal == Signal::Run { task.poll()? } else { Vec::new() };
        if !records.is_empty() {
            for r in &records {
                // Transformed, then converted; a record a transformation dropped or a
                // tolerated failure skipped is not produced, but its offset is stored.
                if let Some(pr) = source_record(ctx, &r.record)? {
                    producer.send(output_record(pr, &mut topics))?;
                }
            }
            // Every record acknowledged before its offset is recorded.
            producer.flush()?;
            for r in &records {
                offsets.set(&ctx.id.connector, &r.source_partition, Some(r.source_offset.clone()));
                ctx.record_topic(&r.record.topic);
            }
            dirty = true;
        }
        let signal = if records.is_empty() { ctx.idle(IDLE_POLL) } else { ctx.signal() };
        let stopping = signal == Signal::Shutdown;
        if stopping || (dirty && last_flush.elapsed() >= ctx.flush_every) {
            offsets.flush()?;
            task.commit()?;
            last_flush = Instant::now();
            dirty = false;
        }
        if stopping {
            return Ok(());
        }
    }
}
