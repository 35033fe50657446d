//! One client connection: read frames, answer them in order.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::api::{self, Ctx, Reply};
use super::session::ConnState;

/// Serves one connection until the client closes it, a bad frame arrives, it idles for
/// `connections.max.idle.ms`, or the server stops.
pub(crate) async fn run(ctx: Arc<Ctx>, stream: TcpStream, peer: SocketAddr, mut stop: watch::Receiver<bool>) {
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    let mut wr = BufWriter::with_capacity(64 * 1024, wr);
    let mut state = ConnState::new(peer, !ctx.config.sasl_users.is_empty());
    let idle = ctx.config.connections_max_idle;
    let max = ctx.config.socket_request_max_bytes.min(ctx.memory.budget());
    tracing::debug!(%peer, "connection open");
    loop {
        let mut len = [0u8; 4];
        tokio::select! {
            r = tokio::time::timeout(idle, rd.read_exact(&mut len)) => match r {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => break,
                Err(_) => {
                    tracing::debug!(%peer, "closing idle connection");
                    break;
                }
            },
            _ = stop.wait_for(|s| *s) => break,
        }
        let size = i32::from_be_bytes(len);
        let max = if state.authenticated { max } else { max.min(ctx.config.sasl_server_max_receive_size) };
        let Some(size) = usize::try_from(size).ok().filter(|s| *s <= max) else {
            let authenticated = state.authenticated;
            tracing::warn!(%peer, size, max, authenticated, "invalid request size; closing connection");
            break;
        };
        // The body buffer and its share of `queued.max.request.bytes` grow as bytes arrive.
        let body = match tokio::time::timeout(idle, ctx.memory.read_body(&mut rd, size)).await {
            Ok(Ok(body)) => body,
            _ => break,
        };
        let reply = if state.raw_sasl_next {
            api::sasl_authenticate::raw_token(&ctx, &mut state, &body.bytes)
        } else {
            api::handle_frame(&ctx, &mut state, body.bytes.into()).await
        };
        drop(body.held);
        match reply {
            Reply::Send(bytes) => {
                if wr.write_all(&bytes).await.is_err() || wr.flush().await.is_err() {
                    break;
                }
            }
            Reply::SendParts(parts) => {
                // Large parts bypass the buffer (BufWriter writes them straight to the socket).
                let mut ok = true;
                for p in &parts {
                    if wr.write_all(p).await.is_err() {
                        ok = false;
                        break;
                    }
                }
                if !ok || wr.flush().await.is_err() {
                    break;
                }
            }
            Reply::Nothing => {}
            Reply::Close(why) => {
                tracing::info!(%peer, reason = %why, "closing connection");
                let _ = wr.flush().await;
                break;
            }
        }
    }
    tracing::debug!(%peer, "connection closed");
}
