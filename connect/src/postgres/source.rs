//! `io.confluent.connect.jdbc.JdbcSourceConnector` for PostgreSQL: the rows of each table of
//! `table.whitelist` (topic `topic.prefix` + table) or of `query` (topic `topic.prefix`) as
//! records with a struct value (a field per column, [`super::types`]) and no key, every
//! `poll.interval.ms`:
//!
//! - `mode=bulk`: the whole table each time;
//! - `incrementing`: rows whose `incrementing.column.name` is above the last one seen (new rows
//!   of a table with a strictly increasing id);
//! - `timestamp`: rows whose `timestamp.column.name` is after the last one seen and before now
//!   minus `timestamp.delay.interval.ms` (new and updated rows);
//! - `timestamp+incrementing`: both: rows after (timestamp, id), in that order, so rows sharing
//!   a timestamp are neither lost nor repeated.
//!
//! The source partition is `{"table": NAME}` or `{"query": QUERY}`, the offset Confluent's keys:
//! `{"incrementing": ID}` and/or `{"timestamp": MS, "timestamp_nanos": NS}`; a restarted task
//! resumes after the stored offset. At most `batch.max.rows` rows (default 100) come per query
//! in the incrementing modes; a full batch is followed at once by the next one.

use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use super::types::{column_schema, decode, decode_as, timestamp_micros, NumericMapping, Raw};
use super::{check_one_of, connection_def, list, number, pg_err, quote_ident, quote_table, ConnectionSettings, PgConn};
use crate::config::{Config, ConfigDef, ConfigType, Importance};
use crate::connector::{ConnectRecord, ConnectorBase, OffsetReader, SourceConnector, SourceRecord, SourceTask};
use crate::data::{Schema, SchemaAndValue, Struct, Value};
use crate::error::{Error, Result};

const MODES: [&str; 4] = ["bulk", "incrementing", "timestamp", "timestamp+incrementing"];

/// The source's settings, checked when the connector starts.
#[derive(Debug, Clone)]
struct SourceConfig {
    connection: ConnectionSettings,
    mode: String,
    incrementing: Option<String>,
    timestamps: Vec<String>,
    query: Option<String>,
    tables: Vec<String>,
    prefix: String,
    interval: Duration,
    batch_max_rows: usize,
    delay_ms: i64,
    /// `timestamp.initial`: the first timestamp read (ms), -1 for now. Default: the epoch.
    initial_ms: Option<i64>,
    /// `connection.attempts`: polls in a row that may fail on the connection. Default: 3.
    attempts: u32,
    /// `connection.backoff.ms`: the wait after such a failure. Default: 10000.
    backoff: Duration,
    /// `numeric.mapping`: how NUMERIC(p, s) columns are read. Default: none (Decimal).
    numeric: NumericMapping,
}

impl SourceConfig {
    fn parse(config: &Config) -> Result<SourceConfig> {
        let mode = config.get("mode").map(|m| m.trim().to_ascii_lowercase()).filter(|m| !m.is_empty());
        let mode = mode.ok_or_else(|| Error::Config(format!("Missing required configuration \"mode\" which has no default value (one of: {})", MODES.join(", "))))?;
        if !MODES.contains(&mode.as_str()) {
            return Err(Error::Config(format!("Invalid value {mode} for configuration mode: String must be one of: {}", MODES.join(", "))));
        }
        let mut tables = list(config, "table.whitelist");
        tables.extend(list(config, "table.include.list"));
        let c = SourceConfig {
            connection: ConnectionSettings::from_config(config)?,
            incrementing: config.get("incrementing.column.name").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
            timestamps: list(config, "timestamp.column.name"),
            query: config.get("query").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
            tables,
            prefix: config.get("topic.prefix").map(|s| s.trim().to_owned()).unwrap_or_default(),
            interval: Duration::from_millis(number(config, "poll.interval.ms", 5000u64)?),
            batch_max_rows: number(config, "batch.max.rows", 100usize)?.max(1),
            delay_ms: number(config, "timestamp.delay.interval.ms", 0i64)?,
            attempts: number(config, "connection.attempts", 3u32)?.max(1),
            backoff: Duration::from_millis(number(config, "connection.backoff.ms", 10_000u64)?),
            numeric: NumericMapping::from_config(config)?,
            initial_ms: config.get("timestamp.initial").filter(|s| !s.trim().is_empty()).map(|_| number(config, "timestamp.initial", 0i64)).transpose()?,
            mode,
        };
        if config.get("topic.prefix").is_none() {
            return Err(Error::Config("Missing required configuration \"topic.prefix\" which has no default value.".into()));
        }
        match (&c.query, c.tables.is_empty()) {
            (Some(_), false) => return Err(Error::Config("Do not specify table filtering (table.whitelist) when using the query mode".into())),
            (None, true) => return Err(Error::Config("Set either query or table.whitelist: Brook's JDBC source does not read every table of the database".into())),
            (Some(_), true) if c.prefix.is_empty() => return Err(Error::Config("topic.prefix is the topic in the query mode and must not be empty".into())),
            _ => {}
        }
        if c.mode.contains("incrementing") && c.incrementing.is_none() {
            return Err(Error::Config(format!("Mode {} requires incrementing.column.name", c.mode)));
        }
        if c.mode.contains("timestamp") && c.timestamps.is_empty() {
            return Err(Error::Config(format!("Mode {} requires timestamp.column.name", c.mode)));
        }
        Ok(c)
    }
}

