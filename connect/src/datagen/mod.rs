//! The `datagen` source connector (`io.confluent.kafka.connect.datagen.DatagenConnector`, with
//! its config keys) over the quickstart generator `brook datagen` uses ([`Generator`]): demo
//! data without anything else to install.
//!
//! - `kafka.topic` (required): the topic.
//! - `quickstart` (required): `users`, `pageviews`, `orders`, `ratings` or `clickstream`.
//! - `max.interval`: the most milliseconds between two records (each waits a random time up to
//!   it). Default: 500.
//! - `iterations`: records per task, then the task idles; -1: no end. Default: -1.
//! - `random.seed`: the same records every run (each task adds its id).
//!
//! Records carry the quickstart's struct value (schema `ksql.<quickstart>`) and its key field as
//! the key (a string or an integer with its schema), as Confluent's connector does. The source
//! partition is `{"task.id": N}`, the offset `{"current.iteration": N}`: a restarted task
//! continues the count (so `iterations` is a total, and `orderid`s go on where they stopped).

mod quickstart;

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};

pub use quickstart::{Generator, Quickstart};

use crate::config::{Config, ConfigDef, ConfigType, Importance};
use crate::connector::{ConnectRecord, ConnectorBase, OffsetReader, SourceConnector, SourceRecord, SourceTask};
use crate::data::{Schema, SchemaAndValue, SchemaType, Struct, Value};
use crate::error::{Error, Result};

/// Records handed out by one poll at most.
const MAX_BATCH: usize = 1000;

#[derive(Debug, Clone)]
struct DatagenConfig {
    topic: String,
    quickstart: Quickstart,
    max_interval: Duration,
    iterations: Option<u64>,
    seed: Option<u64>,
}

impl DatagenConfig {
    fn parse(config: &Config) -> Result<DatagenConfig> {
        let get = |k: &str| config.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let topic = get("kafka.topic").ok_or_else(|| Error::Config("Missing required configuration \"kafka.topic\" which has no default value.".into()))?;
        if get("schema.string").is_some() || get("schema.filename").is_some() {
            return Err(Error::Config("schema.string and schema.filename are not supported: use quickstart".into()));
        }
        let quickstart = get("quickstart").ok_or_else(|| Error::Config("Missing required configuration \"quickstart\" (users, pageviews, orders, ratings or clickstream)".into()))?;
        let quickstart: Quickstart = quickstart.parse().map_err(|e| Error::Config(format!("Invalid value {quickstart} for configuration quickstart: {e}")))?;
        let num = |k: &str| -> Result<Option<i64>> {
            get(k).map(|v| v.parse::<i64>().map_err(|_| Error::Config(format!("Invalid value {v} for configuration {k}: Not a number of type LONG")))).transpose()
        };
        let max_interval = num("max.interval")?.unwrap_or(500);
        if max_interval < 0 {
            return Err(Error::Config(format!("Invalid value {max_interval} for configuration max.interval: must not be negative")));
        }
        let iterations = match num("iterations")?.unwrap_or(-1) {
            n if n < 0 => None,
            n => Some(n.unsigned_abs()),
        };
        let seed = num("random.seed")?.map(i64::unsigned_abs);
        Ok(DatagenConfig { topic: topic.to_owned(), quickstart, max_interval: Duration::from_millis(max_interval.unsigned_abs()), iterations, seed })
    }
}

/// `io.confluent.kafka.connect.datagen.DatagenConnector`.
#[derive(Debug, Default)]
pub struct DatagenConnector {
    config: Config,
}

impl ConnectorBase for DatagenConnector {
    fn start(&mut self, config: &Config) -> Result<()> {
        DatagenConfig::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    /// `max_tasks` generators, each with its `task.id`.
    fn task_configs(&self, max_tasks: usize) -> Vec<Config> {
        (0..max_tasks.max(1))
            .map(|i| {
                let mut c = self.config.clone();
                c.insert("task.id".into(), i.to_string());
                c
            })
            .collect()
    }

    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define("kafka.topic", ConfigType::String, None, Importance::High, "Topic to write to")
            .validated(crate::config::non_empty_string)
            .define("quickstart", ConfigType::String, None, Importance::High, "The data set: users, pageviews, orders, ratings or clickstream")
            .validated(|v| v.parse::<Quickstart>().map(|_| ()))
            .define("max.interval", ConfigType::Long, Some("500"), Importance::Medium, "Max interval between messages (ms)")
            .define("iterations", ConfigType::Int, Some("-1"), Importance::Medium, "Number of messages to send from each task, or less than 1 for unlimited")
            .define("random.seed", ConfigType::Long, None, Importance::Low, "The seed for the same records every run")
            .optional()
    }
}

impl SourceConnector for DatagenConnector {
    fn task(&self) -> Box<dyn SourceTask> {
        Box::<DatagenTask>::default()
    }
}

/// The task of [`DatagenConnector`].
#[derive(Debug, Default)]
pub struct DatagenTask {
    state: Option<TaskState>,
}

#[derive(Debug)]
struct TaskState {
    config: DatagenConfig,
    generator: Generator,
    /// Draws the waits between records.
    rng: StdRng,
    partition: Json,
    next_due: Instant,
}

