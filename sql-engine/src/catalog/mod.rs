//! The metastore: streams, tables, named types and persistent queries, as ksqlDB's
//! `MetaStore` and query registry hold them.
//!
//! Where Brook differs from ksqlDB: the catalog is one in-process value owned by the
//! [`crate::engine::Engine`] (the server persists it by replaying the command topic); query
//! ids come from one counter shared by `CSAS_`, `CTAS_`, `INSERTQUERY_` and `CST_` ids, as ksqlDB's
//! `QueryIdGenerator` does.

mod source;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use self::source::{DataSource, TimestampColumn, WindowInfo, WindowType};
use crate::parser::ast::SourceKind;
use crate::plan::physical::PhysicalPlan;
use crate::{analysis_err, Result, SqlType};

/// What created a persistent query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryKind {
    /// `CREATE STREAM AS SELECT`.
    CreateStreamAs,
    /// `CREATE TABLE AS SELECT`.
    CreateTableAs,
    /// `INSERT INTO ... SELECT`.
    InsertInto,
    /// `CREATE SOURCE TABLE`: materializes the source for pull queries.
    SourceTable,
}

/// ksqlDB's `KsqlQueryStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryState {
    Running,
    Error,
    Terminated,
}

impl QueryState {
    /// ksqlDB's spelling: `RUNNING`, `ERROR`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            QueryState::Running => "RUNNING",
            QueryState::Error => "ERROR",
            QueryState::Terminated => "TERMINATED",
        }
    }
}

/// A persistent query as the catalog knows it (the running instance lives in the engine).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueryInfo {
    pub id: String,
    pub kind: QueryKind,
    /// The sources read, by name.
    pub sources: Vec<String>,
    /// The sink source, by name (`None` only for source-table materializations).
    pub sink: Option<String>,
    pub sink_topic: Option<String>,
    /// The statement as submitted.
    pub statement: String,
    pub plan: PhysicalPlan,
    pub state: QueryState,
}

