//! `POST /ksql/terminate` (`{"deleteTopicList":[...]}`): terminates every persistent query and
//! drops every stream and table, as ksqlDB's `TERMINATE CLUSTER`.
//!
//! Where Brook differs: it runs at once and answers `SUCCESS` (ksqlDB answers `QUEUED`, works in
//! the background, then shuts the server down) and the server keeps running; `deleteTopicList`
//! takes exact topic names (no regular expressions), deleted with the source over them.

use axum::body::Body;
use axum::Json;
use brook_sql_engine::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::common::State;
use crate::command_topic::CommandTopic;
use crate::Result;

/// The request body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TerminateArgs {
    #[serde(default)]
    delete_topic_list: Vec<String>,
}

/// Runs `sql`, recording it in the command topic when it succeeds.
fn run(engine: &mut Engine, log: Option<&CommandTopic>, sql: &str) -> bool {
    if let Some(Err(e)) = log.map(|l| l.catch_up(engine)) {
        tracing::warn!(error = %e, "cannot apply the command topic");
    }
    let executed = engine.execute(sql);
    for command in engine.take_commands() {
        if let Some(Err(e)) = log.map(|l| l.append(&command)) {
            tracing::warn!(error = %e, statement = sql, "cannot record a statement");
        }
    }
    match executed {
        Ok(_) => true,
        Err(e) => {
            tracing::debug!(error = %e, statement = sql, "terminate");
            false
        }
    }
}

/// Drops every source except the processing log, sinks before what they read.
fn terminate_cluster(engine: &mut Engine, log: Option<&CommandTopic>, delete: &[String]) {
    run(engine, log, "TERMINATE ALL;");
    loop {
        let sources: Vec<(String, String, bool)> = engine
            .catalog()
            .sources()
            .filter(|s| s.name != "KSQL_PROCESSING_LOG")
            .map(|s| (s.name.clone(), s.topic.clone(), s.kind == brook_sql_engine::parser::ast::SourceKind::Stream))
            .collect();
        let mut dropped = false;
        for (name, topic, stream) in &sources {
            let kind = if *stream { "STREAM" } else { "TABLE" };
            let suffix = if delete.contains(topic) { " DELETE TOPIC" } else { "" };
            dropped |= run(engine, log, &format!("DROP {kind} `{name}`{suffix};"));
        }
        if !dropped {
            return;
        }
    }
}

/// The handler.
pub(crate) async fn handle(state: State, body: Body) -> Result<Json<Value>> {
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes).await.unwrap_or_default();
    let args: TerminateArgs = if bytes.is_empty() { TerminateArgs::default() } else { super::common::read_json(Body::from(bytes), usize::MAX).await? };
    let delete = args.delete_topic_list;
    let log = state.command_topic.clone();
    let l = log.clone();
    state.engine.call(move |e| terminate_cluster(e, l.as_deref(), &delete)).await?;
    // Over a command topic the sequence number is the last command's offset in it.
    let seq = match &log {
        Some(l) => l.last_offset(),
        None => state.sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
    };
    Ok(Json(json!([{
        "@type": "currentStatus",
        "statementText": "TERMINATE CLUSTER;",
        "commandId": "cluster/`CLUSTER`/terminate",
        "commandStatus": { "status": "SUCCESS", "message": "Cluster terminated", "queryId": null },
        "commandSequenceNumber": seq,
        "warnings": [],
    }])))
}
