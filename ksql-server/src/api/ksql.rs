//! `POST /ksql`: DDL, DML and `SHOW` / `DESCRIBE` / `EXPLAIN` statements, answered with
//! ksqlDB's `KsqlEntityList`.
//!
//! Statements run in order; when one fails, those before it stay applied and come back in the
//! `entities` of the `statement_error`, as ksqlDB does when a statement fails to execute.
//! Where Brook differs: ksqlDB first validates the whole request in a sandbox, so a statement
//! that fails validation applies none; Brook applies the statements before it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use brook_sql_engine::parser::ast::Statement;
use brook_sql_engine::Engine;
use serde::Deserialize;
use serde_json::Value as Json;

use super::common::{read_json, wants_json, State};
use super::properties::properties;
use crate::media_type::{JSON, KSQL_V1_JSON};
use crate::error::{BAD_STATEMENT, QUERY_ENDPOINT, SERVER_ERROR};
use crate::command_topic::CommandTopic;
use crate::{json, session, Error, Result};

/// ksqlDB's `KsqlRequest`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KsqlRequest {
    pub(crate) ksql: String,
    #[serde(default)]
    pub(crate) streams_properties: serde_json::Map<String, Json>,
    #[serde(default)]
    pub(crate) session_variables: serde_json::Map<String, Json>,
    pub(crate) command_sequence_number: Option<i64>,
}

/// The session variables of a request, as strings.
pub(crate) fn variables(vars: &serde_json::Map<String, Json>) -> BTreeMap<String, String> {
    vars.iter().map(|(k, v)| (k.clone(), super::properties::property_text(v))).collect()
}

/// The engine error as a statement error, with ksqlDB's codes.
pub(crate) fn statement_error(e: &brook_sql_engine::Error, text: &str, entities: Vec<Json>) -> Error {
    let code = match e {
        brook_sql_engine::Error::Io(_) | brook_sql_engine::Error::Streams(_) | brook_sql_engine::Error::Cluster(_) => SERVER_ERROR,
        _ => BAD_STATEMENT,
    };
    Error::Statement { code, message: e.to_string(), statement_text: text.to_owned(), entities }
}

fn query_endpoint(text: &str) -> Error {
    Error::Statement {
        code: QUERY_ENDPOINT,
        message: "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT".into(),
        statement_text: text.to_owned(),
        entities: vec![],
    }
}

/// The entities of a request and the `commandId`s it completed (for `/status`).
type Outcome = (Vec<Json>, Vec<(String, String)>);

/// Runs every statement of `ksql` (on the engine thread), after the commands other servers
/// wrote to the command topic, if any.
fn run(engine: &mut Engine, ksql: &str, seq: &AtomicU64, log: Option<&CommandTopic>) -> Result<Outcome> {
    let statements = match brook_sql_engine::parser::parse(ksql) {
        Ok(s) => s.into_iter().map(|s| (s.text.clone(), Some(s.statement))).collect::<Vec<_>>(),
        // `${var}` may not parse before substitution: the engine substitutes and runs it all.
        Err(_) if ksql.contains("${") => vec![(ksql.to_owned(), None)],
        Err(e) => return Err(statement_error(&e, ksql, vec![])),
    };
    if let Some((text, _)) = statements.iter().find(|(_, s)| matches!(s, Some(Statement::Query(_) | Statement::Print { .. }))) {
        return Err(query_endpoint(text));
    }
    if let Some(log) = log {
        log.catch_up(engine)?;
    }
    let mut entities = Vec::new();
    let mut commands = Vec::new();
    for (text, _) in &statements {
        let executed = engine.execute(text);
        // What ran is recorded, even when a later statement of the same text failed.
        let mut offset = None;
        for command in engine.take_commands() {
            match log.map(|l| l.append(&command)) {
                Some(Err(e)) => return Err(Error::Statement { code: SERVER_ERROR, message: e.to_string(), statement_text: command.statement, entities }),
                Some(Ok(o)) => offset = Some(o),
                None => {}
            }
        }
        let results = executed.map_err(|e| statement_error(&e, text, entities.clone()))?;
        for r in &results {
            let status = matches!(r, brook_sql_engine::StatementResult::Status(_));
            // Over a command topic the sequence number is the command's offset in it.
            let n = match (log, offset) {
                (Some(_), Some(o)) => u64::try_from(o).unwrap_or(0),
                (Some(l), None) => l.last_offset(),
                (None, _) if status => seq.fetch_add(1, Ordering::Relaxed) + 1,
                (None, _) => seq.load(Ordering::Relaxed),
            };
            match json::statement_entity(text, r, n) {
                Some(e) => {
                    if let brook_sql_engine::StatementResult::Status(s) = r {
                        commands.push((json::command_id(text), s.message.clone()));
                    }
                    entities.push(e);
                }
                None => return Err(query_endpoint(text)),
            }
        }
    }
    Ok((entities, commands))
}

/// Waits (up to 5 s, as ksqlDB's `ksql.server.command.response.timeout.ms`) until this
/// server has applied the command at offset `n` of the command topic, so a client that wrote
/// a statement through another server sees its effect here.
pub(crate) async fn wait_for_command(state: &State, n: i64) -> Result<()> {
    let Some(log) = state.command_topic.clone() else { return Ok(()) };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if log.next_offset() > n {
            return Ok(());
        }
        let l = log.clone();
        state.engine.call(move |e| l.catch_up(e)).await??;
        if log.next_offset() > n {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Generic {
                code: crate::error::COMMAND_QUEUE_CATCHUP_TIMEOUT,
                message: format!("Timed out while waiting for a previous command to execute. command sequence number: {n}"),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The handler.
pub(crate) async fn handle(state: State, headers: HeaderMap, body: Body) -> Result<Response> {
    let req: KsqlRequest = read_json(body, state.config.max_body_bytes).await?;
    if let Some(n) = req.command_sequence_number {
        wait_for_command(&state, n).await?;
    }
    let props = properties(&req.streams_properties)?;
    let vars = variables(&req.session_variables);
    let seq = Arc::clone(&state.sequence);
    let log = state.command_topic.clone();
    let (entities, commands) =
        state.engine.call(move |e| session::scoped(e, &props, &vars, |e| run(e, &req.ksql, &seq, log.as_deref()))).await??;
    state.commands.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(commands);
    let content_type = if wants_json(&headers) { JSON } else { KSQL_V1_JSON };
    Ok(([(header::CONTENT_TYPE, content_type)], Json::Array(entities).to_string()).into_response())
}
