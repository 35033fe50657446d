//! What `/query-stream` and `/query` share: running one query on the engine and writing its
//! rows in the response's framing. A pull query's rows are written at once; a push query's rows
//! stream from the connection's task ([`push_stream`], no thread per query) until `LIMIT`,
//! `/close-query`, shutdown, the server dropping a query whose client reads too slowly (an
//! error line ends the response), or the client going away (the query stops at once).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use brook_sql_engine::engine::entities::FieldInfo;
use brook_sql_engine::engine::print::{PrintSpec, Printer, TopicFollower};
use brook_sql_engine::engine::push::PushQuery;
use brook_sql_engine::parser::ast::Statement;
use brook_sql_engine::{Row, StatementResult};
use bytes::Bytes;
use futures::Stream;
use serde_json::json;

use super::ksql::statement_error;
use crate::error::{BAD_STATEMENT, SERVER_ERROR};
use crate::shared::{PushQueries, PushStop, Shared};
use crate::{json, session, Error, Result};

/// A started query.
pub(crate) enum Started {
    Pull { id: String, schema: Vec<FieldInfo>, rows: Vec<Row> },
    Push(PushQuery),
    /// `PRINT`'s lines (`/query` only, test mode: the records there when it ran).
    Printed(Vec<String>),
    /// `PRINT` following the topic (`/query` only, live mode).
    Print(TopicFollower, Printer),
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

    /// The error that ends a push query the server dropped, as ksqlDB writes a failed query's
    /// error in each framing.
    fn error(self, message: &str) -> String {
        let e = json!({ "@type": "generic_error", "error_code": SERVER_ERROR, "message": message });
        match self {
            Framing::Delimited => format!("{e}\n"),
            Framing::JsonArray => format!(",{e}]"),
            Framing::V1 => format!(",\n{}]\n", json!({ "errorMessage": e })),
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
                if let (Ok(s), Some(broker)) = (&parsed, e.broker()) {
                    if let Some(Statement::Print { topic, from_beginning, interval, limit }) = s.first().map(|s| &s.statement) {
                        let follower = TopicFollower::open(broker, topic, *from_beginning).map_err(|err| statement_error(&err, &sql, vec![]))?;
                        let spec = PrintSpec { topic: topic.clone(), from_beginning: *from_beginning, interval: interval.unwrap_or(1), limit: *limit };
                        return Ok(Started::Print(follower, Printer::new(spec)));
                    }
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
        Started::Print(follower, printer) => print(shared, follower, printer),
    }
}

/// `PRINT`'s lines as the topic's records arrive, from a thread of its own, until its `LIMIT`,
/// the client going away (noticed within 100 ms) or shutdown (it is registered with the push
/// queries, under a `print_` id).
fn print(shared: &Shared, mut follower: TopicFollower, mut printer: Printer) -> Result<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::result::Result<Bytes, Infallible>>(16);
    let id = format!("print_{}", uuid::Uuid::new_v4().simple());
    let stop = Arc::new(PushStop::default());
    let registry = Arc::clone(&shared.push_queries);
    registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.clone(), Arc::clone(&stop));
    let thread_id = id.clone();
    let spawned = std::thread::Builder::new().name("brook-print".into()).spawn(move || {
        while !stop.is_stopped() && !tx.is_closed() && !printer.done() {
            match follower.poll(std::time::Duration::from_millis(100)) {
                Ok(records) => {
                    let text: String = records.iter().map(|r| printer.record(r.partition, r.timestamp, r.key.as_deref(), r.value.as_deref())).collect();
                    if !text.is_empty() && tx.blocking_send(Ok(Bytes::from(text))).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Ok(Bytes::from(format!("{e}\n"))));
                    break;
                }
            }
        }
        registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&thread_id);
    });
    if let Err(e) = spawned {
        shared.push_queries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
        return Err(e.into());
    }
    Ok(Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)))
}

fn push(shared: &Shared, q: PushQuery, framing: Framing) -> Result<Body> {
    Ok(Body::from_stream(push_stream(shared, q, framing)))
}

/// Rows moved into one response chunk at most.
const CHUNK_ROWS: usize = 64;

/// A push query's response as a stream of chunks: the header, its rows as they arrive (what
/// is ready goes out as one chunk), and the end (or an error line when the server dropped the
/// query). It runs on the connection's task, no thread of its own: the query is polled only
/// when the connection can take more, so a slow client holds nothing but what its query
/// buffers (bounded). The query is registered for `/close-query` while the stream lives; a
/// client that goes away drops the stream, which stops the query.
pub(crate) fn push_stream(shared: &Shared, q: PushQuery, framing: Framing) -> impl Stream<Item = std::result::Result<Bytes, Infallible>> + Send + 'static {
    let stop = Arc::new(PushStop::default());
    let registry = Arc::clone(&shared.push_queries);
    registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(q.id.clone(), Arc::clone(&stop));
    let header = Some(Bytes::from(framing.header(&q.id, &q.schema)));
    PushBody { q: Some(q), framing, stop, registry, header }
}

struct PushBody {
    /// `None` once the end was written.
    q: Option<PushQuery>,
    framing: Framing,
    stop: Arc<PushStop>,
    registry: PushQueries,
    header: Option<Bytes>,
}

impl Stream for PushBody {
    type Item = std::result::Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(h) = this.header.take() {
            return Poll::Ready(Some(Ok(h)));
        }
        let Some(q) = this.q.as_mut() else { return Poll::Ready(None) };
        this.stop.register(cx.waker());
        let mut out = String::new();
        let mut ended = this.stop.is_stopped();
        for _ in 0..CHUNK_ROWS {
            if ended {
                break;
            }
            match q.poll_next_row(cx) {
                Poll::Ready(Some(r)) => out.push_str(&this.framing.row(&r)),
                Poll::Ready(None) => ended = true,
                Poll::Pending => break,
            }
        }
        if ended {
            match q.error() {
                Some(e) => {
                    tracing::info!(query = %q.id, error = %e, "push query ended");
                    out.push_str(&this.framing.error(e));
                }
                None => out.push_str(this.framing.end(q.is_complete())),
            }
            this.finish();
        }
        if out.is_empty() {
            return Poll::Pending;
        }
        Poll::Ready(Some(Ok(Bytes::from(out))))
    }
}

impl PushBody {
    /// Unregisters the query and stops it: a shared one at once (it only leaves its source's
    /// reader), a dedicated one off the async workers (closing joins its stream threads).
    fn finish(&mut self) {
        let Some(q) = self.q.take() else { return };
        self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&q.id);
        tracing::debug!(query = %q.id, "push query closed");
        if q.is_shared() {
            drop(q);
        } else if let Ok(rt) = tokio::runtime::Handle::try_current() {
            drop(rt.spawn_blocking(move || drop(q)));
        } else {
            drop(q);
        }
    }
}

impl Drop for PushBody {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The new API (`/query-stream`, `/inserts-stream`) answers every error as a `generic_error`.
pub(crate) fn generic(e: Error) -> Error {
    match e {
        Error::Statement { code, message, .. } => Error::Generic { code, message },
        other => other,
    }
}

