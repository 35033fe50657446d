//! ksqlDB's REST API over the Brook SQL engine: `/ksql`, `/query-stream`, `/close-query`,
//! `/query`, `/inserts-stream`, `/info`, `/healthcheck`, `/status`, `/clusterStatus`,
//! `/ksql/terminate`, `/is_valid_property`, and the WebSocket `/ws/query`, on HTTP/1.1 and HTTP/2,
//! cleartext or, with [`KsqlServerConfig::tls`], HTTPS (port 8088 in `brook server`), with
//! optional basic authentication ([`BasicAuth`]).
//!
//! One [`Engine`] serves every request, on its own thread ([`engine_thread`]); handlers (one file
//! per endpoint under [`api`]) send it work and await the answer, so tokio workers never block.
//!
//! Where Brook differs from ksqlDB (the full list is the `REST API` section of `docs/sql.md`):
//! statements run one at a time against one engine; the command topic's records are ksqlDB's
//! `Command` JSON with Brook's own plan serialization inside; `streamsProperties` and
//! `sessionVariables` apply to the request only; two servers that accept clashing statements at
//! the same instant each keep their own (ksqlDB fences concurrent writers of the command topic).
//!
//! ```no_run
//! # async fn f() -> Result<(), brook_ksql_server::Error> {
//! use brook_ksql_server::{KsqlServer, KsqlServerConfig};
//! let server = KsqlServer::start(brook_sql_engine::EngineConfig::test(), KsqlServerConfig::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8088").await?;
//! server.serve(listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```

pub mod api;
mod auth;
mod command_topic;
mod config;
mod engine_thread;
mod error;
mod json;
mod media_type;
mod session;
mod shared;
mod tls;

use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use brook_sql_engine::{Engine, EngineConfig};
use command_topic::CommandTopic;

pub use auth::BasicAuth;
pub use config::KsqlServerConfig;
pub use error::{Error, Result};
pub use tls::TlsConfig;
use engine_thread::EngineThread;
use shared::{PushQueries, Shared};

/// The running REST server's state: cheap to clone, one engine behind it.
#[derive(Debug, Clone)]
pub struct KsqlServer {
    shared: Arc<Shared>,
}

impl KsqlServer {
    /// Starts the engine (`engine.service_id` is set from `config`) on its thread and, in live
    /// mode, replays the command topic on it.
    ///
    /// # Errors
    /// The engine's errors (topic creation in live mode).
    pub fn start(mut engine: EngineConfig, config: KsqlServerConfig) -> Result<Self> {
        engine.service_id = config.service_id.clone();
        let commands = command_topic::Statuses::default();
        let command_topic =
            engine.cluster.clone().map(|c| CommandTopic::open(c, &config.service_id, commands.clone())).transpose()?.map(Arc::new);
        let replay = command_topic.clone();
        let engine = EngineThread::spawn(move || {
            let mut engine = Engine::new(engine)?;
            if let Some(c) = replay {
                match c.catch_up(&mut engine) {
                    Ok(done) => tracing::info!(applied = done.applied, skipped = done.skipped, "replayed the command topic"),
                    Err(e) => tracing::error!(error = %e, "cannot replay the command topic"),
                }
                // From now on every statement that changes the catalog leaves a command.
                engine.record_commands(true);
            }
            Ok(engine)
        })?;
        let shared = Shared {
            engine,
            config,
            sequence: Arc::new(AtomicU64::new(0)),
            commands,
            command_topic,
            push_queries: PushQueries::default(),
        };
        Ok(KsqlServer { shared: Arc::new(shared) })
    }

    /// The ids of the push queries (and `PRINT`s) streaming now, sorted.
    pub fn running_push_queries(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.shared.push_queries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The engine's shared push-query readers and how many push queries each feeds.
    ///
    /// # Errors
    /// [`Error::ShuttingDown`] once the engine stopped.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads; dropped, the engine thread may still compute the answer,
    /// which is discarded.
    pub async fn shared_push_feeds(&self) -> Result<Vec<brook_sql_engine::engine::fanout::FeedStats>> {
        self.shared.engine.call(|e| e.shared_push_feeds()).await
    }

    /// The routes, for embedding in another axum server.
    pub fn router(&self) -> axum::Router {
        api::router(self.shared.clone())
    }

    /// Serves HTTP/1.1 and HTTP/2 on `listener` (cleartext, or TLS with ALPN when
    /// [`KsqlServerConfig::tls`] is set) until `shutdown` completes, then stops the engine and
    /// its queries. Meanwhile, in live mode, it applies the commands other servers of its
    /// service id append to the command topic.
    ///
    /// # Errors
    /// Accept errors of the listener.
    ///
    /// # Cancel safety
    /// Dropping the future closes the listener; running push queries stop when their
    /// connections close.
    pub async fn serve(self, listener: tokio::net::TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        tracing::info!(addr = ?listener.local_addr().ok(), "ksqlDB REST API listening");
        let push_queries = self.shared.push_queries.clone();
        // Stops with this future, whichever way it ends.
        let _poller = self.shared.command_topic.clone().map(|topic| AbortOnDrop(tokio::spawn(poll_command_topic(self.shared.engine.clone(), topic))));
        let shutdown = async move {
            shutdown.await;
            // Push queries never end by themselves: stop them so their connections close.
            for stop in push_queries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).values() {
                stop.stop();
            }
        };
        let served = match self.shared.config.tls.clone() {
            Some(tls) => axum::serve(tls::TlsListener::new(listener, tls)?, self.router()).with_graceful_shutdown(shutdown).await,
            None => axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await,
        };
        self.shared.engine.stop().await;
        served?;
        Ok(())
    }
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often a server asks whether other servers of its service id wrote commands.
const COMMAND_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Applies the commands other servers append to the command topic, as they come, for as
/// long as the server runs: the cluster is asked off the engine thread, which is called only
/// when there is something to apply.
async fn poll_command_topic(engine: EngineThread, topic: Arc<CommandTopic>) {
    let mut failing = false;
    loop {
        tokio::time::sleep(COMMAND_POLL_INTERVAL).await;
        let t = topic.clone();
        let behind = match tokio::task::spawn_blocking(move || t.behind()).await {
            Ok(Ok(behind)) => behind,
            Ok(Err(e)) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "cannot read the command topic");
                }
                continue;
            }
            Err(_) => return,
        };
        failing = false;
        if !behind {
            continue;
        }
        let t = topic.clone();
        match engine.call(move |e| t.catch_up(e)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot apply the command topic"),
            Err(_) => return,
        }
    }
}