/// `io.confluent.connect.jdbc.JdbcSourceConnector`: PostgreSQL rows into topics.
#[derive(Debug, Default)]
pub struct JdbcSourceConnector {
    config: Config,
    parsed: Option<SourceConfig>,
}

impl ConnectorBase for JdbcSourceConnector {
    fn start(&mut self, config: &Config) -> Result<()> {
        self.parsed = Some(SourceConfig::parse(config)?);
        self.config = config.clone();
        Ok(())
    }

    /// The query mode: one task; otherwise the tables spread over at most `max_tasks` tasks,
    /// each with its share in `tables`.
    fn task_configs(&self, max_tasks: usize) -> Vec<Config> {
        let Some(parsed) = &self.parsed else { return Vec::new() };
        if parsed.query.is_some() {
            return vec![self.config.clone()];
        }
        let n = max_tasks.clamp(1, parsed.tables.len().max(1));
        let mut groups = vec![Vec::new(); n];
        for (i, t) in parsed.tables.iter().enumerate() {
            groups[i % n].push(t.clone());
        }
        groups
            .into_iter()
            .map(|g| {
                let mut c = self.config.clone();
                c.remove("table.include.list");
                c.insert("table.whitelist".into(), g.join(","));
                c
            })
            .collect()
    }

    fn config_def(&self) -> ConfigDef {
        connection_def()
            .define("mode", ConfigType::String, None, Importance::High, "How rows are found: bulk, incrementing, timestamp or timestamp+incrementing.")
            .validated(|v| check_one_of(v, &MODES))
            .in_group("Mode", 1)
            .define("incrementing.column.name", ConfigType::String, Some(""), Importance::Medium, "The strictly increasing column of the incrementing modes.")
            .in_group("Mode", 2)
            .define("timestamp.column.name", ConfigType::List, Some(""), Importance::Medium, "The timestamp column(s) of the timestamp modes (the first non-null one).")
            .in_group("Mode", 3)
            .define("table.whitelist", ConfigType::List, Some(""), Importance::Medium, "The tables to read (schema.table or table).")
            .in_group("Database", 4)
            .define("query", ConfigType::String, Some(""), Importance::Medium, "A query whose rows are read instead of tables.")
            .in_group("Mode", 4)
            .define("topic.prefix", ConfigType::String, None, Importance::High, "Prefix of the tables' topic names; the topic itself with query.")
            .in_group("Connector", 1)
            .define("poll.interval.ms", ConfigType::Int, Some("5000"), Importance::High, "How often each table is queried for new rows.")
            .in_group("Connector", 2)
            .define("batch.max.rows", ConfigType::Int, Some("100"), Importance::Low, "Rows per query at most in the incrementing modes.")
            .validated(crate::config::at_least_one)
            .in_group("Connector", 3)
            .define("timestamp.delay.interval.ms", ConfigType::Long, Some("0"), Importance::High, "How long after its timestamp a row is read.")
            .in_group("Connector", 4)
            .define("connection.attempts", ConfigType::Int, Some("3"), Importance::Low, "Polls in a row that may fail on the connection before the task fails.")
            .in_group("Database", 5)
            .define("connection.backoff.ms", ConfigType::Long, Some("10000"), Importance::Low, "The wait after a poll failed on the connection.")
            .in_group("Database", 6)
            .define("timestamp.initial", ConfigType::Long, None, Importance::Low, "The first timestamp read (ms since the epoch; -1: now). Default: the epoch.")
            .optional()
            .in_group("Connector", 5)
            .define("numeric.mapping", ConfigType::String, Some("none"), Importance::Low, "How NUMERIC(p, s) columns are read: none (Decimal), precision_only, best_fit or best_fit_eager_double.")
            .validated(|v| check_one_of(v, &NumericMapping::NAMES))
            .in_group("Database", 7)
            .define("numeric.precision.mapping", ConfigType::Boolean, Some("false"), Importance::Low, "Deprecated: true is numeric.mapping=precision_only.")
            .in_group("Database", 8)
    }
}

