//! `io.confluent.connect.jdbc.JdbcSinkConnector` for PostgreSQL: each record becomes a row of
//! the table `table.name.format` names (`${topic}` replaced by the record's topic).
//!
//! - `insert.mode`: `insert` (INSERT), `upsert` (INSERT ... ON CONFLICT (pk) DO UPDATE) or
//!   `update` (UPDATE ... WHERE pk). Default: insert.
//! - `pk.mode`: where the primary key comes from: `none`, `kafka` (`__connect_topic`,
//!   `__connect_partition`, `__connect_offset`), `record_key` (the key: a primitive as one
//!   column, `__connect_key` by default; a struct's fields), `record_value` (fields of the
//!   value). `pk.fields` names the columns (default: all fields). Default: none.
//! - `delete.enabled`: a tombstone (null value) deletes the row of its key (needs
//!   `pk.mode=record_key`); otherwise tombstones are skipped. Default: false.
//! - `auto.create`: CREATE TABLE with the record's fields (NOT NULL for required fields, the
//!   primary key of `pk.mode`). `auto.evolve`: ALTER TABLE ADD COLUMN for a new optional field.
//!   Default: false for both, as Confluent's.
//! - `batch.size`: records per transaction. Default: 3000.
//!
//! Each `put` writes its records in transactions of at most `batch.size` records, committed
//! before `put` returns: the worker commits Kafka offsets only after that, so a crash re-sends
//! records, and `upsert` keeps the table right (every row once).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use super::types::{infer, param, placeholder, sql_type, Param};
use super::{boolean, check_one_of, connection_def, list, number, one_of, pg_err, quote_ident, quote_table, ConnectionSettings, PgConn};
use crate::config::{Config, ConfigDef, ConfigType, Importance};
use crate::connector::{ConnectorBase, SinkConnector, SinkRecord, SinkTask};
use crate::data::{Schema, SchemaType, Value};
use crate::error::{Error, Result};

const DEFAULT_BATCH_SIZE: usize = 3000;
const KAFKA_PK: [&str; 3] = ["__connect_topic", "__connect_partition", "__connect_offset"];

/// The sink's settings, checked when the connector starts.
#[derive(Debug, Clone)]
struct SinkConfig {
    connection: ConnectionSettings,
    insert_mode: String,
    pk_mode: String,
    pk_fields: Vec<String>,
    delete_enabled: bool,
    auto_create: bool,
    auto_evolve: bool,
    table_format: String,
    batch_size: usize,
    max_retries: u32,
    retry_backoff: std::time::Duration,
}

impl SinkConfig {
    fn parse(config: &Config) -> Result<SinkConfig> {
        let c = SinkConfig {
            connection: ConnectionSettings::from_config(config)?,
            insert_mode: one_of(config, "insert.mode", &["insert", "upsert", "update"], "insert")?,
            pk_mode: one_of(config, "pk.mode", &["none", "kafka", "record_key", "record_value"], "none")?,
            pk_fields: list(config, "pk.fields"),
            delete_enabled: boolean(config, "delete.enabled", false)?,
            auto_create: boolean(config, "auto.create", false)?,
            auto_evolve: boolean(config, "auto.evolve", false)?,
            table_format: config.get("table.name.format").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).unwrap_or_else(|| "${topic}".into()),
            batch_size: number(config, "batch.size", DEFAULT_BATCH_SIZE)?,
            max_retries: number(config, "max.retries", 10)?,
            retry_backoff: std::time::Duration::from_millis(number(config, "retry.backoff.ms", 3000)?),
        };
        if c.batch_size == 0 {
            return Err(Error::Config("Invalid value 0 for configuration batch.size: Value must be at least 1".into()));
        }
        if c.delete_enabled && c.pk_mode != "record_key" {
            return Err(Error::Config("Primary key mode must be 'record_key' when delete support is enabled".into()));
        }
        if c.insert_mode != "insert" && c.pk_mode == "none" {
            return Err(Error::Config(format!("Write mode '{}' requires a primary key: set pk.mode to kafka, record_key or record_value", c.insert_mode)));
        }
        if c.pk_mode == "kafka" && !c.pk_fields.is_empty() && c.pk_fields.len() != 3 {
            return Err(Error::Config(format!("PK mode for table is kafka so pk.fields must name 3 columns (topic, partition, offset), not {:?}", c.pk_fields)));
        }
        if c.pk_mode == "none" && !c.pk_fields.is_empty() {
            return Err(Error::Config("pk.fields is set but pk.mode is none".into()));
        }
        Ok(c)
    }
}

