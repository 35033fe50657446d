//! `brook datagen`: ksql-datagen's quickstarts (the generator is `brook_connect::datagen`'s,
//! shared with the `datagen` connector). Random records shaped like the quickstart
//! schemas of ksqlDB's examples (`pageviews`, `users`, `orders`, `ratings`, `clickstream`), keyed
//! by the same field, written to the embedded broker's data directory or to a broker over TCP
//! (`--bootstrap-server`), at `--msgRate` records a second for `--iterations` records, with a
//! progress bar on stderr.
//!
//! Where Brook differs from ksql-datagen: flags are `--name value` (ksql-datagen takes
//! `name=value`); no Avro (no Schema Registry) and no `schema=` files: the quickstarts' fields
//! are generated in Rust, with the same names, types and kinds of values; the key is the key
//! field in the KAFKA format (`--key-format json` writes it as JSON); rows are not printed
//! (`--print-rows` prints them as ksql-datagen does).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use brook_broker::client::{Producer, ProducerConfig, ProducerRecord};
use brook_broker::{Broker, BrokerConfig, ErrorCode};
use clap::{Args, ValueEnum};
use brook_connect::datagen::{Generator, Quickstart};
use clap::builder::TypedValueParser;
use serde_json::Value as Json;

/// Value formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValueFormat {
    Json,
    Delimited,
}

/// Key formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyFormat {
    Kafka,
    Json,
}

