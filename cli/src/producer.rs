//! `brook console-producer`: kafka-console-producer.sh. Lines from stdin become records, sent in
//! batches (one Produce request per 1,000 lines, and at end of input; each line as it is typed
//! when stdin is a terminal), keyed records partitioned like the Java client, unkeyed ones
//! round-robin per batch.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use clap::Args;

use crate::admin::connect;
use crate::records::{partition_for, produce, Rec};
use crate::Bootstrap;

/// Flags of `brook console-producer`.
#[derive(Debug, Clone, Args)]
pub struct ConsoleProducerArgs {
    #[command(flatten)]
    bootstrap: Bootstrap,
    /// The topic to produce to.
    #[arg(long)]
    topic: String,
    /// `parse.key=true`, `key.separator=:` (repeatable).
    #[arg(long = "property")]
    property: Vec<String>,
    /// acks: 1 or -1 (all). Default: -1.
    #[arg(long = "request-required-acks", default_value = "-1", allow_hyphen_values = true)]
    acks: String,
    /// Lines per Produce request.
    #[arg(long = "batch-size", default_value_t = 1000)]
    batch_size: usize,
}

pub(crate) async fn run(a: ConsoleProducerArgs, input: &mut dyn BufRead) -> anyhow::Result<()> {
    let props: BTreeMap<String, String> = crate::parse_props("--property", &a.property)?.into_iter().collect();
    let parse_key = props.get("parse.key").is_some_and(|v| v == "true");
    let sep = props.get("key.separator").cloned().unwrap_or_else(|| "\t".to_owned());
    if sep.is_empty() {
        anyhow::bail!("key.separator must not be empty");
    }
    let acks = crate::records::parse_acks(&a.acks)?;
    let mut c = connect(&a.bootstrap).await?;
    let parts = {
        let t = crate::admin::auto_created_topic(&mut c, &a.topic).await?.with_context(|| format!("the broker returned no metadata for topic {}", a.topic))?;
        if t.error_code != 0 {
            anyhow::bail!("{} (topic {})", crate::admin::error_name(t.error_code), a.topic);
        }
        t.partitions.len() as i32
    };
    let mut batch: BTreeMap<i32, Vec<Rec>> = BTreeMap::new();
    let mut pending = 0usize;
    let mut rr = rand::random::<u32>() as i32 & 0x7fff_ffff;
    let mut line = String::new();
    let mut line_number = 0u64;
    // Typed lines go out as they are typed, so a consumer shows them and Ctrl-C loses nothing.
    let batch_size = if std::io::stdin().is_terminal() { 1 } else { a.batch_size.max(1) };
    loop {
        line.clear();
        let n = input.read_line(&mut line).context("reading stdin")?;
        if n > 0 {
            line_number += 1;
            let l = line.strip_suffix('\n').unwrap_or(&line);
            let l = l.strip_suffix('\r').unwrap_or(l);
            let (key, value) = if parse_key {
                match l.split_once(sep.as_str()) {
                    Some((k, v)) => (Some(k.as_bytes().to_vec()), v.as_bytes().to_vec()),
                    None => anyhow::bail!("No key separator found on line number {line_number}: '{l}'"),
                }
            } else {
                (None, l.as_bytes().to_vec())
            };
            let p = match &key {
                Some(k) => partition_for(k, parts),
                None => rr % parts.max(1),
            };
            batch.entry(p).or_default().push((key, value));
            pending += 1;
        }
        if (n == 0 || pending >= batch_size) && pending > 0 {
            produce(&mut c, &a.topic, &batch, acks).await?;
            batch.clear();
            pending = 0;
            rr = rr.wrapping_add(1) & 0x7fff_ffff;
        }
        if n == 0 {
            return Ok(());
        }
    }
}