/// `io.confluent.connect.jdbc.JdbcSinkConnector`: records into PostgreSQL tables.
#[derive(Debug, Default)]
pub struct JdbcSinkConnector {
    config: Config,
}

impl ConnectorBase for JdbcSinkConnector {
    fn start(&mut self, config: &Config) -> Result<()> {
        SinkConfig::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    /// `max_tasks` copies: the worker spreads the topics' partitions over them.
    fn task_configs(&self, max_tasks: usize) -> Vec<Config> {
        vec![self.config.clone(); max_tasks.max(1)]
    }

    fn config_def(&self) -> ConfigDef {
        let w = "Writes";
        connection_def()
            .define("insert.mode", ConfigType::String, Some("insert"), Importance::High, "The insertion mode: insert, upsert (INSERT .. ON CONFLICT DO UPDATE) or update.")
            .validated(|v| check_one_of(v, &["insert", "upsert", "update"]))
            .in_group(w, 1)
            .define("batch.size", ConfigType::Int, Some("3000"), Importance::Medium, "Records written in one transaction at most.")
            .validated(crate::config::at_least_one)
            .in_group(w, 2)
            .define("max.retries", ConfigType::Int, Some("10"), Importance::Medium, "Retries of a write whose connection failed.")
            .in_group("Retries", 1)
            .define("retry.backoff.ms", ConfigType::Int, Some("3000"), Importance::Medium, "The wait before each retry.")
            .in_group("Retries", 2)
            .define("delete.enabled", ConfigType::Boolean, Some("false"), Importance::Medium, "Whether a tombstone deletes its key's row; needs pk.mode=record_key.")
            .in_group(w, 3)
            .define("table.name.format", ConfigType::String, Some("${topic}"), Importance::Medium, "The destination table; ${topic} is the record's topic.")
            .in_group("Data Mapping", 1)
            .define("pk.mode", ConfigType::String, Some("none"), Importance::High, "Where the primary key comes from: none, kafka, record_key or record_value.")
            .validated(|v| check_one_of(v, &["none", "kafka", "record_key", "record_value"]))
            .in_group("Data Mapping", 2)
            .define("pk.fields", ConfigType::List, Some(""), Importance::Medium, "The primary key's fields (pk.mode's defaults without it).")
            .in_group("Data Mapping", 3)
            .define("auto.create", ConfigType::Boolean, Some("false"), Importance::Medium, "Whether to CREATE TABLE a missing table from the record's schema.")
            .in_group("DDL Support", 1)
            .define("auto.evolve", ConfigType::Boolean, Some("false"), Importance::Medium, "Whether to ADD COLUMN a new optional field.")
            .in_group("DDL Support", 2)
    }
}

impl SinkConnector for JdbcSinkConnector {
    fn task(&self) -> Box<dyn SinkTask> {
        Box::<JdbcSinkTask>::default()
    }
}

/// The columns of a table as the database has them.
#[derive(Debug, Clone)]
struct TableColumns {
    names: Vec<String>,
}

/// The task of [`JdbcSinkConnector`].
#[derive(Debug, Default)]
pub struct JdbcSinkTask {
    config: Option<SinkConfig>,
    conn: Option<PgConn>,
    /// Tables seen so far (their columns), shared with the connection thread.
    tables: Arc<Mutex<HashMap<String, TableColumns>>>,
}

/// One field of a row to write.
#[derive(Debug, Clone)]
struct Col {
    name: String,
    schema: Schema,
    value: Value,
}

/// One record as a statement: the table, the primary-key columns, the other columns.
#[derive(Debug)]
struct Op {
    table: String,
    pk: Vec<Col>,
    cols: Vec<Col>,
    delete: bool,
}

/// The fields of a struct or schemaless map value, in order.
fn fields_of(what: &str, value: &Value, schema: Option<&Schema>) -> Result<Vec<Col>> {
    match value {
        Value::Struct(s) => Ok(s.schema.fields.iter().zip(&s.values).map(|(f, v)| Col { name: f.name.clone(), schema: f.schema.clone(), value: v.clone() }).collect()),
        Value::Map(entries) if schema.is_none() => Ok(entries
            .iter()
            .map(|(k, v)| Col { name: match k { Value::String(s) => s.clone(), other => other.to_string() }, schema: infer(v), value: v.clone() })
            .collect()),
        other => Err(Error::Data(format!("the JDBC sink needs a struct {what} (or a schemaless JSON object), not {other}"))),
    }
}

impl SinkConfig {
    fn table(&self, topic: &str) -> String {
        self.table_format.replace("${topic}", topic)
    }

