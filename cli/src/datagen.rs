//! `brook datagen`: ksql-datagen's quickstarts. Random records shaped like the quickstart
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
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};

/// The quickstart data sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Quickstart {
    Pageviews,
    Users,
    Orders,
    Ratings,
    Clickstream,
}

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
    /// The data set.
    #[arg(long, value_enum)]
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

impl Quickstart {
    fn root(self) -> &'static str {
        match self {
            Quickstart::Pageviews => "pageviews",
            Quickstart::Users => "users",
            Quickstart::Orders => "orders",
            Quickstart::Ratings => "ratings",
            Quickstart::Clickstream => "clickstream",
        }
    }

    /// The field the key is taken from (ksql-datagen's).
    pub fn key_field(self) -> &'static str {
        match self {
            Quickstart::Pageviews => "viewtime",
            Quickstart::Users => "userid",
            Quickstart::Orders => "orderid",
            Quickstart::Ratings => "rating_id",
            Quickstart::Clickstream => "ip",
        }
    }
}

const RATING_MESSAGES: &[&str] = &[
    "thank you for the most friendly, helpful experience today at your new lounge",
    "more peanuts please",
    "why is it so difficult to keep the bathrooms clean ?",
    "Surprisingly good, maybe you are getting your mojo back at long last!",
    "is this as good as it gets? really ?",
    "meh",
    "airport refurb looks great, will fly outta here more!",
    "your team here rocks!",
    "Exceeded all my expectations. Thank you !",
    "(expletive deleted)",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2272.104 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
];
const REQUESTS: &[&str] = &[
    "GET /index.html HTTP/1.1",
    "GET /site/user_status.html HTTP/1.1",
    "GET /site/login.html HTTP/1.1",
    "GET /site/user_status.html HTTP/1.1",
    "GET /images/track.png HTTP/1.1",
    "GET /images/logo-small.png HTTP/1.1",
];

/// Generates one quickstart's records; `n` is the iteration (fields that count up use it).
#[derive(Debug)]
pub struct Generator {
    quickstart: Quickstart,
    rng: StdRng,
    n: u64,
}

impl Generator {
    /// A generator with a random seed, or `seed`.
    #[must_use]
    pub fn new(quickstart: Quickstart, seed: Option<u64>) -> Self {
        let rng = seed.map_or_else(StdRng::from_entropy, StdRng::seed_from_u64);
        Generator { quickstart, rng, n: 0 }
    }

    /// The next record's fields, in the schema's order.
    pub fn next_fields(&mut self) -> Vec<(&'static str, Json)> {
        let n = self.n;
        self.n += 1;
        let now = brook_common::now_ms();
        let r = &mut self.rng;
        match self.quickstart {
            Quickstart::Pageviews => vec![
                ("viewtime", json!(1 + n * 10)),
                ("userid", json!(format!("User_{}", r.gen_range(1..=9)))),
                ("pageid", json!(format!("Page_{}", r.gen_range(1..=99)))),
            ],
            Quickstart::Users => vec![
                ("registertime", json!(r.gen_range(1_487_715_775_521i64..=1_519_273_364_600))),
                ("userid", json!(format!("User_{}", r.gen_range(1..=9)))),
                ("regionid", json!(format!("Region_{}", r.gen_range(1..=9)))),
                ("gender", json!(["MALE", "FEMALE", "OTHER"][r.gen_range(0..3)])),
            ],
            Quickstart::Orders => vec![
                ("ordertime", json!(r.gen_range(1_487_715_775_521i64..=1_519_273_364_600))),
                ("orderid", json!(n)),
                ("itemid", json!(format!("Item_{}", r.gen_range(1..=999)))),
                ("orderunits", json!((r.gen_range(0.1..10.0f64) * 1e4).round() / 1e4)),
                (
                    "address",
                    json!({
                        "city": format!("City_{}", r.gen_range(1..=99)),
                        "state": format!("State_{}", r.gen_range(1..=99)),
                        "zipcode": r.gen_range(10_000..=99_999),
                    }),
                ),
            ],
            Quickstart::Ratings => {
                let stars = r.gen_range(1..=5);
                let channel = ["iOS", "iOS-test", "android", "web"][r.gen_range(0..4)];
                vec![
                    ("rating_id", json!(n + 1)),
                    ("user_id", json!(r.gen_range(1..=20))),
                    ("stars", json!(stars)),
                    ("route_id", json!(r.gen_range(1..=9999))),
                    ("rating_time", json!(now)),
                    ("channel", json!(channel)),
                    ("message", json!(RATING_MESSAGES[r.gen_range(0..RATING_MESSAGES.len())])),
                ]
            }
            Quickstart::Clickstream => {
                let ip = format!("{}.{}.{}.{}", r.gen_range(1..=222), r.gen_range(0..=255), r.gen_range(0..=255), r.gen_range(1..=254));
                let userid = r.gen_range(1..=36);
                let status = ["200", "302", "404", "405", "406", "407"][r.gen_range(0..6)];
                let bytes = ["278", "1289", "2048", "4096", "4006", "4196", "14096"][r.gen_range(0..7)];
                let time = chrono::DateTime::from_timestamp_millis(now).map_or_else(String::new, |t| t.format("%d/%b/%Y:%H:%M:%S +0000").to_string());
                let request = REQUESTS[r.gen_range(0..REQUESTS.len())];
                let agent = AGENTS[r.gen_range(0..AGENTS.len())];
                vec![
                    ("ip", json!(ip)),
                    ("userid", json!(userid)),
                    ("remote_user", json!("-")),
                    ("time", json!(time)),
                    ("_time", json!(now)),
                    ("request", json!(request)),
                    ("status", json!(status)),
                    ("bytes", json!(bytes)),
                    ("referrer", json!("-")),
                    ("agent", json!(agent)),
                ]
            }
        }
    }

    /// The next record as key and value bytes.
    pub fn next_record(&mut self, key_format: KeyFormat, format: ValueFormat) -> (Vec<u8>, Vec<u8>) {
        let fields = self.next_fields();
        let key = fields.iter().find(|(k, _)| *k == self.quickstart.key_field()).map_or(Json::Null, |(_, v)| v.clone());
        let key = match (key_format, &key) {
            (KeyFormat::Json, k) => k.to_string().into_bytes(),
            (KeyFormat::Kafka, Json::String(s)) => s.clone().into_bytes(),
            // KAFKA numbers are big-endian: INT fields 4 bytes, BIGINT 8 (ksql-datagen's long keys).
            (KeyFormat::Kafka, Json::Number(n)) if self.quickstart == Quickstart::Orders => {
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
        for q in [Quickstart::Pageviews, Quickstart::Users, Quickstart::Orders, Quickstart::Ratings, Quickstart::Clickstream] {
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
