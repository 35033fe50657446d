//! The Kafka wire-protocol server: one task per connection reading size-prefixed frames, decoding
//! them with the `kafka-protocol` crate, dispatching to one handler per API (`api/`), and writing
//! the responses back in request order.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> brook_broker::Result<()> {
//! use brook_broker::{Broker, BrokerConfig, server::{serve, ServerConfig}};
//! let broker = Broker::open(BrokerConfig::new("./data")).await?;
//! let config = ServerConfig::default();
//! let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
//! serve(broker, listener, config, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

pub(crate) mod api;
pub mod wire_client;
mod config;
mod conn;
mod memory;
mod session;
pub mod frame;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::error::{Error, Result};

pub use api::decode_request;
pub use config::{ServerConfig, SERVER_CONFIG_KEYS};

/// Serves the Kafka protocol on `listener` until `shutdown` completes, then stops accepting,
/// lets in-flight requests finish (at most 30 s), and shuts the broker down.
///
/// # Errors
/// Storage errors reading or writing the cluster id file.
///
/// # Cancel safety
/// Not cancel safe: dropping the future drops open connections without shutting the broker down.
pub async fn serve(
    broker: Broker,
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future,
) -> Result<()> {
    let local = listener
        .local_addr()
        .map_err(|e| Error::storage("reading the listener address", e))?;
    let ctx = Arc::new(api::Ctx::new(broker, config, local)?);
    serve_ctx(ctx, listener, shutdown).await
}

/// [`serve`] with its context built (tests look into it).
pub(crate) async fn serve_ctx(ctx: Arc<api::Ctx>, listener: TcpListener, shutdown: impl Future) -> Result<()> {
    let local = listener
        .local_addr()
        .map_err(|e| Error::storage("reading the listener address", e))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    tracing::info!(addr = %local, advertised = %format!("{}:{}", ctx.host, ctx.port), "kafka listener up");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let ctx = ctx.clone();
                    let stop = stop_rx.clone();
                    conns.spawn(async move { conn::run(ctx, stream, peer, stop).await });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(30), drain).await.is_err() {
        tracing::warn!("connections did not finish within 30 s; closing them");
        conns.abort_all();
    }
    ctx.broker.shutdown().await;
    tracing::info!("server stopped");
    Ok(())
}