    /// The statement `r` needs, `None` for a tombstone that is skipped.
    fn op(&self, r: &SinkRecord) -> Result<Option<Op>> {
        let rec = &r.record;
        let at = || format!("(topic='{}',partition={},offset={})", rec.topic, rec.partition.unwrap_or(0), r.kafka_offset);
        let tombstone = rec.value.value == Value::Null;
        if tombstone && !self.delete_enabled {
            tracing::debug!(record = %at(), "tombstone skipped (delete.enabled=false)");
            return Ok(None);
        }
        let value_cols = if tombstone { Vec::new() } else { fields_of("value", &rec.value.value, rec.value.schema.as_ref()).map_err(|e| Error::Data(format!("record {}: {e}", at())))? };
        let mut pk = Vec::new();
        match self.pk_mode.as_str() {
            "kafka" => {
                let names: Vec<String> = if self.pk_fields.is_empty() { KAFKA_PK.iter().map(|s| (*s).to_owned()).collect() } else { self.pk_fields.clone() };
                let values = [
                    (Schema::string(), Value::String(rec.topic.clone())),
                    (Schema::of(SchemaType::Int32), Value::Int32(rec.partition.unwrap_or(0))),
                    (Schema::of(SchemaType::Int64), Value::Int64(r.kafka_offset)),
                ];
                pk = names.into_iter().zip(values).map(|(name, (schema, value))| Col { name, schema, value }).collect();
            }
            "record_key" => {
                let key = &rec.key;
                match &key.value {
                    Value::Null => return Err(Error::Data(format!("record {}: pk.mode=record_key needs a key, and the record has none", at()))),
                    Value::Struct(_) | Value::Map(_) => {
                        let fields = fields_of("key", &key.value, key.schema.as_ref())?;
                        pk = pick(fields, &self.pk_fields, "key")?;
                    }
                    primitive => {
                        let name = match self.pk_fields.as_slice() {
                            [] => "__connect_key".to_owned(),
                            [one] => one.clone(),
                            more => return Err(Error::Config(format!("pk.mode=record_key with a primitive key takes one pk.fields name, not {more:?}"))),
                        };
                        let schema = key.schema.clone().unwrap_or_else(|| infer(primitive));
                        pk.push(Col { name, schema, value: primitive.clone() });
                    }
                }
            }
            "record_value" => {
                pk = pick(value_cols.clone(), &self.pk_fields, "value")?;
            }
            _ => {}
        }
        if pk.iter().any(|c| c.value == Value::Null) {
            return Err(Error::Data(format!("record {}: a primary key field is null", at())));
        }
        let cols = value_cols.into_iter().filter(|c| !pk.iter().any(|p| p.name == c.name)).collect();
        Ok(Some(Op { table: self.table(&rec.topic), pk, cols, delete: tombstone }))
    }
}

/// The fields named by `pk.fields` (all of them when it is empty).
fn pick(fields: Vec<Col>, names: &[String], what: &str) -> Result<Vec<Col>> {
    if names.is_empty() {
        return Ok(fields);
    }
    names
        .iter()
        .map(|n| fields.iter().find(|f| &f.name == n).cloned().ok_or_else(|| Error::Data(format!("pk.fields names \"{n}\", which the record's {what} does not have"))))
        .collect()
}

/// The statement and parameters of `op`.
fn statement(op: &Op, mode: &str) -> Result<(String, Vec<Param>)> {
    let table = quote_table(&op.table);
    let mut params = Vec::new();
    let mut slot = |c: &Col| -> Result<String> {
        params.push(param(&c.name, &c.schema, &c.value)?);
        Ok(placeholder(&c.schema, params.len()))
    };
    let sql = if op.delete {
        let cond: Vec<String> = op.pk.iter().map(|c| Ok(format!("{} = {}", quote_ident(&c.name), slot(c)?))).collect::<Result<_>>()?;
        format!("DELETE FROM {table} WHERE {}", cond.join(" AND "))
    } else if mode == "update" {
        let sets: Vec<String> = op.cols.iter().map(|c| Ok(format!("{} = {}", quote_ident(&c.name), slot(c)?))).collect::<Result<_>>()?;
        let cond: Vec<String> = op.pk.iter().map(|c| Ok(format!("{} = {}", quote_ident(&c.name), slot(c)?))).collect::<Result<_>>()?;
        if sets.is_empty() {
            return Ok((String::new(), Vec::new()));
        }
        format!("UPDATE {table} SET {} WHERE {}", sets.join(", "), cond.join(" AND "))
    } else {
        let all: Vec<&Col> = op.pk.iter().chain(&op.cols).collect();
        let names: Vec<String> = all.iter().map(|c| quote_ident(&c.name)).collect();
        let values: Vec<String> = all.iter().map(|c| slot(c)).collect::<Result<_>>()?;
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), values.join(", "));
        if mode == "upsert" {
            let keys: Vec<String> = op.pk.iter().map(|c| quote_ident(&c.name)).collect();
            let sets: Vec<String> = op.cols.iter().map(|c| format!("{0} = EXCLUDED.{0}", quote_ident(&c.name))).collect();
            if sets.is_empty() {
                sql.push_str(&format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", ")));
            } else {
                sql.push_str(&format!(" ON CONFLICT ({}) DO UPDATE SET {}", keys.join(", "), sets.join(", ")));
            }
        }
        sql
    };
    Ok((sql, params))
}

