//! `brook sql [http://host:port]`: the ksql CLI look-alike. With no URL it opens the embedded
//! broker on `--data-dir` (default `./data`), a live SQL engine over it, and the REPL in process:
//! one command from install to a `ksql> ` prompt (the prompt shows at once; the broker opens in
//! the background and the engine starts with the first statement). With a URL it talks to a
//! ksqlDB REST server (`brook server`, or ksqlDB itself), as `ksql http://host:8088` does.
//!
//! Layout: [`repl`] (the session and the interactive loop), [`rest`] (the REST client),
//! [`complete`] (statement ends, tab completion),
//! [`render`] and [`describe`] (what is printed, as pure functions, drawn with [`table`]).
//!
//! Where Brook differs from the ksql CLI: embedded, the engine runs in the CLI's process, so
//! queries stop when the CLI exits; history lives in `~/.brook_sql_history`; `--query-timeout`
//! also applies to push queries started from the prompt; see also the module docs of [`repl`],
//! [`rest`], [`complete`] and [`render`].

mod complete;
mod describe;
mod password;
pub mod render;
mod repl;
mod rest;
mod table;
#[cfg(test)]
mod render_tests;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::{bail, Context};
use brook_broker::{Broker, BrokerConfig};
use clap::Args;

use self::render::OutputFormat;
use self::repl::{Backend, Embedded, Flow, Session};

/// Flags of `brook sql`.
#[derive(Debug, Clone, Args)]
pub struct SqlArgs {
    /// A ksqlDB REST server, `http://HOST:PORT` or `https://HOST:PORT` (`brook server` listens
    /// on http://127.0.0.1:8088).
    /// Without it the CLI runs the embedded broker and engine on --data-dir.
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
    /// The embedded broker's data directory. Default: ./data.
    #[arg(long = "data-dir", value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Run these statements and exit.
    #[arg(short = 'e', long = "execute", value_name = "STATEMENTS")]
    pub execute: Option<String>,
    /// Run the statements of this file and exit.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Define a variable, `NAME=VALUE` (repeatable).
    #[arg(short = 'd', long = "define", value_name = "NAME=VALUE")]
    pub define: Vec<String>,
    /// Stop push queries after this many rows.
    #[arg(long = "query-row-limit", value_name = "ROWS")]
    pub query_row_limit: Option<u64>,
    /// Stop push queries after this many milliseconds.
    #[arg(long = "query-timeout", value_name = "MS")]
    pub query_timeout: Option<u64>,
    /// `TABULAR` or `JSON`. Default: TABULAR.
    #[arg(long = "output", value_name = "FORMAT", default_value = "TABULAR")]
    pub output: String,
    /// The user name for the server's basic authentication (REST mode).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// The password for the server's basic authentication (REST mode); asked for when -u is
    /// given without it.
    #[arg(short = 'p', long = "password", value_name = "PASSWORD", requires = "user")]
    pub password: Option<String>,
    /// A PEM file of CA certificates to trust for an https:// server, besides the Mozilla roots.
    #[arg(long = "ssl-ca-file", value_name = "PEM")]
    pub ssl_ca_file: Option<PathBuf>,
    /// Accept any certificate of an https:// server (self-signed test set-ups only).
    #[arg(long = "ssl-skip-verify")]
    pub ssl_skip_verify: bool,
}

/// A writer for the session's thread: each flush hands the text to the task that owns the real
/// output and waits until it is written, so a prompt never overtakes the output before it.
struct ChannelWriter {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::UnboundedSender<(Vec<u8>, mpsc::SyncSender<()>)>,
}

impl Write for ChannelWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let (ack, done) = mpsc::sync_channel(1);
        let text = std::mem::take(&mut self.buf);
        if self.tx.send((text, ack)).is_err() {
            return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "output closed"));
        }
        let _ = done.recv();
        Ok(())
    }
}