impl SourceConnector for JdbcSourceConnector {
    fn task(&self) -> Box<dyn SourceTask> {
        Box::<JdbcSourceTask>::default()
    }
}

/// One table or the query, with where it got to.
#[derive(Debug, Clone)]
struct Querier {
    /// `{"table": NAME}` or `{"query": QUERY}`.
    partition: Json,
    topic: String,
    /// The rows' relation: a table or `(query) AS brook_query`.
    from: String,
    /// The value schema's name (the table's).
    schema_name: Option<String>,
    incrementing: Option<i64>,
    /// Microseconds since the epoch.
    timestamp: Option<i64>,
    next_poll: Instant,
}

impl Querier {
    fn offset(&self) -> Json {
        let mut o = serde_json::Map::new();
        if let Some(i) = self.incrementing {
            o.insert("incrementing".into(), json!(i));
        }
        if let Some(t) = self.timestamp {
            o.insert("timestamp".into(), json!(t.div_euclid(1000)));
            o.insert("timestamp_nanos".into(), json!(t.rem_euclid(1_000_000) * 1000));
        }
        Json::Object(o)
    }
}

/// The task of [`JdbcSourceConnector`].
#[derive(Debug, Default)]
pub struct JdbcSourceTask {
    config: Option<SourceConfig>,
    conn: Option<PgConn>,
    queriers: Vec<Querier>,
    /// Polls in a row that failed on the connection.
    failures: u32,
}

impl SourceTask for JdbcSourceTask {
    fn start(&mut self, config: &Config, offsets: &dyn OffsetReader) -> Result<()> {
        let c = SourceConfig::parse(config)?;
        let initial = match c.initial_ms {
            Some(-1) => Some(brook_common::now_ms() * 1000),
            Some(ms) => Some(ms * 1000),
            None => Some(0),
        };
        let mut queriers = Vec::new();
        let mut add = |partition: Json, topic: String, from: String, schema_name: Option<String>| {
            let stored = offsets.offset(&partition);
            let stored_inc = stored.as_ref().and_then(|o| o.get("incrementing")).and_then(Json::as_i64);
            let stored_ts = stored.as_ref().and_then(|o| Some(o.get("timestamp")?.as_i64()? * 1000 + o.get("timestamp_nanos").and_then(Json::as_i64).unwrap_or(0) / 1000 % 1000));
            queriers.push(Querier {
                partition,
                topic,
                from,
                schema_name,
                incrementing: c.mode.contains("incrementing").then(|| stored_inc.unwrap_or(-1)),
                timestamp: if c.mode.contains("timestamp") { stored_ts.or(initial) } else { None },
                next_poll: Instant::now(),
            });
        };
        match &c.query {
            Some(q) => add(json!({ "query": q }), c.prefix.clone(), format!("({q}) AS brook_query"), None),
            None => {
                for t in &c.tables {
                    let name = t.rsplit('.').next().unwrap_or(t).to_owned();
                    add(json!({ "table": t }), format!("{}{name}", c.prefix), quote_table(t), Some(name));
                }
            }
        }
        self.conn = Some(PgConn::connect(&c.connection)?);
        self.queriers = queriers;
        self.config = Some(c);
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let (Some(config), Some(conn)) = (&self.config, &self.conn) else {
            return Err(Error::Config("the JDBC source task was not started".into()));
        };
        let now = Instant::now();
        let Some(i) = self.queriers.iter().position(|q| q.next_poll <= now) else {
            return Ok(Vec::new());
        };
        let q = self.queriers[i].clone();
        let c = config.clone();
        let (records, after) = match conn.run(move |client| query(client, &c, q)) {
            Err(Error::Retriable(e)) if self.failures + 1 < config.attempts => {
                self.failures += 1;
                tracing::warn!(error = %e, attempt = self.failures, of = config.attempts, "JDBC source query failed; retrying");
                self.queriers[i].next_poll = Instant::now() + config.backoff;
                return Ok(Vec::new());
            }
            r => r?,
        };
        self.failures = 0;
        let full = records.len() >= config.batch_max_rows && config.mode != "bulk" && config.mode != "timestamp";
        let q = &mut self.queriers[i];
        *q = after;
        q.next_poll = if full { Instant::now() } else { Instant::now() + config.interval };
        Ok(records)
    }

