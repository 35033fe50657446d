//! `brook sql`: the ksql CLI look-alike. With no URL it opens the embedded broker on
//! `--data-dir` (default `./data`), a live SQL engine over it, and the REPL in process: one
//! command from install to a `ksql> ` prompt.
//!
//! Layout: [`repl`] (the session and the interactive loop), [`complete`] (statement ends, tab
//! completion), [`render`] and [`describe`] (what is printed, as pure functions).
//!
//! Where Brook differs from the ksql CLI: no REST mode yet (`brook sql http://...` says so);
//! the engine runs in the CLI's process, so queries stop when the CLI exits; history lives in
//! `~/.brook_sql_history`; `--query-timeout` also applies to push queries started from the
//! prompt; see also the module docs of [`repl`], [`complete`] and [`render`].

mod complete;
mod describe;
pub mod render;
mod repl;
#[cfg(test)]
mod render_tests;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::{bail, Context};
use brook_broker::{Broker, BrokerConfig};
use brook_sql_engine::{Engine, EngineConfig};
use clap::Args;

use self::render::OutputFormat;
use self::repl::{Flow, Session};

/// Flags of `brook sql`.
#[derive(Debug, Clone, Args)]
pub struct SqlArgs {
    /// A ksqlDB server to connect to (not supported yet: leave it out for the embedded engine).
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

pub(crate) async fn run(args: SqlArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if let Some(server) = &args.server {
        bail!("brook sql {server}: connecting to a ksqlDB REST server is not supported yet; run `brook sql` without a URL for the embedded engine (--data-dir DIR)");
    }
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
    crate::server::check_data_dir(&args.data_dir)?;
    let config = BrokerConfig { log_dir: args.data_dir.clone(), ..BrokerConfig::default() };
    let broker = Broker::open(config).await.with_context(|| format!("cannot open the broker's data directory {}", args.data_dir.display()))?;
    let interrupts = count_interrupts();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Vec<u8>, mpsc::SyncSender<()>)>();
    let location = format!("the embedded engine (data directory {})", args.data_dir.display());
    let (b, state_dir) = (broker.clone(), args.data_dir.join("brook_sql_state"));
    let timeout = args.query_timeout.map(Duration::from_millis);
    let row_limit = args.query_row_limit;
    // The session runs on its own thread: the engine and the line editor block.
    let session = std::thread::Builder::new().name("brook-sql".into()).spawn(move || -> anyhow::Result<bool> {
        let mut writer = ChannelWriter { buf: Vec::new(), tx };
        let engine = Engine::new(EngineConfig::live(b.clone(), state_dir)).context("cannot start the SQL engine")?;
        let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(80);
        let mut s = Session { engine, broker: b, format, row_limit, timeout, interrupts, out: &mut writer, width, location };
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
    })?;
    while let Some((text, ack)) = rx.recv().await {
        out.write_all(&text)?;
        out.flush()?;
        let _ = ack.send(());
    }
    let result = session.join().map_err(|_| anyhow::anyhow!("the SQL session panicked"));
    broker.shutdown().await;
    if !result?? {
        bail!("a statement failed");
    }
    Ok(())
}
