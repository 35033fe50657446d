//! What `/query-stream` and `/query` share: running one query on the engine and writing its
//! rows in the response's framing. A pull query's rows are written at once; a push query gets a
//! thread that moves its rows into the response until `LIMIT`, `/close-query`, shutdown, or the
//! client going away (noticed within 100 ms).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use brook_sql_engine::engine::entities::FieldInfo;
use brook_sql_engine::engine::push::PushQuery;
use brook_sql_engine::parser::ast::Statement;
use brook_sql_engine::{Row, StatementResult};
use bytes::Bytes;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::ksql::statement_error;
use crate::error::BAD_STATEMENT;
use crate::{json, session, Error, Result, Shared};

/// A started query.
pub(crate) enum Started {
    Pull { id: String, schema: Vec<FieldInfo>, rows: Vec<Row> },
    Push(PushQuery),
    /// `PRINT`'s lines (`/query` only).
    Printed(Vec<String>),
}

/// How rows are framed in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `application/vnd.ksqlapi.delimited.v1`: the header and each row on a line.
    Delimited,
    /// `application/json` on `/query-stream`: one JSON array, header first.
    JsonArray,
    /// `/query`: a JSON array of `{"header":...}`, `{"row":{"columns":[...]}}`, `{"finalMessage":...}`.
    V1,
}

impl Framing {
    fn header(self, id: &str, schema: &[FieldInfo]) -> String {
        match self {
            Framing::Delimited => format!("{}\n", json::header(id, schema)),
            Framing::JsonArray => format!("[{}", json::header(id, schema)),
            Framing::V1 => {
                let cols: Vec<String> = schema.iter().map(|f| format!("`{}` {}", f.name, json::type_name(&f.schema))).collect();
                format!("[{}", json!({ "header": { "queryId": id, "schema": cols.join(", ") } }))
            }
        }
    }

    fn row(self, r: &Row) -> String {
        match self {
            Framing::Delimited => format!("{}\n", json::row(r)),
            Framing::JsonArray => format!(",{}", json::row(r)),
            Framing::V1 => format!(",\n{}", json!({ "row": { "columns": json::row(r) } })),
        }
    }

    fn end(self, limit_reached: bool) -> &'static str {
        match (self, limit_reached) {
            (Framing::Delimited, _) => "",
            (Framing::JsonArray, _) => "]",
            (Framing::V1, true) => ",\n{\"finalMessage\":\"Limit Reached\"}]\n",
            (Framing::V1, false) => "]\n",
        }
    }
}

/// Runs `sql`, which must be one query (or `PRINT` when `allow_print`).
pub(crate) async fn start(
    shared: &Shared,
    sql: String,
    props: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
    allow_print: bool,
) -> Result<Started> {
    shared
        .engine
        .call(move |e| {
            session::scoped(e, &props, &vars, |e| {
                let parsed = brook_sql_engine::parser::parse(&sql);
                let is_query = match &parsed {
                    Ok(s) if s.len() == 1 => matches!(s[0].statement, Statement::Query(_)) || (allow_print && matches!(s[0].statement, Statement::Print { .. })),
                    Ok(_) => false,
                    Err(_) => sql.contains("${"),
                };
                if let Err(err) = &parsed {
                    if !is_query {
                        return Err(statement_error(err, &sql, vec![]));
                    }
                }
                if !is_query {
                    let message = if allow_print { "Expected exactly one query or PRINT statement" } else { "Expected exactly one query statement" };
                    return Err(Error::Statement { code: BAD_STATEMENT, message: message.into(), statement_text: sql.clone(), entities: vec![] });
                }
                let mut results = e.execute(&sql).map_err(|err| statement_error(&err, &sql, vec![]))?;
                match results.pop() {
                    Some(StatementResult::Rows { schema, rows }) => Ok(Started::Pull { id: format!("pull_{}", uuid::Uuid::new_v4().simple()), schema, rows }),
                    Some(StatementResult::PushQuery(q)) => Ok(Started::Push(q)),
                    Some(StatementResult::Printed(lines)) => Ok(Started::Printed(lines)),
                    _ => Err(Error::Statement { code: BAD_STATEMENT, message: "Not a query".into(), statement_text: sql.clone(), entities: vec![] }),
                }
            })
        })
        .await?
}

/// The response body of a started query.
pub(crate) fn body(shared: &Shared, started: Started, framing: Framing) -> Result<Body> {
    match started {
        Started::Pull { id, schema, rows } => {
            let mut out = framing.header(&id, &schema);
            for r in &rows {
                out.push_str(&framing.row(r));
            }
            out.push_str(framing.end(false));
            Ok(Body::from(out))
        }
        Started::Printed(lines) => Ok(Body::from(lines.iter().map(|l| format!("{l}\n")).collect::<String>())),
        Started::Push(q) => push(shared, q, framing),
    }
}

fn push(shared: &Shared, mut q: PushQuery, framing: Framing) -> Result<Body> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    let _ = tx.try_send(Ok(Bytes::from(framing.header(&q.id, &q.schema))));
    let stop = Arc::new(AtomicBool::new(false));
    let registry = Arc::clone(&shared.push_queries);
    registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(q.id.clone(), Arc::clone(&stop));
    let id = q.id.clone();
    let runtime = tokio::runtime::Handle::current();
    let spawned = std::thread::Builder::new().name(format!("brook-push-{id}")).spawn(move || {
        let _entered = runtime.enter();
        while !stop.load(Ordering::Relaxed) && !tx.is_closed() {
            match q.next_row(Duration::from_millis(100)) {
                Some(r) => {
                    if tx.blocking_send(Ok(Bytes::from(framing.row(&r)))).is_err() {
                        break;
                    }
                }
                None if q.is_complete() => break,
                None => {}
            }
        }
        let _ = tx.blocking_send(Ok(Bytes::from_static(framing.end(q.is_complete()).as_bytes())));
        drop(tx);
        q.close();
        registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&q.id);
        tracing::debug!(query = %q.id, "push query closed");
    });
    if let Err(e) = spawned {
        shared.push_queries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
        return Err(e.into());
    }
    Ok(Body::from_stream(ReceiverStream::new(rx)))
}

/// The new API (`/query-stream`, `/inserts-stream`) answers every error as a `generic_error`.
pub(crate) fn generic(e: Error) -> Error {
    match e {
        Error::Statement { code, message, .. } => Error::Generic { code, message },
        other => other,
    }
}