    fn stop(&mut self) {
        self.conn.take();
    }
}

/// The SQL of one poll of `q` and its parameters' order: `$1` the last timestamp (µs), `$2`
/// the delay (ms), `$3` the last id.
fn sql(c: &SourceConfig, q: &Querier) -> String {
    let inc = c.incrementing.as_deref().map(quote_ident).unwrap_or_default();
    let ts = match c.timestamps.as_slice() {
        [one] => quote_ident(one),
        many => format!("COALESCE({})", many.iter().map(|t| quote_ident(t)).collect::<Vec<_>>().join(", ")),
    };
    let last_ts = "(TIMESTAMP 'epoch' + $1::int8 * INTERVAL '1 microsecond')";
    let before = format!("{ts} < CURRENT_TIMESTAMP - $2::int8 * INTERVAL '1 millisecond'");
    let from = &q.from;
    let limit = c.batch_max_rows;
    match c.mode.as_str() {
        "incrementing" => format!("SELECT * FROM {from} WHERE {inc} > $1::int8 ORDER BY {inc} ASC LIMIT {limit}"),
        "timestamp" => format!("SELECT * FROM {from} WHERE {ts} > {last_ts} AND {before} ORDER BY {ts} ASC"),
        "timestamp+incrementing" => {
            format!("SELECT * FROM {from} WHERE {before} AND (({ts} = {last_ts} AND {inc} > $3::int8) OR {ts} > {last_ts}) ORDER BY {ts} ASC, {inc} ASC LIMIT {limit}")
        }
        _ => format!("SELECT * FROM {from}"),
    }
}