impl SourceTask for DatagenTask {
    fn start(&mut self, config: &Config, offsets: &dyn OffsetReader) -> Result<()> {
        let c = DatagenConfig::parse(config)?;
        let task_id: u64 = config.get("task.id").and_then(|t| t.parse().ok()).unwrap_or(0);
        let partition = json!({ "task.id": task_id });
        let seed = c.seed.map(|s| s.wrapping_add(task_id));
        let mut generator = Generator::new(c.quickstart, seed);
        if let Some(n) = offsets.offset(&partition).and_then(|o| o.get("current.iteration").and_then(Json::as_u64)) {
            generator.skip_to(n);
        }
        let rng = seed.map_or_else(StdRng::from_entropy, |s| StdRng::seed_from_u64(s ^ 0x5eed));
        self.state = Some(TaskState { config: c, generator, rng, partition, next_due: Instant::now() });
        Ok(())
    }

    /// The records whose (random) time has come, at most 1000.
    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(s) = &mut self.state else {
            return Err(Error::Config("the datagen task was not started".into()));
        };
        let mut out = Vec::new();
        let now = Instant::now();
        while out.len() < MAX_BATCH && s.next_due <= now && s.config.iterations.is_none_or(|n| s.generator.iteration() < n) {
            out.push(s.record()?);
            let max = u64::try_from(s.config.max_interval.as_millis()).unwrap_or(u64::MAX);
            s.next_due += Duration::from_millis(if max == 0 { 0 } else { s.rng.gen_range(0..=max) });
        }
        // After an idle spell, do not burst to catch up.
        if s.next_due < now {
            s.next_due = now;
        }
        Ok(out)
    }
}

impl TaskState {
    fn record(&mut self) -> Result<SourceRecord> {
        let q = self.generator.quickstart();
        let fields = self.generator.next_fields();
        let schema = q.value_schema();
        let mut values = Vec::with_capacity(fields.len());
        for (f, (name, v)) in schema.fields.iter().zip(&fields) {
            values.push(from_json(name, v, &f.schema)?);
        }
        let key_index = schema.fields.iter().position(|f| f.name == q.key_field());
        let key = match key_index {
            Some(i) => SchemaAndValue { schema: Some(schema.fields[i].schema.clone()), value: values[i].clone() },
            None => SchemaAndValue::null(),
        };
        let value = SchemaAndValue { schema: Some(schema.clone()), value: Value::Struct(Struct { schema, values }) };
        Ok(SourceRecord {
            source_partition: self.partition.clone(),
            source_offset: json!({ "current.iteration": self.generator.iteration() }),
            record: ConnectRecord::new(self.config.topic.clone(), key, value),
        })
    }
}

/// A generated JSON field as a value of `schema`.
fn from_json(name: &str, v: &Json, schema: &Schema) -> Result<Value> {
    let bad = || Error::Data(format!("datagen field {name}: {v} is not a {}", schema.schema_type.name()));
    Ok(match schema.schema_type {
        SchemaType::Int32 => Value::Int32(v.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(bad)?),
        SchemaType::Int64 => Value::Int64(v.as_i64().ok_or_else(bad)?),
        SchemaType::Float64 => Value::Float64(v.as_f64().ok_or_else(bad)?),
        SchemaType::String => Value::String(v.as_str().ok_or_else(bad)?.to_owned()),
        SchemaType::Struct => {
            let obj = v.as_object().ok_or_else(bad)?;
            let values = schema.fields.iter().map(|f| from_json(&f.name, obj.get(&f.name).unwrap_or(&Json::Null), &f.schema)).collect::<Result<_>>()?;
            Value::Struct(Struct { schema: schema.clone(), values })
        }
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoOffsets;
    impl OffsetReader for NoOffsets {
        fn offset(&self, _: &Json) -> Option<Json> {
            None
        }
    }

    fn config(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn every_quickstart_fits_its_schema_and_keys_by_its_key_field() {
        for q in Quickstart::ALL {
            let mut t = DatagenTask::default();
            t.start(&config(&[("kafka.topic", "t"), ("quickstart", q.root()), ("max.interval", "0"), ("iterations", "3"), ("random.seed", "1")]), &NoOffsets).unwrap();
            let records = t.poll().unwrap();
            assert_eq!(records.len(), 3, "{q:?}: iterations bounds the records");
            let r = &records[2].record;
            let Value::Struct(s) = &r.value.value else { panic!("{q:?}: a struct value") };
            assert_eq!(s.get(q.key_field()), Some(&r.key.value), "{q:?}");
            assert_eq!(records[2].source_offset, json!({"current.iteration": 3}));
            assert!(t.poll().unwrap().is_empty(), "{q:?}: no more after iterations");
        }
    }

    #[test]
    fn bad_configs_are_rejected() {
        let e = DatagenConfig::parse(&config(&[("kafka.topic", "t"), ("quickstart", "stocks")])).unwrap_err().to_string();
        assert!(e.starts_with("Invalid value stocks for configuration quickstart: unknown quickstart"), "{e}");
        let e = DatagenConfig::parse(&config(&[("quickstart", "users")])).unwrap_err().to_string();
        assert!(e.contains("\"kafka.topic\""), "{e}");
    }
}
