//! Punctuators: stream time and wall clock, alignment, cancellation.

use std::sync::Arc;
use std::time::Duration;

use brook_processor_api::{Cancellable, Processor, ProcessorContext, PunctuationType, Record, Result, SinkOptions, SourceOptions, Topology, TopologyTestDriver};
use parking_lot::Mutex;

use crate::common::{config, strings};

type S = Option<String>;

/// Schedules one punctuator in `init`; records when it fires, forwards a record each time, and
/// cancels itself after `cancel_after` firings.
struct Scheduler {
    ty: PunctuationType,
    interval: u64,
    fired: Arc<Mutex<Vec<i64>>>,
    cancel_after: usize,
    handle: Arc<Mutex<Option<Cancellable>>>,
}

impl Processor<S, S> for Scheduler {
    fn init(&mut self, ctx: &mut ProcessorContext<'_, S, S>) -> Result<()> {
        let fired = self.fired.clone();
        let handle = self.handle.clone();
        let cancel_after = self.cancel_after;
        let c = ctx.schedule(Duration::from_millis(self.interval), self.ty, move |ctx, ts| {
            let mut f = fired.lock();
            f.push(ts);
            assert!(ctx.record_metadata().is_none(), "no input record in a punctuator");
            if f.len() >= cancel_after {
                if let Some(h) = handle.lock().as_ref() {
                    h.cancel();
                }
            }
            ctx.forward(Record::new(Some("tick".to_owned()), Some(ts.to_string()), ts))
        })?;
        *self.handle.lock() = Some(c);
        Ok(())
    }

    fn process(&mut self, ctx: &mut ProcessorContext<'_, S, S>, r: Record<S, S>) -> Result<()> {
        assert_eq!(ctx.record_metadata().unwrap().topic, "in");
        ctx.forward(r)
    }
}

type Fired = Arc<Mutex<Vec<i64>>>;
type Handle = Arc<Mutex<Option<Cancellable>>>;

fn topology(ty: PunctuationType, interval: u64, cancel_after: usize) -> (Topology, Fired, Handle) {
    let fired = Arc::new(Mutex::new(Vec::new()));
    let handle = Arc::new(Mutex::new(None));
    let (f, h) = (fired.clone(), handle.clone());
    let mut t = Topology::new();
    t.add_source("in", SourceOptions::topics(["in"]).with_serdes(strings(), strings()))
        .unwrap()
        .add_processor(
            "p",
            move || Scheduler { ty, interval, fired: f.clone(), cancel_after, handle: h.clone() },
            &["in"],
        )
        .unwrap()
        .add_sink("out", SinkOptions::topic("out", strings(), strings()), &["p"])
        .unwrap();
    (t, fired, handle)
}

#[test]
fn stream_time_punctuation_is_aligned_and_fires_once_per_advance() {
    let dir = tempfile::tempdir().unwrap();
    let (t, fired, _) = topology(PunctuationType::StreamTime, 10, usize::MAX);
    let driver = TopologyTestDriver::new(t, config(dir.path()), 0).unwrap();
    let input = driver.create_input_topic("in", strings(), strings());
    for ts in [0, 5, 10, 11, 35, 36, 20, 40] {
        input.pipe_input_with_timestamp("k".to_owned(), "v".to_owned(), ts).unwrap();
    }
    // 0: first schedule (aligned to 0); 10; 35 once for the gap (next aligned at 40); the
    // out-of-order 20 does not advance stream time; 40.
    assert_eq!(*fired.lock(), vec![0, 10, 35, 40]);
    // Wall-clock time does not fire stream-time punctuators.
    driver.advance_wall_clock_time(Duration::from_secs(60)).unwrap();
    assert_eq!(fired.lock().len(), 4);
    let output = driver.create_output_topic("out", strings(), strings());
    let ticks = output.read_records_to_list().unwrap().into_iter().filter(|r| r.key.as_deref() == Some("tick")).count();
    assert_eq!(ticks, 4);
}

#[test]
fn wall_clock_punctuation_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let (t, fired, handle) = topology(PunctuationType::WallClockTime, 100, 3);
    let driver = TopologyTestDriver::new(t, config(dir.path()), 1_000).unwrap();
    driver.advance_wall_clock_time(Duration::from_millis(50)).unwrap();
    assert!(fired.lock().is_empty());
    driver.advance_wall_clock_time(Duration::from_millis(50)).unwrap();
    assert_eq!(*fired.lock(), vec![1_100]);
    // A long pause fires once, and the schedule stays aligned to 1_000 + n * 100.
    driver.advance_wall_clock_time(Duration::from_millis(250)).unwrap();
    assert_eq!(*fired.lock(), vec![1_100, 1_350]);
    driver.advance_wall_clock_time(Duration::from_millis(49)).unwrap();
    assert_eq!(fired.lock().len(), 2, "next at 1_400");
    driver.advance_wall_clock_time(Duration::from_millis(1)).unwrap();
    assert_eq!(*fired.lock(), vec![1_100, 1_350, 1_400]);
    // Cancelled from inside the punctuator after the third firing.
    assert!(handle.lock().as_ref().unwrap().is_cancelled());
    driver.advance_wall_clock_time(Duration::from_secs(10)).unwrap();
    assert_eq!(fired.lock().len(), 3);
    // Records processed do not fire wall-clock punctuators.
    let input = driver.create_input_topic("in", strings(), strings());
    input.pipe_input_with_timestamp("k".to_owned(), "v".to_owned(), 5).unwrap();
    assert_eq!(fired.lock().len(), 3);
    let output = driver.create_output_topic("out", strings(), strings());
    let values = output.read_values_to_list().unwrap();
    assert_eq!(values, vec![Some("1100".to_owned()), Some("1350".to_owned()), Some("1400".to_owned()), Some("v".to_owned())]);
}

#[test]
fn zero_interval_is_rejected() {
    struct Bad;
    impl Processor<S, S> for Bad {
        fn init(&mut self, ctx: &mut ProcessorContext<'_, S, S>) -> Result<()> {
            ctx.schedule(Duration::ZERO, PunctuationType::StreamTime, |_, _| Ok(())).map(|_| ())
        }
        fn process(&mut self, _: &mut ProcessorContext<'_, S, S>, _: Record<S, S>) -> Result<()> {
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut t = Topology::new();
    t.add_source("in", SourceOptions::topics(["in"]).with_serdes(strings(), strings())).unwrap().add_processor("bad", || Bad, &["in"]).unwrap();
    let e = TopologyTestDriver::new(t, config(dir.path()), 0).unwrap_err();
    assert!(matches!(e, brook_processor_api::Error::Processing { .. }), "{e}");
}