/// Runs one poll of `q`: its records, and `q` moved past them.
fn query(client: &mut postgres::Client, c: &SourceConfig, mut q: Querier) -> Result<(Vec<SourceRecord>, Querier)> {
    let text = sql(c, &q);
    let stmt = client.prepare(&text).map_err(|e| match pg_err(e) {
        Error::Database(m) => Error::Database(format!("{m} (in: {text})")),
        other => other,
    })?;
    let columns = stmt.columns();
    // NOT NULL columns of tables give required fields, as Confluent's source.
    let mut fields = Vec::new();
    for (i, col) in columns.iter().enumerate() {
        let not_null = match (col.table_oid(), col.column_id()) {
            (Some(oid), Some(attnum)) => client
                .query_opt("SELECT attnotnull FROM pg_attribute WHERE attrelid = $1 AND attnum = $2", &[&oid, &attnum])
                .map_err(pg_err)?
                .is_some_and(|r| r.get::<_, bool>(0)),
            _ => false,
        };
        match column_schema(col.type_(), col.type_modifier(), not_null, c.numeric) {
            Some(s) => fields.push((i, col.name().to_owned(), s)),
            None => tracing::warn!(column = col.name(), r#type = %col.type_(), "column skipped: its type is not read by the JDBC source"),
        }
    }
    let mut schema = Schema::structure(fields.iter().map(|(_, n, s)| (n.clone(), s.clone())));
    schema.name.clone_from(&q.schema_name);
    let find = |name: &str| columns.iter().position(|c| c.name() == name);
    let inc_col = c.incrementing.as_deref().map(|n| find(n).ok_or_else(|| Error::Config(format!("incrementing.column.name {n:?} is not a column of {}", q.from)))).transpose()?;
    let ts_cols: Vec<usize> =
        c.timestamps.iter().map(|n| find(n).ok_or_else(|| Error::Config(format!("timestamp.column.name {n:?} is not a column of {}", q.from)))).collect::<Result<_>>()?;
    for &t in &ts_cols {
        if !matches!(*columns[t].type_(), postgres::types::Type::TIMESTAMP | postgres::types::Type::TIMESTAMPTZ) {
            return Err(Error::Config(format!("timestamp.column.name {:?} is of type {}, not a timestamp", columns[t].name(), columns[t].type_())));
        }
    }
    let last_ts = q.timestamp.unwrap_or(0);
    let last_inc = q.incrementing.unwrap_or(-1);
    let rows = match c.mode.as_str() {
        "incrementing" => client.query(&stmt, &[&last_inc]),
        "timestamp" => client.query(&stmt, &[&last_ts, &c.delay_ms]),
        "timestamp+incrementing" => client.query(&stmt, &[&last_ts, &c.delay_ms, &last_inc]),
        _ => client.query(&stmt, &[]),
    }
    .map_err(pg_err)?;
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        let raw = |i: usize| row.try_get::<_, Option<Raw>>(i).map_err(pg_err);
        let mut values = Vec::with_capacity(fields.len());
        for (i, name, field_schema) in &fields {
            values.push(match raw(*i)? {
                Some(Raw(bytes)) => decode_as(columns[*i].type_(), &bytes, field_schema).map_err(|e| Error::Data(format!("column {name}: {e}")))?,
                None => Value::Null,
            });
        }
        if let Some(i) = inc_col {
            let id = match raw(i)?.map(|Raw(b)| decode(columns[i].type_(), &b)).transpose()? {
                Some(Value::Int16(v)) => i64::from(v),
                Some(Value::Int32(v)) => i64::from(v),
                Some(Value::Int64(v)) => v,
                Some(Value::Float64(v)) => v as i64,
                other => return Err(Error::Data(format!("incrementing.column.name {:?} must be a non-null integer, found {other:?}", columns[i].name()))),
            };
            q.incrementing = Some(id);
        }
        for &t in &ts_cols {
            if let Some(Raw(b)) = raw(t)? {
                q.timestamp = Some(timestamp_micros(columns[t].type_(), &b)?);
                break;
            }
        }
        let value = Value::Struct(Struct { schema: schema.clone(), values });
        records.push(SourceRecord {
            source_partition: q.partition.clone(),
            source_offset: q.offset(),
            record: ConnectRecord::new(q.topic.clone(), SchemaAndValue::null(), SchemaAndValue { schema: Some(schema.clone()), value }),
        });
    }
    Ok((records, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<SourceConfig> {
        let mut c: Config = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        c.insert("connection.url".into(), "jdbc:postgresql://localhost:5432/db".into());
        SourceConfig::parse(&c)
    }

    #[test]
    fn modes_need_their_columns_and_a_table_or_query() {
        let e = config(&[("mode", "incrementing"), ("table.whitelist", "t"), ("topic.prefix", "pg-")]).unwrap_err().to_string();
        assert_eq!(e, "Mode incrementing requires incrementing.column.name");
        let e = config(&[("mode", "bulk"), ("topic.prefix", "pg-")]).unwrap_err().to_string();
        assert!(e.contains("Set either query or table.whitelist"), "{e}");
        let e = config(&[("mode", "sometimes"), ("table.whitelist", "t"), ("topic.prefix", "pg-")]).unwrap_err().to_string();
        assert!(e.starts_with("Invalid value sometimes for configuration mode"), "{e}");
    }

    #[test]
    fn timestamp_incrementing_reads_after_the_pair_in_order() {
        let c = config(&[("mode", "timestamp+incrementing"), ("table.whitelist", "public.orders"), ("topic.prefix", "pg-"), ("incrementing.column.name", "id"), ("timestamp.column.name", "updated_at")]).unwrap();
        let q = Querier { partition: json!({}), topic: String::new(), from: quote_table("public.orders"), schema_name: None, incrementing: Some(3), timestamp: Some(1_500), next_poll: Instant::now() };
        assert_eq!(
            sql(&c, &q),
            "SELECT * FROM \"public\".\"orders\" WHERE \"updated_at\" < CURRENT_TIMESTAMP - $2::int8 * INTERVAL '1 millisecond' AND ((\"updated_at\" = (TIMESTAMP 'epoch' + $1::int8 * INTERVAL '1 microsecond') AND \"id\" > $3::int8) OR \"updated_at\" > (TIMESTAMP 'epoch' + $1::int8 * INTERVAL '1 microsecond')) ORDER BY \"updated_at\" ASC, \"id\" ASC LIMIT 100"
        );
        assert_eq!(q.offset(), json!({"incrementing": 3, "timestamp": 1, "timestamp_nanos": 1_500_000}), "nanos of the second, as java.sql.Timestamp");
    }
}