/// The columns of `table` (`schema.table` or a table of the search path), `None` if it does
/// not exist.
fn columns(client: &mut postgres::Client, table: &str) -> Result<Option<TableColumns>> {
    let regclass: Option<String> = client.query_one("SELECT to_regclass($1)::text", &[&quote_table(table)]).map_err(pg_err)?.get(0);
    if regclass.is_none() {
        return Ok(None);
    }
    let rows = client
        .query("SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum", &[&quote_table(table)])
        .map_err(pg_err)?;
    Ok(Some(TableColumns { names: rows.iter().map(|r| r.get(0)).collect() }))
}

/// Makes sure `op.table` exists with every column `op` writes (creating or altering it as
/// `auto.create` / `auto.evolve` allow); false for a delete from a table that does not exist.
fn ensure_table(client: &mut postgres::Client, config: &SinkConfig, tables: &Mutex<HashMap<String, TableColumns>>, op: &Op) -> Result<bool> {
    let all: Vec<&Col> = op.pk.iter().chain(&op.cols).collect();
    if let Some(t) = tables.lock().get(&op.table) {
        if all.iter().all(|c| t.names.contains(&c.name)) {
            return Ok(true);
        }
    }
    let table = quote_table(&op.table);
    let known = match columns(client, &op.table)? {
        Some(t) => t,
        None if op.delete => return Ok(false),
        None if !config.auto_create => return Err(Error::Config(format!("Table \"{}\" is missing and auto-creation is disabled", op.table))),
        None => {
            let mut defs: Vec<String> = Vec::new();
            for c in &all {
                let required = !c.schema.optional || op.pk.iter().any(|p| p.name == c.name);
                defs.push(format!("{} {}{}", quote_ident(&c.name), sql_type(&c.name, &c.schema)?, if required { " NOT NULL" } else { "" }));
            }
            if !op.pk.is_empty() {
                let keys: Vec<String> = op.pk.iter().map(|c| quote_ident(&c.name)).collect();
                defs.push(format!("PRIMARY KEY({})", keys.join(", ")));
            }
            let sql = format!("CREATE TABLE IF NOT EXISTS {table} ({})", defs.join(", "));
            tracing::info!(%sql, "auto.create");
            client.batch_execute(&sql).map_err(pg_err)?;
            columns(client, &op.table)?.ok_or_else(|| Error::Database(format!("table {} was created but cannot be found", op.table)))?
        }
    };
    let missing: Vec<&&Col> = all.iter().filter(|c| !known.names.contains(&c.name)).collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|c| c.name.as_str()).collect();
        if !config.auto_evolve {
            return Err(Error::Config(format!("Table \"{}\" is missing fields ({}) and auto-evolution is disabled", op.table, names.join(", "))));
        }
        let mut adds = Vec::new();
        for c in &missing {
            if !c.schema.optional {
                return Err(Error::Config(format!(
                    "Cannot ALTER TABLE \"{}\" to add missing field \"{}\", as the field is not optional and does not have a default value",
                    op.table, c.name
                )));
            }
            adds.push(format!("ADD COLUMN IF NOT EXISTS {} {}", quote_ident(&c.name), sql_type(&c.name, &c.schema)?));
        }
        let sql = format!("ALTER TABLE {table} {}", adds.join(", "));
        tracing::info!(%sql, "auto.evolve");
        client.batch_execute(&sql).map_err(pg_err)?;
    }
    let refreshed = columns(client, &op.table)?.unwrap_or(known);
    tables.lock().insert(op.table.clone(), refreshed);
    Ok(true)
}

