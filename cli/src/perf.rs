//! `brook producer-perf-test` and `brook consumer-perf-test`, with the output lines of Kafka's
//! `ProducerPerformance` and `ConsumerPerformance`.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};
use clap::Args;

use crate::admin::{connect, partitions};
use crate::records::{fetch, list_offsets, parse_acks, produce, Rec};
use crate::Bootstrap;

/// Flags of `brook producer-perf-test`.
#[derive(Debug, Clone, Args)]
pub struct ProducerPerfArgs {
    /// The broker to connect to, `host:port`; takes precedence over `bootstrap.servers` in
    /// --producer-props.
    #[arg(long = "bootstrap-server", value_name = "HOST:PORT")]
    bootstrap_server: Option<String>,
    /// The topic.
    #[arg(long)]
    topic: String,
    /// Records to send.
    #[arg(long = "num-records")]
    num_records: u64,
    /// Bytes per record.
    #[arg(long = "record-size")]
    record_size: usize,
    /// Records per second; -1 for no limit.
    #[arg(long, allow_hyphen_values = true)]
    throughput: f64,
    /// `bootstrap.servers=H:P`, `acks=1`, `batch.size=N` (space separated).
    #[arg(long = "producer-props", num_args = 1..)]
    producer_props: Vec<String>,
}

/// Flags of `brook consumer-perf-test`.
#[derive(Debug, Clone, Args)]
pub struct ConsumerPerfArgs {
    #[command(flatten)]
    bootstrap: Bootstrap,
    /// The topic.
    #[arg(long)]
    topic: String,
    /// Messages to consume.
    #[arg(long)]
    messages: u64,
    /// Give up after this long without data.
    #[arg(long = "timeout", default_value_t = 10_000)]
    timeout: u64,
}

pub(crate) async fn producer(a: ProducerPerfArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let props: BTreeMap<String, String> = crate::parse_props("--producer-props", &a.producer_props)?.into_iter().collect();
    let bootstrap = a.bootstrap_server.as_ref().or_else(|| props.get("bootstrap.servers")).context(
        "Either --bootstrap-server or bootstrap.servers in --producer-props must be specified (e.g. --bootstrap-server 127.0.0.1:9092)",
    )?;
    let acks = parse_acks(props.get("acks").map_or("all", String::as_str))?;
    let batch_size: usize = match props.get("batch.size") {
        None => 16384,
        Some(v) => v.parse().map_err(|_| anyhow!("Invalid value {v} for configuration batch.size: Not a number of type INT"))?,
    };
    if a.record_size == 0 {
        bail!("--record-size must be at least 1 (got 0)");
    }
    let b = Bootstrap { bootstrap_server: bootstrap.clone() };
    let mut c = connect(&b).await?;
    let n = crate::admin::auto_created_topic(&mut c, &a.topic).await?.map_or(1, |t| t.partitions.len().max(1) as i32);
    let payload: Vec<u8> = (0..a.record_size).map(|i| b'A' + (i % 26) as u8).collect();
    let per_batch = (batch_size / a.record_size.max(1)).max(1) as u64;
    let start = Instant::now();
    let mut latencies: Vec<u32> = Vec::with_capacity(a.num_records as usize);
    let (mut sent, mut window_start, mut window_sent, mut window_lat, mut window_max) = (0u64, Instant::now(), 0u64, 0u64, 0u32);
    let mut partition = 0;
    while sent < a.num_records {
        let k = per_batch.min(a.num_records - sent);
        let recs: Vec<Rec> = (0..k).map(|_| (None, payload.clone())).collect();
        let batch = BTreeMap::from([(partition, recs)]);
        partition = (partition + 1) % n;
        let t0 = Instant::now();
        produce(&mut c, &a.topic, &batch, acks).await?;
        let ms = t0.elapsed().as_millis() as u32;
        latencies.extend(std::iter::repeat_n(ms, k as usize));
        sent += k;
        window_sent += k;
        window_lat += u64::from(ms) * k;
        window_max = window_max.max(ms);
        if window_start.elapsed() >= Duration::from_secs(5) {
            let secs = window_start.elapsed().as_secs_f64();
            let rate = window_sent as f64 / secs;
            writeln!(
                out,
                "{window_sent} records sent, {rate:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
                rate * a.record_size as f64 / (1024.0 * 1024.0),
                window_lat as f64 / window_sent as f64,
                f64::from(window_max)
            )?;
            (window_start, window_sent, window_lat, window_max) = (Instant::now(), 0, 0, 0);
        }
        if a.throughput > 0.0 {
            let due = Duration::from_secs_f64(sent as f64 / a.throughput);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = sent as f64 / secs;
    let avg = latencies.iter().map(|l| u64::from(*l)).sum::<u64>() as f64 / latencies.len().max(1) as f64;
    latencies.sort_unstable();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).copied().unwrap_or(0);
    writeln!(
        out,
        "{sent} records sent, {rate:.1} records/sec ({:.2} MB/sec), {avg:.2} ms avg latency, {:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
        rate * a.record_size as f64 / (1024.0 * 1024.0),
        f64::from(latencies.last().copied().unwrap_or(0)),
        pct(0.5),
        pct(0.95),
        pct(0.99),
        pct(0.999)
    )?;
    Ok(())
}

/// `yyyy-MM-dd HH:mm:ss:SSS` in UTC, as ConsumerPerformance prints times.
fn timestamp(t: SystemTime) -> String {
    let ms = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}:{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

pub(crate) async fn consumer(a: ConsumerPerfArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let start_wall = SystemTime::now();
    let start = Instant::now();
    let mut c = connect(&a.bootstrap).await?;
    let n = partitions(&mut c, &a.topic).await?;
    let offsets = list_offsets(&mut c, &a.topic, n, -2).await?;
    let mut pos: BTreeMap<i32, i64> = (0..n).zip(offsets).collect();
    let fetch_start = Instant::now();
    let (mut msgs, mut bytes) = (0u64, 0u64);
    let mut last_data = Instant::now();
    while msgs < a.messages {
        let recs = fetch(&mut c, &a.topic, &mut pos, false, 100).await?;
        if recs.is_empty() {
            if last_data.elapsed() > Duration::from_millis(a.timeout) {
                eprintln!("WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) exceeded.", a.timeout);
                break;
            }
            continue;
        }
        last_data = Instant::now();
        for (_, r) in recs {
            msgs += 1;
            bytes += r.value.as_ref().map_or(0, |v| v.len()) as u64 + r.key.as_ref().map_or(0, |k| k.len()) as u64;
        }
    }
    let end_wall = SystemTime::now();
    let total = start.elapsed().as_secs_f64().max(1e-9);
    let fetch_s = fetch_start.elapsed().as_secs_f64().max(1e-9);
    let mb = bytes as f64 / (1024.0 * 1024.0);
    writeln!(out, "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")?;
    writeln!(
        out,
        "{}, {}, {mb:.4}, {:.4}, {msgs}, {:.4}, {}, {}, {:.4}, {:.4}",
        timestamp(start_wall),
        timestamp(end_wall),
        mb / total,
        msgs as f64 / total,
        (fetch_start - start).as_millis(),
        (fetch_s * 1000.0) as u64,
        mb / fetch_s,
        msgs as f64 / fetch_s
    )?;
    Ok(())
}
