//! `FileStreamSource` and `FileStreamSink`, Kafka's example connectors, with Kafka's config
//! names: the source reads the lines of `file` into `topic` (`batch.size` lines per poll at most,
//! default 2000), resuming at the byte position stored as `{"position": N}` under the source
//! partition `{"filename": FILE}`; the sink appends each value of `topics` as a line of `file`.
//! Unlike Kafka, `file` is required (Kafka falls back to stdin / stdout).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

use serde_json::json;

use crate::config::{non_empty_string, Config, ConfigDef, ConfigType, Importance};
use crate::connector::{ConnectRecord, ConnectorBase, ExactlyOnceSupport, OffsetReader, SinkConnector, SinkRecord, SinkTask, SourceConnector, SourceRecord, SourceTask};
use crate::data::{Schema, SchemaAndValue, Value};
use crate::error::{Error, Result};

const DEFAULT_BATCH_SIZE: usize = 2000;

fn required<'a>(config: &'a Config, connector: &str, key: &str) -> Result<&'a str> {
    match config.get(key).map(|v| v.trim()) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Error::Config(format!("Missing required configuration \"{key}\" for {connector}"))),
    }
}

/// The `topic` validator of the source: exactly one topic.
fn single_topic(v: &str) -> std::result::Result<(), String> {
    let n = v.split(',').filter(|t| !t.trim().is_empty()).count();
    if n == 1 {
        Ok(())
    } else {
        Err("'topic' in FileStreamSourceConnector configuration requires definition of a single topic".into())
    }
}

/// `org.apache.kafka.connect.file.FileStreamSourceConnector`.
#[derive(Debug, Default)]
pub struct FileStreamSourceConnector {
    config: Config,
}

impl ConnectorBase for FileStreamSourceConnector {
    fn start(&mut self, config: &Config) -> Result<()> {
        required(config, "FileStreamSourceConnector", "file")?;
        let topic = required(config, "FileStreamSourceConnector", "topic")?;
        if topic.contains(',') {
            return Err(Error::Config("'topic' in FileStreamSourceConnector configuration requires definition of a single topic".into()));
        }
        if let Some(b) = config.get("batch.size") {
            if !b.trim().parse::<usize>().is_ok_and(|n| n > 0) {
                return Err(Error::Config(format!("Invalid value {b} for configuration batch.size: expected a positive integer")));
            }
        }
        self.config = config.clone();
        Ok(())
    }

    /// One task: a file is read by one reader.
    fn task_configs(&self, _max_tasks: usize) -> Vec<Config> {
        vec![self.config.clone()]
    }

    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define("file", ConfigType::String, None, Importance::High, "Source filename (Brook requires it; Kafka reads stdin without it).")
            .validated(non_empty_string)
            .define("topic", ConfigType::List, None, Importance::High, "The topic to publish data to")
            .validated(single_topic)
            .define("batch.size", ConfigType::Int, Some("2000"), Importance::Low, "The maximum number of records the source task can read from the file each time it is polled")
            .validated(crate::config::at_least_one)
    }
}

impl SourceConnector for FileStreamSourceConnector {
    fn task(&self) -> Box<dyn SourceTask> {
        Box::<FileStreamSourceTask>::default()
    }

    /// Exactly-once when reading a file (its offsets are byte positions, as Kafka's: supported
    /// as long as the file is only appended to).
    fn exactly_once_support(&self, config: &Config) -> Option<ExactlyOnceSupport> {
        Some(if config.get("file").is_some_and(|f| !f.trim().is_empty()) { ExactlyOnceSupport::Supported } else { ExactlyOnceSupport::Unsupported })
    }
}

/// The task of [`FileStreamSourceConnector`].
#[derive(Debug, Default)]
pub struct FileStreamSourceTask {
    file: String,
    topic: String,
    batch_size: usize,
    reader: Option<File>,
    /// Bytes read after the last complete line.
    pending: Vec<u8>,
    /// The byte position just after the last line handed out.
    position: u64,
}

impl FileStreamSourceTask {
    fn partition(&self) -> serde_json::Value {
        json!({ "filename": self.file })
    }

    /// Opens the file at the stored position; `Ok(false)` while it does not exist yet.
    fn open(&mut self) -> Result<bool> {
        let mut f = match File::open(&self.file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io(&self.file, e)),
        };
        f.seek(SeekFrom::Start(self.position)).map_err(|e| Error::io(&self.file, e))?;
        tracing::debug!(file = %self.file, position = self.position, "FileStreamSource opened its file");
        self.reader = Some(f);
        Ok(true)
    }
}

