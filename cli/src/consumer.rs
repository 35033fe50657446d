//! `brook console-consumer`: kafka-console-consumer.sh. Reads every partition of the topic; with
//! `--group` it starts from the group's committed offsets and commits what it printed (as a
//! standalone consumer: it does not join the group).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;

use crate::admin::{connect, partitions};
use crate::groups::{commit, committed};
use crate::records::{fetch, list_offsets};
use crate::Bootstrap;

/// Flags of `brook console-consumer`.
#[derive(Debug, Clone, Args)]
pub struct ConsoleConsumerArgs {
    #[command(flatten)]
    bootstrap: Bootstrap,
    /// The topic to consume.
    #[arg(long)]
    topic: String,
    /// Start at the earliest offset when there is no committed offset.
    #[arg(long = "from-beginning")]
    from_beginning: bool,
    /// Consumer group: start from, and commit to, its offsets.
    #[arg(long)]
    group: Option<String>,
    /// Stop after this many messages.
    #[arg(long = "max-messages")]
    max_messages: Option<u64>,
    /// `print.key=true`, `key.separator=...`, `print.offset=true`, `print.partition=true`.
    #[arg(long = "property")]
    property: Vec<String>,
    /// `read_uncommitted` (default) or `read_committed`.
    #[arg(long = "isolation-level", default_value = "read_uncommitted")]
    isolation_level: String,
    /// Stop when no message arrived for this long.
    #[arg(long = "timeout-ms")]
    timeout_ms: Option<u64>,
}

pub(crate) async fn run(a: ConsoleConsumerArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let read_committed = match a.isolation_level.as_str() {
        "read_committed" => true,
        "read_uncommitted" => false,
        o => bail!("Invalid value {o} for configuration isolation.level: String must be one of: read_committed, read_uncommitted"),
    };
    let props: BTreeMap<String, String> = crate::args::parse_props("--property", &a.property)?.into_iter().collect();
    let flag = |k: &str| props.get(k).is_some_and(|v| v == "true");
    let (print_key, print_offset, print_partition) = (flag("print.key"), flag("print.offset"), flag("print.partition"));
    let sep = props.get("key.separator").cloned().unwrap_or_else(|| "\t".to_owned());
    let mut c = connect(&a.bootstrap).await?;
    let n = partitions(&mut c, &a.topic).await?;
    let start = list_offsets(&mut c, &a.topic, n, if a.from_beginning { -2 } else { -1 }).await?;
    let mut pos: BTreeMap<i32, i64> = (0..n).zip(start).collect();
    if let Some(g) = &a.group {
        for (tp, o) in committed(&mut c, g).await? {
            if tp.topic == a.topic && o >= 0 {
                pos.insert(tp.partition, o);
            }
        }
    }
    let mut count = 0u64;
    let mut last = Instant::now();
    // Ctrl-C ends the loop like --max-messages does, so the total is still printed.
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let result = loop {
        if a.max_messages.is_some_and(|m| count >= m) {
            break Ok(());
        }
        if let Some(t) = a.timeout_ms {
            if last.elapsed() >= Duration::from_millis(t) {
                eprintln!("[brook] Error processing message, terminating consumer process: org.apache.kafka.common.errors.TimeoutException");
                break Ok(());
            }
        }
        let wait = a.timeout_ms.map_or(500, |t| t.min(500)) as i32;
        let before = pos.clone();
        // Biased, the signal first: the first poll of `ctrl_c()` installs its handler, and a fetch
        // that is ready at once must not keep it uninstalled (SIGINT would then kill the process
        // before the total is printed).
        let recs = tokio::select! {
            biased;
            _ = &mut interrupted => break Ok(()),
            r = fetch(&mut c, &a.topic, &mut pos, read_committed, wait) => match r {
                Ok(r) => r,
                Err(e) => break Err(e),
            },
        };
        if recs.is_empty() {
            if before != pos && a.group.is_some() {
                commit(&mut c, a.group.as_deref().unwrap_or(""), &a.topic, &pos).await?;
            }
            continue;
        }
        last = Instant::now();
        let mut done: BTreeMap<i32, i64> = BTreeMap::new();
        for (p, r) in recs {
            if a.max_messages.is_some_and(|m| count >= m) {
                break;
            }
            let mut line = String::new();
            if print_partition {
                line.push_str(&format!("Partition:{p}\t"));
            }
            if print_offset {
                line.push_str(&format!("Offset:{}\t", r.offset));
            }
            if print_key {
                line.push_str(&r.key.as_ref().map_or("null".into(), |k| String::from_utf8_lossy(k).into_owned()));
                line.push_str(&sep);
            }
            line.push_str(&r.value.as_ref().map_or("null".into(), |v| String::from_utf8_lossy(v).into_owned()));
            writeln!(out, "{line}")?;
            done.insert(p, r.offset + 1);
            count += 1;
        }
        out.flush()?;
        if a.max_messages.is_some_and(|m| count >= m) {
            // Commit only what was printed: every partition resumes after its last printed record.
            for (p, o) in pos.iter_mut() {
                *o = done.get(p).or_else(|| before.get(p)).copied().unwrap_or(*o);
            }
        }
        if let Some(g) = &a.group {
            commit(&mut c, g, &a.topic, &pos).await?;
        }
    };
    eprintln!("Processed a total of {count} messages");
    result
}
