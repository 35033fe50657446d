//! `POST /inserts-stream`: the first line names the target (`{"target":"S"}`), each further line
//! is a row as a JSON object of columns; each row is acknowledged on its own line as
//! `{"status":"ok","seq":n}` or `{"status":"error","seq":n,"error_code":40000,"message":...}`.
//!
//! Where Brook differs: each row runs as `INSERT INTO ... VALUES` on the engine, so its errors
//! carry that statement's messages; rows are acknowledged one by one, in order.

use std::convert::Infallible;

use axum::body::{Body, BodyDataStream};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use brook_sql_engine::{Engine, SqlType};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::common::State;
use crate::media_type::DELIMITED;
use crate::error::BAD_REQUEST;
use crate::{Error, Result};

/// The first line.
#[derive(Debug, Deserialize)]
struct InsertsStreamTarget {
    target: String,
}

/// Reads the body line by line, each line at most `limit` bytes.
struct Lines {
    body: BodyDataStream,
    buf: BytesMut,
    limit: usize,
}

impl Lines {
    /// The next non-empty line; `None` at the end of the body.
    async fn next(&mut self) -> Result<Option<Bytes>> {
        loop {
            if let Some(at) = self.buf.iter().position(|b| *b == b'\n') {
                let line = self.buf.split_to(at + 1).freeze();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(line));
            }
            if self.buf.len() > self.limit {
                return Err(Error::Generic { code: 41300, message: format!("A row is larger than the limit of {} bytes", self.limit) });
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buf.extend_from_slice(&chunk),
                Some(Err(e)) => return Err(Error::bad_request(format!("Cannot read the request: {e}"))),
                None if self.buf.iter().all(u8::is_ascii_whitespace) => return Ok(None),
                None => return Ok(Some(std::mem::take(&mut self.buf).freeze())),
            }
        }
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A JSON value as a SQL literal of type `ty`.
fn literal(v: &Json, ty: &SqlType) -> std::result::Result<String, String> {
    Ok(match (v, ty) {
        (Json::Null, _) => "NULL".into(),
        (Json::Bool(b), _) => b.to_string().to_uppercase(),
        (Json::Number(n), _) => n.to_string(),
        (Json::String(s), _) => quote(s),
        (Json::Array(items), SqlType::Array(m)) => format!("ARRAY[{}]", items.iter().map(|i| literal(i, m)).collect::<std::result::Result<Vec<_>, _>>()?.join(", ")),
        (Json::Object(o), SqlType::Map(_, vt)) => {
            let entries = o.iter().map(|(k, v)| Ok(format!("{} := {}", quote(k), literal(v, vt)?))).collect::<std::result::Result<Vec<_>, String>>()?;
            format!("MAP({})", entries.join(", "))
        }
        (Json::Object(o), SqlType::Struct(fields)) => {
            let mut parts = Vec::new();
            for (name, ft) in fields {
                if let Some((_, v)) = o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                    parts.push(format!("`{name}` := {}", literal(v, ft)?));
                }
            }
            format!("STRUCT({})", parts.join(", "))
        }
        (other, ty) => return Err(format!("Can't coerce a field of type {} ({other}) into type {ty}", kind(other))),
    })
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Array(_) => "ARRAY",
        Json::Object(_) => "STRUCT",
        _ => "VALUE",
    }
}

/// Inserts one row (on the engine thread).
fn insert(engine: &mut Engine, target: &str, row: &Json) -> std::result::Result<(), String> {
    let Json::Object(fields) = row else { return Err("Invalid JSON in inserts stream: a row must be a JSON object".into()) };
    let source = engine.catalog().source(target).ok_or_else(|| format!("Cannot insert into an unknown stream/table: {target}"))?;
    let mut names = Vec::new();
    let mut values = Vec::new();
    for (k, v) in fields {
        let Some(col) = source.schema.columns.iter().find(|c| c.name.eq_ignore_ascii_case(k)) else {
            return Err(format!("Key field must be specified: unknown column {k}"));
        };
        names.push(format!("`{}`", col.name));
        values.push(literal(v, &col.ty)?);
    }
    let sql = format!("INSERT INTO `{target}` ({}) VALUES ({});", names.join(", "), values.join(", "));
    engine.execute(&sql).map(|_| ()).map_err(|e| e.to_string())
}

fn ack(seq: u64, outcome: std::result::Result<(), String>) -> Bytes {
    let v = match outcome {
        Ok(()) => json!({ "status": "ok", "seq": seq }),
        Err(message) => json!({ "status": "error", "seq": seq, "error_code": BAD_REQUEST, "message": message }),
    };
    Bytes::from(format!("{v}\n"))
}

/// The handler.
pub(crate) async fn handle(state: State, body: Body) -> Result<Response> {
    let mut lines = Lines { body: body.into_data_stream(), buf: BytesMut::new(), limit: state.config.max_body_bytes };
    let first = lines.next().await?.ok_or_else(|| Error::bad_request("Missing the target: the first line must be {\"target\":\"NAME\"}"))?;
    let target: InsertsStreamTarget = serde_json::from_slice(&first).map_err(|e| Error::bad_request(format!("Invalid JSON in inserts stream target: {e}")))?;
    let name = target.target.trim_matches('`').to_uppercase();
    let known = {
        let name = name.clone();
        state.engine.call(move |e| e.catalog().source(&name).is_some()).await?
    };
    if !known {
        return Err(Error::bad_request(format!("Cannot insert values into an unknown stream/table: {}", target.target)));
    }
    let (tx, rx) = mpsc::channel::<std::result::Result<Bytes, Infallible>>(64);
    let shared = state.0.clone();
    tokio::spawn(async move {
        let mut seq = 0;
        loop {
            let line = match lines.next().await {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Ok(ack(seq, Err(e.to_string())))).await;
                    break;
                }
            };
            let outcome = match serde_json::from_slice::<Json>(&line) {
                Ok(row) => {
                    let name = name.clone();
                    shared.engine.call(move |e| insert(e, &name, &row)).await.unwrap_or_else(|e| Err(e.to_string()))
                }
                Err(e) => Err(format!("Invalid JSON in inserts stream: {e}")),
            };
            if tx.send(Ok(ack(seq, outcome))).await.is_err() {
                break;
            }
            seq += 1;
        }
    });
    Ok(([(header::CONTENT_TYPE, DELIMITED)], Body::from_stream(ReceiverStream::new(rx))).into_response())
}
