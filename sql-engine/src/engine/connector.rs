//! `CREATE SOURCE|SINK CONNECTOR`, `DROP CONNECTOR`, `SHOW [SOURCE|SINK] CONNECTORS` and
//! `DESCRIBE CONNECTOR`: calls to a Kafka Connect herder, `ksql.connect.url` over HTTP when
//! set, else the in-process worker of [`EngineConfig::connect`](super::EngineConfig), else
//! `http://localhost:8083` (ksqlDB's default). Nothing is recorded in the command topic: the
//! connectors live in the worker, as in ksqlDB.
//!
//! Where Brook differs from ksqlDB: the connector's kind (`SOURCE`/`SINK`) is not checked
//! against its class; a failed create reports Connect's message after
//! `Failed to create connector: `.

use std::future::Future;
use std::sync::Arc;

use brook_connect::herder::{ConnectorStateInfo, ConnectorType, State};
use brook_connect::Herder;

use crate::engine::config::CONNECT_URL;
use crate::engine::describe::source_description;
use crate::engine::entities::{ConnectorDescription, ConnectorSummary, StatementResult};
use crate::engine::state::Engine;
use crate::parser::ast::ConnectorKind;
use crate::{Error, Result};

/// ksqlDB's default `ksql.connect.url`.
const DEFAULT_CONNECT_URL: &str = "http://localhost:8083";

fn herder(engine: &Engine) -> Arc<dyn Herder> {
    match (engine.property(CONNECT_URL), &engine.config.connect) {
        (Some(url), _) => Arc::new(brook_connect::rest::RestHerder::new(url)),
        (None, Some(h)) => h.clone(),
        (None, None) => Arc::new(brook_connect::rest::RestHerder::new(DEFAULT_CONNECT_URL)),
    }
}

/// Runs a herder call to completion from the engine's (synchronous) thread: on the runtime the
/// thread entered (the server's), else on a runtime of its own.
fn block_on<F: Future + Send>(f: F) -> F::Output
where
    F::Output: Send,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(|| h.block_on(f)),
        // A current-thread runtime cannot be blocked on from inside it: a thread of its own.
        _ => std::thread::scope(|s| {
            s.spawn(|| match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(f),
                Err(e) => panic!("cannot start a runtime for a Connect call: {e}"),
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        }),
    }
}

fn connect_err(e: &brook_connect::Error) -> Error {
    Error::Analysis(e.to_string())
}

pub(crate) fn create(engine: &mut Engine, name: &str, _kind: ConnectorKind, if_not_exists: bool, config: &[(String, String)]) -> Result<StatementResult> {
    let h = herder(engine);
    let config: brook_connect::Config = config.iter().cloned().chain([("name".to_owned(), name.to_owned())]).collect();
    block_on(async move {
        if if_not_exists && h.connectors().await.map_err(|e| connect_err(&e))?.iter().any(|c| c == name) {
            return Ok(StatementResult::Warning(format!("Connector {name} already exists")));
        }
        match h.put_connector_config(name, config, false).await {
            Ok(created) => Ok(StatementResult::ConnectorInfo(created.result)),
            Err(brook_connect::Error::AlreadyExists(_)) if if_not_exists => Ok(StatementResult::Warning(format!("Connector {name} already exists"))),
            Err(e) => Err(Error::Analysis(format!("Failed to create connector: {e}"))),
        }
    })
}

pub(crate) fn drop(engine: &mut Engine, name: &str, if_exists: bool) -> Result<StatementResult> {
    let h = herder(engine);
    block_on(async move {
        match h.delete_connector(name).await {
            Ok(()) => Ok(StatementResult::DropConnector(name.to_owned())),
            Err(brook_connect::Error::NotFound(_)) if if_exists => Ok(StatementResult::Warning(format!("Connector {name} does not exist."))),
            Err(brook_connect::Error::NotFound(_)) => Err(Error::Analysis(format!("Connector {name} does not exist."))),
            Err(e) => Err(Error::Analysis(format!("Failed to drop connector: {e}"))),
        }
    })
}

/// `RUNNING (1/2 tasks RUNNING)`, as ksqlDB summarizes a status.
fn summary(status: &ConnectorStateInfo) -> String {
    let running = status.tasks.iter().filter(|t| t.state == State::Running).count();
    format!("{} ({running}/{} tasks RUNNING)", status.connector.state, status.tasks.len())
}

pub(crate) fn list(engine: &mut Engine, kind: Option<ConnectorKind>) -> Result<StatementResult> {
    let h = herder(engine);
    block_on(async move {
        let names = h.connectors().await.map_err(|e| connect_err(&e))?;
        let mut rows = Vec::new();
        for name in names {
            // A connector deleted meanwhile is left out.
            let Ok(info) = h.connector_info(&name).await else { continue };
            let wanted = match (kind, info.kind) {
                (None, _) => true,
                (Some(ConnectorKind::Source), k) => k == ConnectorType::Source,
                (Some(ConnectorKind::Sink), k) => k == ConnectorType::Sink,
            };
            if !wanted {
                continue;
            }
            let state = h.connector_status(&name).await.map(|s| summary(&s)).unwrap_or_default();
            rows.push(ConnectorSummary {
                kind: info.kind.to_string().to_uppercase(),
                class_name: info.config.get("connector.class").cloned().unwrap_or_default(),
                name,
                state,
            });
        }
        Ok(StatementResult::Connectors(rows))
    })
}

pub(crate) fn describe(engine: &mut Engine, name: &str) -> Result<StatementResult> {
    let h = herder(engine);
    let (info, status, topics) = block_on(async {
        let not_found = |e: brook_connect::Error| match e {
            brook_connect::Error::NotFound(_) => Error::Analysis(format!("Could not find connector {name}")),
            e => connect_err(&e),
        };
        let info = h.connector_info(name).await.map_err(not_found)?;
        let status = h.connector_status(name).await.map_err(not_found)?;
        let topics = h.connector_topics(name).await.unwrap_or_default();
        Ok::<_, Error>((info, status, topics))
    })?;
    let names: Vec<String> = engine.catalog.sources().filter(|s| topics.contains(&s.topic)).map(|s| s.name.clone()).collect();
    let sources = names.iter().map(|n| source_description(engine, n, false)).collect::<Result<Vec<_>>>()?;
    Ok(StatementResult::ConnectorDescription(Box::new(ConnectorDescription {
        connector_class: info.config.get("connector.class").cloned().unwrap_or_default(),
        status,
        sources,
        topics,
    })))
}