impl SourceTask for FileStreamSourceTask {
    fn start(&mut self, config: &Config, offsets: &dyn OffsetReader) -> Result<()> {
        self.file = required(config, "FileStreamSourceTask", "file")?.to_owned();
        self.topic = required(config, "FileStreamSourceTask", "topic")?.to_owned();
        self.batch_size = config.get("batch.size").and_then(|b| b.trim().parse().ok()).unwrap_or(DEFAULT_BATCH_SIZE);
        self.position = match offsets.offset(&self.partition()) {
            None => 0,
            Some(o) => o
                .get("position")
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| Error::Config(format!("Offset position is the incorrect type: {o}")))?,
        };
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if self.reader.is_none() && !self.open()? {
            return Ok(Vec::new());
        }
        let mut records = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            // Complete lines first, up to batch.size.
            while records.len() < self.batch_size {
                let Some(end) = self.pending.iter().position(|&b| b == b'\n' || b == b'\r') else { break };
                // "\r\n" counts as one terminator; a lone "\r" at the end of what was read may
                // still be followed by "\n": wait for more bytes.
                let term = if self.pending[end] == b'\r' {
                    match self.pending.get(end + 1) {
                        Some(b'\n') => 2,
                        Some(_) => 1,
                        None => break,
                    }
                } else {
                    1
                };
                let line: Vec<u8> = self.pending.drain(..end + term).take(end).collect();
                self.position += (end + term) as u64;
                let text = String::from_utf8_lossy(&line).into_owned();
                records.push(SourceRecord {
                    source_partition: self.partition(),
                    source_offset: json!({ "position": self.position }),
                    record: ConnectRecord {
                        topic: self.topic.clone(),
                        partition: None,
                        key: SchemaAndValue::null(),
                        value: SchemaAndValue { schema: Some(Schema::string()), value: Value::String(text) },
                        timestamp: None,
                        headers: Vec::new(),
                    },
                });
            }
            if records.len() >= self.batch_size {
                return Ok(records);
            }
            let Some(reader) = self.reader.as_mut() else { return Ok(records) };
            let n = reader.read(&mut buf).map_err(|e| Error::io(&self.file, e))?;
            if n == 0 {
                return Ok(records);
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    fn stop(&mut self) {
        self.reader = None;
    }
}

/// `org.apache.kafka.connect.file.FileStreamSinkConnector`.
#[derive(Debug, Default)]
pub struct FileStreamSinkConnector {
    config: Config,
}

impl ConnectorBase for FileStreamSinkConnector {
    fn start(&mut self, config: &Config) -> Result<()> {
        required(config, "FileStreamSinkConnector", "file")?;
        self.config = config.clone();
        Ok(())
    }

    /// One task: a file is written by one writer.
    fn task_configs(&self, _max_tasks: usize) -> Vec<Config> {
        vec![self.config.clone()]
    }

    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define("file", ConfigType::String, None, Importance::High, "Destination filename (Brook requires it; Kafka writes stdout without it).")
            .validated(non_empty_string)
    }
}

impl SinkConnector for FileStreamSinkConnector {
    fn task(&self) -> Box<dyn SinkTask> {
        Box::<FileStreamSinkTask>::default()
    }
}

/// The task of [`FileStreamSinkConnector`].
#[derive(Debug, Default)]
pub struct FileStreamSinkTask {
    file: String,
    out: Option<BufWriter<File>>,
}

impl SinkTask for FileStreamSinkTask {
    fn start(&mut self, config: &Config) -> Result<()> {
        self.file = required(config, "FileStreamSinkTask", "file")?.to_owned();
        let f = OpenOptions::new().create(true).append(true).open(&self.file).map_err(|e| Error::io(&self.file, e))?;
        self.out = Some(BufWriter::new(f));
        Ok(())
    }

    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        let out = self.out.as_mut().ok_or_else(|| Error::Config("FileStreamSinkTask: put before start".into()))?;
        for r in records {
            writeln!(out, "{}", r.record.value.value).map_err(|e| Error::io(&self.file, e))?;
        }
        Ok(())
    }

    fn flush(&mut self, _offsets: &BTreeMap<brook_common::TopicPartition, i64>) -> Result<()> {
        if let Some(out) = self.out.as_mut() {
            out.flush().map_err(|e| Error::io(&self.file, e))?;
        }
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut out) = self.out.take() {
            if let Err(e) = out.flush() {
                tracing::warn!(file = %self.file, error = %e, "FileStreamSink could not flush on stop");
            }
        }
    }
}