/// Counts SIGINTs (Ctrl-C outside the line editor) instead of dying of them.
fn count_interrupts() -> Arc<AtomicU64> {
    let count = Arc::new(AtomicU64::new(0));
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::interrupt()) {
            Ok(mut s) => {
                let c = count.clone();
                tokio::spawn(async move {
                    while s.recv().await.is_some() {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot catch Ctrl-C; it will end the CLI"),
        }
    }
    count
}

pub(crate) async fn run(args: SqlArgs, input: &mut dyn std::io::BufRead, out: &mut dyn Write) -> anyhow::Result<()> {
    let Some(format) = OutputFormat::parse(&args.output) else {
        bail!("invalid --output {:?}: expected TABULAR or JSON", args.output);
    };
    let mut defines = Vec::new();
    for (k, v) in crate::parse_props("--define", &args.define)? {
        defines.push(format!("DEFINE {k}='{}';", v.replace('\'', "''")));
    }
    let script = match (&args.execute, &args.file) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(f)) => Some(std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?),
        (None, None) => None,
    };
    let rt = tokio::runtime::Handle::current();
    let (backend, location) = match &args.server {
        Some(url) => {
            let (url, user, mut password, rt) = (url.clone(), args.user.clone(), args.password.clone(), rt.clone());
            if let (Some(u), None) = (&user, &password) {
                password = Some(password::prompt(u, input)?);
            }
            let tls = rest::TlsOptions { ca_file: args.ssl_ca_file.clone(), skip_verify: args.ssl_skip_verify };
            // Blocking requests: off the runtime's workers.
            let client = tokio::task::spawn_blocking(move || rest::RestClient::connect(&url, user, password, &tls, rt)).await??;
            let location = format!("{} (HTTP/{})", args.server.as_deref().unwrap_or_default(), if client.http2 { "2" } else { "1.1" });
            (Backend::Rest { client, state: rest::ClientState::default() }, location)
        }
        None => {
            crate::server::check_data_dir(&args.data_dir)?;
            let (tx, rx) = mpsc::sync_channel(1);
            let config = BrokerConfig { log_dir: args.data_dir.clone(), ..BrokerConfig::default() };
            let dir = args.data_dir.clone();
            tokio::spawn(async move {
                let opened = Broker::open(config).await.with_context(|| format!("cannot open the broker's data directory {}", dir.display()));
                let _ = tx.send(opened);
            });
            let embedded = Embedded { opening: Some(rx), broker: None, engine: None, state_dir: args.data_dir.join("brook_sql_state") };
            (Backend::Embedded(embedded), format!("the embedded engine (data directory {})", args.data_dir.display()))
        }
    };
    let interrupts = count_interrupts();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Vec<u8>, mpsc::SyncSender<()>)>();
    let timeout = args.query_timeout.map(Duration::from_millis);
    let row_limit = args.query_row_limit;
    // The session runs on its own thread: the engine and the line editor block.
    let session = std::thread::Builder::new().name("brook-sql".into()).spawn(move || -> (anyhow::Result<bool>, Option<Broker>) {
        let mut writer = ChannelWriter { buf: Vec::new(), tx };
        let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(80);
        let mut s = Session { backend, format, row_limit, timeout, interrupts, out: &mut writer, width, location };
        let result = (|| {
            if let (Backend::Embedded(e), true) = (&mut s.backend, script.is_some() || !std::io::stdin().is_terminal()) {
                e.broker()?; // a script reports a broker that cannot open as the run's error
            }
            for d in &defines {
                if s.run_text(d) != Flow::Continue {
                    return Ok(false);
                }
            }
            match script {
                Some(text) => Ok(s.run_text(&text) != Flow::Failed),
                None if std::io::stdin().is_terminal() => s.interactive().map(|()| true),
                None => {
                    let mut text = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
                    Ok(s.run_text(&text) != Flow::Failed)
                }
            }
        })();
        let broker = match s.backend {
            Backend::Embedded(mut e) => {
                drop(e.engine.take());
                e.broker.or_else(|| e.opening.and_then(|rx| rx.recv().ok()).and_then(Result::ok))
            }
            Backend::Rest { .. } => None,
        };
        (result, broker)
    })?;
    while let Some((text, ack)) = rx.recv().await {
        out.write_all(&text)?;
        out.flush()?;
        let _ = ack.send(());
    }
    let (result, broker) = session.join().map_err(|_| anyhow::anyhow!("the SQL session panicked"))?;
    if let Some(broker) = broker {
        broker.shutdown().await;
    }
    if !result? {
        bail!("a statement failed");
    }
    Ok(())
}