impl SinkTask for JdbcSinkTask {
    fn start(&mut self, config: &Config) -> Result<()> {
        let c = SinkConfig::parse(config)?;
        self.conn = Some(PgConn::connect(&c.connection)?);
        self.config = Some(c);
        Ok(())
    }

    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        let (Some(config), Some(conn)) = (&self.config, &self.conn) else {
            return Err(Error::Config("the JDBC sink task was not started".into()));
        };
        let mut ops = Vec::with_capacity(records.len());
        for r in &records {
            if let Some(op) = config.op(r)? {
                ops.push(op);
            }
        }
        for chunk in chunks(ops, config.batch_size) {
            let chunk = Arc::new(chunk);
            let mut retries = 0;
            // A lost connection is retried `max.retries` times, `retry.backoff.ms` apart (the
            // transaction was rolled back; the next call reconnects), as Confluent's sink does.
            loop {
                match write(conn, config, &self.tables, chunk.clone()) {
                    Err(Error::Retriable(e)) if retries < config.max_retries => {
                        retries += 1;
                        tracing::warn!(error = %e, retry = retries, of = config.max_retries, "JDBC sink write failed; retrying");
                        std::thread::sleep(config.retry_backoff);
                    }
                    r => break r?,
                }
            }
        }
        Ok(())
    }

    /// Every `put` committed its rows already.
    fn flush(&mut self, _offsets: &BTreeMap<brook_common::TopicPartition, i64>) -> Result<()> {
        Ok(())
    }

    fn stop(&mut self) {
        self.conn.take();
    }
}

/// Writes `chunk` in one transaction.
fn write(conn: &PgConn, config: &SinkConfig, tables: &Arc<Mutex<HashMap<String, TableColumns>>>, chunk: Arc<Vec<Op>>) -> Result<()> {
    let config = config.clone();
    let tables = tables.clone();
    conn.run(move |client| {
        let mut exists = Vec::with_capacity(chunk.len());
        for op in chunk.iter() {
            exists.push(ensure_table(client, &config, &tables, op)?);
        }
        let mut tx = client.transaction().map_err(pg_err)?;
        let mut prepared: BTreeMap<String, postgres::Statement> = BTreeMap::new();
        for (op, _) in chunk.iter().zip(&exists).filter(|(_, e)| **e) {
            let (sql, params) = statement(op, &config.insert_mode)?;
            if sql.is_empty() {
                continue;
            }
            let stmt = match prepared.get(&sql) {
                Some(s) => s.clone(),
                None => {
                    let s = tx.prepare(&sql).map_err(pg_err)?;
                    prepared.insert(sql.clone(), s.clone());
                    s
                }
            };
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect();
            tx.execute(&stmt, &refs).map_err(|e| match pg_err(e) {
                Error::Database(m) => Error::Database(format!("{m} (table \"{}\")", op.table)),
                other => other,
            })?;
        }
        tx.commit().map_err(pg_err)
    })
}