/// Flags of `brook datagen`.
#[derive(Debug, Clone, Args)]
pub struct DatagenArgs {
    /// The data set: pageviews, users, orders, ratings or clickstream.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["pageviews", "users", "orders", "ratings", "clickstream"]).try_map(|s| s.parse::<Quickstart>()))]
    pub quickstart: Quickstart,
    /// The topic. Default: `<quickstart>_kafka_topic_<format>` (ksql-datagen's name).
    #[arg(long)]
    pub topic: Option<String>,
    /// The value format. Default: json.
    #[arg(long = "format", alias = "value-format", value_enum, default_value = "json")]
    pub format: ValueFormat,
    /// The key format. Default: kafka.
    #[arg(long = "key-format", value_enum, default_value = "kafka")]
    pub key_format: KeyFormat,
    /// How many records. Default: 1,000,000.
    #[arg(long, default_value_t = 1_000_000)]
    pub iterations: u64,
    /// Records a second; -1: as fast as possible. Default: -1.
    #[arg(long = "msgRate", alias = "msg-rate", default_value_t = -1, allow_hyphen_values = true)]
    pub msg_rate: i64,
    /// A broker to write to over TCP; without it, the embedded broker on --data-dir.
    #[arg(long = "bootstrap-server", value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    /// The embedded broker's data directory. Default: ./data.
    #[arg(long = "data-dir", value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Partitions of the topic when datagen creates it. Default: 1.
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,
    /// Print each record as `key --> ([ value ])`.
    #[arg(long = "print-rows")]
    pub print_rows: bool,
    /// A seed, for the same records every run.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// The next record of `generator` as key and value bytes.
trait NextRecord {
    fn next_record(&mut self, key_format: KeyFormat, format: ValueFormat) -> (Vec<u8>, Vec<u8>);
}

impl NextRecord for Generator {
    fn next_record(&mut self, key_format: KeyFormat, format: ValueFormat) -> (Vec<u8>, Vec<u8>) {
        let fields = self.next_fields();
        let key = fields.iter().find(|(k, _)| *k == self.quickstart().key_field()).map_or(Json::Null, |(_, v)| v.clone());
        let key = match (key_format, &key) {
            (KeyFormat::Json, k) => k.to_string().into_bytes(),
            (KeyFormat::Kafka, Json::String(s)) => s.clone().into_bytes(),
            // KAFKA numbers are big-endian: INT fields 4 bytes, BIGINT 8 (ksql-datagen's long keys).
            (KeyFormat::Kafka, Json::Number(n)) if self.quickstart() == Quickstart::Orders => {
                i32::try_from(n.as_i64().unwrap_or(0)).unwrap_or(i32::MAX).to_be_bytes().to_vec()
            }
            (KeyFormat::Kafka, Json::Number(n)) => n.as_i64().unwrap_or(0).to_be_bytes().to_vec(),
            (KeyFormat::Kafka, other) => other.to_string().into_bytes(),
        };
        let value = match format {
            // Written by hand to keep the schema's field order (serde_json's map sorts).
            ValueFormat::Json => {
                let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{v}", Json::String((*k).to_owned()))).collect();
                format!("{{{}}}", body.join(",")).into_bytes()
            }
            ValueFormat::Delimited => fields.iter().map(|(_, v)| delimited(v)).collect::<Vec<_>>().join(",").into_bytes(),
        };
        (key, value)
    }
}

/// One field in the DELIMITED format: strings as they are (quoted when they hold a comma or a
/// quote), numbers as JSON writes them, structs as their fields' JSON.
fn delimited(v: &Json) -> String {
    match v {
        Json::String(s) if s.contains([',', '"', '\n']) => format!("\"{}\"", s.replace('"', "\"\"")),
        Json::String(s) => s.clone(),
        other => {
            let text = other.to_string();
            if text.contains(',') {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text
            }
        }
    }
}

/// Where the records go.
enum Sink {
    Embedded { broker: Broker, producer: Producer },
    Tcp { client: brook_broker::server::wire_client::Client, partitions: i32 },
}

/// Creates `topic` over TCP unless it exists; its partition count.
async fn create_topic(c: &mut brook_broker::server::wire_client::Client, topic: &str, partitions: i32) -> anyhow::Result<i32> {
    let mut t = kafka_protocol::messages::create_topics_request::CreatableTopic::default();
    t.name = crate::admin::tn(topic);
    t.num_partitions = partitions;
    t.replication_factor = 1;
    let mut req = kafka_protocol::messages::CreateTopicsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 30_000;
    let resp = c.send(req).await?;
    match resp.topics.first().map(|r| r.error_code) {
        Some(0 | 36) => crate::admin::partitions(c, topic).await,
        Some(code) => bail!("cannot create topic {topic}: {}", crate::admin::error_name(code)),
        None => bail!("cannot create topic {topic}: empty response"),
    }
}

/// Runs `brook datagen`.
pub(crate) async fn run(a: DatagenArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    if a.partitions < 1 {
        bail!("--partitions must be at least 1");
    }
    if a.msg_rate == 0 || a.msg_rate < -1 {
        bail!("--msgRate must be positive, or -1 for as fast as possible");
    }
    let format_name = match a.format {
        ValueFormat::Json => "json",
        ValueFormat::Delimited => "delimited",
    };
    let topic = a.topic.clone().unwrap_or_else(|| format!("{}_kafka_topic_{format_name}", a.quickstart.root()));
    let mut sink = match &a.bootstrap_server {
        Some(addr) => {
            let b = crate::Bootstrap { bootstrap_server: addr.clone() };
            b.checked_addr()?;
            let mut client = crate::admin::connect(&b).await?;
            let partitions = create_topic(&mut client, &topic, a.partitions).await?;
            Sink::Tcp { client, partitions }
        }
        None => {
            crate::server::check_data_dir(&a.data_dir)?;
            let broker = Broker::open(BrokerConfig::new(&a.data_dir))
                .await
                .with_context(|| format!("cannot open the broker's data directory {} (is `brook server` or `brook sql` running on it? pass --bootstrap-server)", a.data_dir.display()))?;
            match broker.create_topic(&topic, a.partitions, BTreeMap::new()) {
                Err(e) if e.code() != ErrorCode::TopicAlreadyExists => return Err(e).with_context(|| format!("cannot create topic {topic}")),
                _ => {}
            }
            let producer = Producer::new(broker.clone(), ProducerConfig::default())?;
            Sink::Embedded { broker, producer }
        }
    };
    let bar = indicatif::ProgressBar::new(a.iterations);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} records ({per_sec}, eta {eta}) {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(topic.clone());
    let mut generator = Generator::new(a.quickstart, a.seed);
    let start = Instant::now();
    let interval = (a.msg_rate > 0).then(|| Duration::from_secs_f64(1.0 / a.msg_rate as f64));
    // Records go out in batches of up to 500, or one at a time at low rates.
    let batch_size: u64 = match a.msg_rate {
        -1 => 500,
        r => u64::try_from(r / 10).unwrap_or(1).clamp(1, 500),
    };
    let mut sent = 0u64;
    while sent < a.iterations {
        let n = batch_size.min(a.iterations - sent);
        let records: Vec<(Vec<u8>, Vec<u8>)> = (0..n).map(|_| generator.next_record(a.key_format, a.format)).collect();
        if a.print_rows {
            for (k, v) in &records {
                writeln!(out, "{} --> ([ {} ])", String::from_utf8_lossy(k), String::from_utf8_lossy(v))?;
            }
        }
        match &mut sink {
            Sink::Embedded { producer, .. } => {
                let futures: Vec<_> = records.into_iter().map(|(k, v)| producer.send(ProducerRecord::new(topic.clone(), Some(k), Some(v)))).collect();
                for f in futures {
                    f.await.with_context(|| format!("cannot write to topic {topic}"))?;
                }
            }
            Sink::Tcp { client, partitions } => {
                let mut batches: BTreeMap<i32, Vec<crate::records::Rec>> = BTreeMap::new();
                for (k, v) in records {
                    let p = crate::records::partition_for(&k, *partitions);
                    batches.entry(p).or_default().push((Some(k), v));
                }
                crate::records::produce(client, &topic, &batches, -1).await?;
            }
        }
        sent += n;
        bar.set_position(sent);
        if let Some(i) = interval {
            let due = start + i.mul_f64(sent as f64);
            tokio::time::sleep_until(due.into()).await;
        }
    }
    bar.finish();
    if let Sink::Embedded { broker, producer } = sink {
        producer.flush();
        drop(producer);
        broker.shutdown().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quickstart_has_its_key_field_and_the_key_is_its_value() {
        for q in Quickstart::ALL {
            let mut g = Generator::new(q, Some(7));
            let (key, value) = g.next_record(KeyFormat::Json, ValueFormat::Json);
            let v: Json = serde_json::from_slice(&value).unwrap();
            let k: Json = serde_json::from_slice(&key).unwrap();
            assert_eq!(v[q.key_field()], k, "{q:?}");
        }
    }

    #[test]
    fn pageviews_count_up_and_delimited_keeps_the_field_order() {
        let mut g = Generator::new(Quickstart::Pageviews, Some(1));
        let (k1, v1) = g.next_record(KeyFormat::Kafka, ValueFormat::Delimited);
        let (k2, _) = g.next_record(KeyFormat::Kafka, ValueFormat::Delimited);
        assert_eq!(k1, 1i64.to_be_bytes());
        assert_eq!(k2, 11i64.to_be_bytes());
        let text = String::from_utf8(v1).unwrap();
        let parts: Vec<&str> = text.split(',').collect();
        assert_eq!(parts[0], "1");
        assert!(parts[1].starts_with("User_") && parts[2].starts_with("Page_"), "{text}");
        let mut orders = Generator::new(Quickstart::Orders, Some(1));
        let (_, v) = orders.next_record(KeyFormat::Kafka, ValueFormat::Delimited);
        assert!(String::from_utf8(v).unwrap().contains(",\"{\"\"city\"\":"), "structs are quoted JSON");
    }
}
