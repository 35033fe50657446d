//! Sliding-window aggregations (Kafka's `SlidingWindows`): a window `[t - d, t]` ends at
//! every record and one `[t + 1, t + 1 + d]` starts after every record that has successors
//! within `d`. Windows are recomputed from the raw records, which are kept in a second window
//! store `<store>-raw` (Kafka derives new windows from existing aggregates instead); the cost
//! per record is proportional to the records within `2d` of it.

use std::collections::BTreeSet;

use brook_processor_api::{ProcessorContext, Record, Result as PResult};
use brook_state_store::{Window, Windowed};
use bytes::Bytes;

use crate::internals::{Change, DslMetrics, StoreSerdes};
use crate::internals::AggFn;
use crate::kstream::StreamRecord;

pub(crate) struct SlidingState<K, V, VA> {
    /// The aggregates' window store.
    pub(crate) aggs: StoreSerdes<K, VA>,
    /// The raw records' window store.
    pub(crate) raws: StoreSerdes<K, V>,
    pub(crate) difference: i64,
    pub(crate) grace: i64,
    pub(crate) f: AggFn<K, V, VA>,
    pub(crate) metrics: DslMetrics,
    pub(crate) observed: i64,
}

pub(crate) fn sliding_step<K: crate::Data, V: crate::Data, VA: crate::Data>(
    s: &mut SlidingState<K, V, VA>,
    ctx: &mut ProcessorContext<'_, Windowed<K>, Change<VA>>,
    r: StreamRecord<K, V>,
) -> PResult<()> {
    let (k, v, t, _) = r.into_parts();
    let (Some(k), Some(v)) = (k, v) else {
        s.metrics.drop_record();
        return Ok(());
    };
    let d = s.difference;
    s.observed = s.observed.max(t);
    let close = s.observed - s.grace;
    if t + d <= close {
        s.metrics.drop_record();
        return Ok(());
    }
    let (aggs, raws) = (s.aggs.bind(ctx.application_id()), s.raws.bind(ctx.application_id()));
    // Each store's serdes are called with its own changelog topic, so the key is encoded for each.
    let kb = aggs.raw_key(&k)?;
    let raw_kb = raws.raw_key(&k)?;
    let raw = ctx.get_window_store(&s.raws.store)?;
    raw.put(raw_kb.clone(), Some(raws.raw_value(&v)?), t)?;
    let near: Vec<(i64, Bytes)> = raw.fetch(&raw_kb, (t - d - 1).max(0), t + d + 1)?.collect::<Result<_, _>>()?;
    let mut starts = BTreeSet::from([(t - d).max(0)]);
    for (rt, _) in &near {
        if *rt >= t && *rt <= t + d {
            starts.insert((rt - d).max(0));
        }
        if *rt < t && *rt >= t - d - 1 {
            starts.insert(rt + 1);
        }
        if *rt > t {
            starts.insert(t + 1);
        }
    }
    for start in starts {
        let end = start + d;
        if end <= close {
            continue;
        }
        let mut agg: Option<VA> = None;
        let mut max_ts = i64::MIN;
        for (rt, b) in near.iter().filter(|(rt, _)| *rt >= start && *rt <= end) {
            let value = raws.value_from(b)?;
            agg = Some((s.f)(&k, &value, agg));
            max_ts = max_ts.max(*rt);
        }
        let Some(agg) = agg else { continue };
        let store = ctx.get_window_store(&s.aggs.store)?;
        let old = store.fetch_one(&kb, start)?.map(|b| aggs.timestamped_from(&b)).transpose()?.map(|o| o.value);
        store.put(kb.clone(), Some(aggs.raw_timestamped(&agg, max_ts)?), start)?;
        ctx.forward(Record::new(Windowed::new(k.clone(), Window::new(start, end)), Change::new(Some(agg), old), max_ts))?;
    }
    Ok(())
}