fn chunks(ops: Vec<Op>, size: usize) -> Vec<Vec<Op>> {
    let mut out: Vec<Vec<Op>> = Vec::new();
    for op in ops {
        match out.last_mut() {
            Some(last) if last.len() < size => last.push(op),
            _ => out.push(vec![op]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::ConnectRecord;
    use crate::data::{SchemaAndValue, Struct};

    fn config(pairs: &[(&str, &str)]) -> Result<SinkConfig> {
        let mut c: Config = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        c.insert("connection.url".into(), "jdbc:postgresql://localhost:5432/db".into());
        SinkConfig::parse(&c)
    }

    fn record(key: Value, value: Value) -> SinkRecord {
        let schema = match &value {
            Value::Struct(s) => Some(s.schema.clone()),
            _ => None,
        };
        SinkRecord {
            kafka_offset: 4,
            record: ConnectRecord { partition: Some(0), ..ConnectRecord::new("orders", SchemaAndValue { schema: None, value: key }, SchemaAndValue { schema, value }) },
        }
    }

    #[test]
    fn bad_combinations_are_rejected_with_confluents_messages() {
        let e = config(&[("delete.enabled", "true")]).unwrap_err().to_string();
        assert_eq!(e, "Primary key mode must be 'record_key' when delete support is enabled");
        let e = config(&[("insert.mode", "upsert")]).unwrap_err().to_string();
        assert!(e.contains("requires a primary key"), "{e}");
        let e = config(&[("insert.mode", "merge")]).unwrap_err().to_string();
        assert_eq!(e, "Invalid value merge for configuration insert.mode: String must be one of: insert, upsert, update");
    }

    #[test]
    fn validate_reports_errors_per_key() {
        let c: Config = [("insert.mode", "merge"), ("connection.url", "jdbc:mysql://h/db"), ("auto.create", "yes")].iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let errors: Vec<(String, Vec<String>)> = JdbcSinkConnector::default().validate(&c).into_iter().filter(|v| !v.errors.is_empty()).map(|v| (v.name, v.errors)).collect();
        let names: Vec<&str> = errors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["connection.url", "insert.mode", "auto.create"], "{errors:?}");
        assert!(errors[0].1[0].contains("only PostgreSQL is supported"), "{errors:?}");
        assert!(errors[1].1[0].contains("String must be one of: insert, upsert, update"), "{errors:?}");
    }

    #[test]
    fn upserts_by_value_fields_and_deletes_by_key() {
        let c = config(&[("insert.mode", "upsert"), ("pk.mode", "record_value"), ("pk.fields", "id"), ("table.name.format", "kafka_${topic}")]).unwrap();
        let schema = Schema::structure([("id", Schema::of(SchemaType::Int32)), ("name", Schema::optional_string())]);
        let v = Value::Struct(Struct { schema, values: vec![Value::Int32(1), Value::String("a".into())] });
        let op = c.op(&record(Value::Null, v)).unwrap().unwrap();
        let (sql, params) = statement(&op, &c.insert_mode).unwrap();
        assert_eq!(sql, r#"INSERT INTO "kafka_orders" ("id", "name") VALUES ($1::int4, $2::text) ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name""#);
        assert_eq!(params, vec![Param::I32(1), Param::Text("a".into())]);

        let c = config(&[("pk.mode", "record_key"), ("pk.fields", "id"), ("delete.enabled", "true")]).unwrap();
        let op = c.op(&record(Value::Int64(9), Value::Null)).unwrap().unwrap();
        assert_eq!(statement(&op, &c.insert_mode).unwrap().0, r#"DELETE FROM "orders" WHERE "id" = $1::int8"#);
        assert!(config(&[]).unwrap().op(&record(Value::Int64(9), Value::Null)).unwrap().is_none(), "tombstones are skipped without delete.enabled");
    }
}