/// Streams, tables, types and queries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Catalog {
    sources: BTreeMap<String, DataSource>,
    types: BTreeMap<String, SqlType>,
    queries: BTreeMap<String, QueryInfo>,
    next_query: u64,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stream or table called `name`.
    pub fn source(&self, name: &str) -> Option<&DataSource> {
        self.sources.get(name)
    }

    /// Every stream and table, by name.
    pub fn sources(&self) -> impl Iterator<Item = &DataSource> {
        self.sources.values()
    }

    /// Adds `source`; with `replace`, an existing source of the same kind is replaced.
    ///
    /// # Errors
    /// [`crate::Error::Analysis`] when a source of that name exists (ksqlDB's message).
    pub fn add_source(&mut self, source: DataSource, replace: bool) -> Result<()> {
        if let Some(existing) = self.sources.get(&source.name) {
            if !replace || existing.kind != source.kind {
                let what = kind_name(source.kind);
                let existing_kind = kind_name(existing.kind);
                return analysis_err!(
                    "Cannot add {what} '{}': A {existing_kind} with the same name already exists",
                    source.name
                );
            }
        }
        self.sources.insert(source.name.clone(), source);
        Ok(())
    }

    /// Removes a source; fails while queries read or write it (ksqlDB's message).
    ///
    /// # Errors
    /// [`crate::Error::Analysis`] for a missing source or one in use.
    pub fn drop_source(&mut self, name: &str, kind: SourceKind) -> Result<DataSource> {
        let Some(existing) = self.sources.get(name) else {
            return analysis_err!("Source {name} does not exist.");
        };
        if existing.kind != kind {
            let (want, is) = (kind_name(kind), kind_name(existing.kind));
            return analysis_err!("Incompatible data source type is {}, but statement was DROP {}", is.to_uppercase(), want.to_uppercase());
        }
        // A source table's own materialization (`CST_`) goes with it.
        let readers: Vec<String> = self.queries_reading(name).into_iter().filter(|id| self.queries.get(id).is_none_or(|q| q.kind != QueryKind::SourceTable)).collect();
        let writers = self.queries_writing(name);
        if !readers.is_empty() || !writers.is_empty() {
            return analysis_err!(
                "Cannot drop {name}.\nThe following queries read from this source: [{}].\nThe following queries write into this source: [{}].\nYou need to terminate them before dropping {name}.",
                readers.join(", "),
                writers.join(", ")
            );
        }
        Ok(self.sources.remove(name).expect("checked above"))
    }

    /// Ids of running queries reading `source`.
    pub fn queries_reading(&self, source: &str) -> Vec<String> {
        self.queries.values().filter(|q| q.state != QueryState::Terminated && q.sources.iter().any(|s| s == source)).map(|q| q.id.clone()).collect()
    }

    /// Ids of running queries writing `source`.
    pub fn queries_writing(&self, source: &str) -> Vec<String> {
        self.queries
            .values()
            .filter(|q| q.state != QueryState::Terminated && q.kind != QueryKind::SourceTable && q.sink.as_deref() == Some(source))
            .map(|q| q.id.clone())
            .collect()
    }

    /// The named type `name`.
    pub fn named_type(&self, name: &str) -> Option<&SqlType> {
        self.types.get(name)
    }

    /// Every named type.
    pub fn types(&self) -> &BTreeMap<String, SqlType> {
        &self.types
    }

    /// Registers `CREATE TYPE name AS ty`.
    ///
    /// # Errors
    /// [`crate::Error::Analysis`] when the type exists (unless `if_not_exists`).
    pub fn add_type(&mut self, name: &str, ty: SqlType, if_not_exists: bool) -> Result<bool> {
        if self.types.contains_key(name) {
            if if_not_exists {
                return Ok(false);
            }
            let existing = &self.types[name];
            return analysis_err!("Cannot register custom type '{name}' since it is already registered with type: {existing}");
        }
        self.types.insert(name.to_owned(), ty);
        Ok(true)
    }

    /// Removes a named type; `Ok(false)` when it did not exist.
    pub fn drop_type(&mut self, name: &str) -> bool {
        self.types.remove(name).is_some()
    }

    /// The next query id for `kind` writing into `sink`: `CSAS_<SINK>_<n>`, `CTAS_<SINK>_<n>`,
    /// `INSERTQUERY_<n>`, `CST_<TABLE>_<n>` (one counter, as ksqlDB).
    pub fn next_query_id(&mut self, kind: QueryKind, sink: &str) -> String {
        let id = self.peek_query_id(kind, sink);
        self.next_query += 1;
        id
    }

    /// The id [`Catalog::next_query_id`] would give, without taking it (for `EXPLAIN`).
    pub fn peek_query_id(&self, kind: QueryKind, sink: &str) -> String {
        let n = self.next_query;
        let sink = sink.to_uppercase();
        match kind {
            QueryKind::CreateStreamAs => format!("CSAS_{sink}_{n}"),
            QueryKind::CreateTableAs => format!("CTAS_{sink}_{n}"),
            QueryKind::InsertInto => format!("INSERTQUERY_{n}"),
            QueryKind::SourceTable => format!("CST_{sink}_{n}"),
        }
    }

    /// Makes sure later ids do not reuse `id`'s number (`CSAS_S_7` -> the next id is at
    /// least 8), for queries registered with a recorded id.
    pub fn reserve_query_id(&mut self, id: &str) {
        if let Some(n) = id.rsplit('_').next().and_then(|n| n.parse::<u64>().ok()) {
            self.next_query = self.next_query.max(n + 1);
        }
    }

    /// Registers a query.
    pub fn add_query(&mut self, query: QueryInfo) {
        self.queries.insert(query.id.clone(), query);
    }

    /// The query `id`.
    pub fn query(&self, id: &str) -> Option<&QueryInfo> {
        self.queries.get(id)
    }

    /// Every query, by id.
    pub fn queries(&self) -> impl Iterator<Item = &QueryInfo> {
        self.queries.values()
    }

    /// Sets a query's state.
    pub fn set_query_state(&mut self, id: &str, state: QueryState) {
        if let Some(q) = self.queries.get_mut(id) {
            q.state = state;
        }
    }

    /// Forgets a query (after `TERMINATE`).
    pub fn remove_query(&mut self, id: &str) -> Option<QueryInfo> {
        self.queries.remove(id)
    }
}

/// `stream` / `table`.
pub(crate) fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}
