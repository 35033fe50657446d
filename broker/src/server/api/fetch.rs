//! Fetch (1): long polling on the broker's data-change signal, read_committed with the aborted
//! transactions list, response and partition byte limits. Fetch sessions are refused the way
//! Kafka does when it has no session slots: session id 0 and full responses every time.

use std::time::Duration;

use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId, RequestHeader};
use tokio::time::Instant;

use super::{code, Ctx};
use crate::error::ErrorCode;
use crate::partition::IsolationLevel;
use crate::server::conn::ConnState;

/// Longest long poll honoured, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(30);

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: FetchRequest) -> FetchResponse {
    if req.session_id != 0 {
        let mut r = FetchResponse::default();
        r.error_code = ErrorCode::FetchSessionIdNotFound.as_i16();
        return r;
    }
    let wait = Duration::from_millis(req.max_wait_ms.max(0) as u64).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    let mut changes = ctx.broker.data_changes();
    changes.borrow_and_update();
    loop {
        let (resp, bytes, stop) = ctx.disk_io(|| read(ctx, &req));
        if stop || bytes >= req.min_bytes.max(1) as usize || Instant::now() >= deadline {
            return resp;
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return resp },
            _ = tokio::time::sleep_until(deadline) => return ctx.disk_io(|| read(ctx, &req)).0,
        }
    }
}

/// One pass over the requested partitions (file I/O: called through [`Ctx::disk_io`]):
/// (response, record bytes, whether an error means the
/// fetch must return at once).
fn read(ctx: &Ctx, req: &FetchRequest) -> (FetchResponse, usize, bool) {
    let isolation = if req.isolation_level == 1 {
        IsolationLevel::ReadCommitted
    } else {
        IsolationLevel::ReadUncommitted
    };
    let mut budget = if req.max_bytes <= 0 { usize::MAX } else { req.max_bytes as usize };
    let mut total = 0usize;
    let mut stop = false;
    let mut resp = FetchResponse::default();
    for t in &req.topics {
        let topic = t.topic.0.as_str();
        let mut tr = FetchableTopicResponse::default();
        tr.topic = t.topic.clone();
        tr.topic_id = t.topic_id;
        for p in &t.partitions {
            let mut pd = PartitionData::default();
            pd.partition_index = p.partition;
            pd.high_watermark = -1;
            pd.last_stable_offset = -1;
            pd.log_start_offset = -1;
            let max = (p.partition_max_bytes.max(0) as usize).min(budget);
            let res = if max == 0 {
                ctx.broker.fetch(topic, p.partition, p.fetch_offset, 0, isolation).map(|mut d| {
                    d.records = Default::default();
                    d
                })
            } else {
                ctx.broker.fetch(topic, p.partition, p.fetch_offset, max, isolation)
            };
            match res {
                Ok(d) => {
                    pd.high_watermark = d.high_watermark;
                    pd.last_stable_offset = d.last_stable_offset;
                    pd.log_start_offset = d.log_start_offset;
                    if isolation == IsolationLevel::ReadCommitted {
                        pd.aborted_transactions = Some(
                            d.aborted
                                .iter()
                                .map(|a| {
                                    let mut at = AbortedTransaction::default();
                                    at.producer_id = ProducerId(a.producer_id);
                                    at.first_offset = a.first_offset;
                                    at
                                })
                                .collect(),
                        );
                    }
                    let n = d.records.len();
                    total += n;
                    budget = budget.saturating_sub(n);
                    pd.records = Some(d.records);
                }
                Err(e) => {
                    stop = true;
                    pd.error_code = code(&e);
                    pd.records = Some(Default::default());
                }
            }
            tr.partitions.push(pd);
        }
        resp.responses.push(tr);
    }
    (resp, total, stop)
}
