//! The session: statements in, the ksql CLI's output out. Runs scripts (`-e`, `-f`,
//! `RUN SCRIPT`) and the interactive loop (rustyline: `ksql> ` prompt, history, completion).
//!
//! Where Brook differs from the ksql CLI: `PRINT` shows the records in the topic when it runs
//! and stops (no following); `DEFINE`, `SET` and their kin are run by the engine in process,
//! so `SHOW VARIABLES` and `SHOW PROPERTIES` agree with what queries see; no `SPOOL`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brook_broker::Broker;
use brook_sql_engine::engine::push::PushQuery;
use brook_sql_engine::{Engine, StatementResult};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};

use super::complete::{cli_command, split_statements, SqlHelper};
use super::render::{self, OutputFormat};

/// What the session was asked to do next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// A statement failed: scripts stop here.
    Failed,
    Exit,
}

/// One `brook sql` session over an in-process engine.
pub(crate) struct Session<'a> {
    pub(crate) engine: Engine,
    pub(crate) broker: Broker,
    pub(crate) format: OutputFormat,
    pub(crate) row_limit: Option<u64>,
    pub(crate) timeout: Option<Duration>,
    /// Counts SIGINTs; a push query stops when it moves.
    pub(crate) interrupts: Arc<AtomicU64>,
    pub(crate) out: &'a mut dyn Write,
    pub(crate) width: usize,
    pub(crate) location: String,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("format", &self.format).finish_non_exhaustive()
    }
}

/// The welcome message (the ksql CLI's layout, Brook's name).
pub(crate) fn banner(version: &str, location: &str) -> String {
    let art = ["", "       ___                 _", "      | _ )_ _ ___  ___  _| |__", "      | _ \\ '_/ _ \\/ _ \\/ / / /",
        "      |___/_| \\___/\\___/_/\\_\\", "", "  Streaming SQL Engine, Kafka-style"];
    let frame = format!("{:18}{}\n", "", "=".repeat(43));
    let body: String = art.iter().map(|l| format!("{:18}={}=\n", "", super::render::pad(l, 41))).collect();
    format!(
        "\n{frame}{body}{frame}\nCLI v{version}, Server v{version} located at {location}\nServer Status: RUNNING\n\n\
         Having trouble? Type 'help' (case-insensitive) for a rundown of how things work!\n\n"
    )
}

const HELP: &str = "
Description:
    The Brook SQL CLI, a look-alike of the ksqlDB CLI over an embedded engine.
    Statements end with ';' and may span lines; CLI commands need no ';'.

CLI commands:
    help                 Show this message.
    exit / quit          Leave the CLI (or press Ctrl-D).
    clear                Clear the screen.
    history              Show the statements entered so far.
    output [TABULAR|JSON] Show or set the output format.
    version / server     Show the version and where the engine runs.

Statements (see docs/sql.md): CREATE STREAM/TABLE [AS SELECT], INSERT INTO, SELECT ... EMIT CHANGES
(Ctrl-C stops it), SHOW STREAMS/TABLES/TOPICS/QUERIES/PROPERTIES/VARIABLES/FUNCTIONS, DESCRIBE,
EXPLAIN, PRINT, TERMINATE, DROP, SET/UNSET, DEFINE/UNDEFINE, RUN SCRIPT '<file>'.
";

impl Session<'_> {
    fn emit(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// Runs every statement and CLI command of `text`, in order; stops at the first failure.
    pub(crate) fn run_text(&mut self, text: &str) -> Flow {
        if cli_command(text).is_some() {
            return self.cli(text.trim());
        }
        let (mut statements, unfinished) = split_statements(text);
        if unfinished {
            // The last statement's `;` is optional in scripts and `-e`, as in ksqlDB.
            let (_, last) = text.rsplit_once(';').unwrap_or(("", text));
            statements.push(last.trim().to_owned());
        }
        for s in statements {
            match self.statement(&s) {
                Flow::Continue => {}
                other => return other,
            }
        }
        Flow::Continue
    }

    fn cli(&mut self, line: &str) -> Flow {
        let line = line.trim_end_matches(';');
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or_default().to_ascii_lowercase();
        match cmd.as_str() {
            "exit" | "quit" => return Flow::Exit,
            "help" => self.emit(HELP),
            "clear" => self.emit("\x1b[2J\x1b[H"),
            "version" => self.emit(&format!("Version: {}\n", env!("CARGO_PKG_VERSION"))),
            "server" => self.emit(&format!("{}\n", self.location)),
            "history" => {
                let path = history_path();
                let text = path.and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
                let lines: String = text.lines().filter(|l| !l.starts_with("#V2")).enumerate().map(|(i, l)| format!("{:>4}: {}\n", i + 1, l.replace("\\n", "\n      "))).collect();
                self.emit(&lines);
            }
            "output" => match words.next() {
                None => self.emit(&format!("Output format: {}\n", self.format.name())),
                Some(f) => match OutputFormat::parse(f.trim_matches('\'')) {
                    Some(f) => {
                        self.format = f;
                        self.emit(&format!("Output format set to {}\n", f.name()));
                    }
                    None => self.emit(&format!("Invalid output format: '{f}' (valid formats: [JSON, TABULAR])\n")),
                },
            },
            _ => {}
        }
        Flow::Continue
    }

    fn statement(&mut self, text: &str) -> Flow {
        let upper = render::single_line(text).to_ascii_uppercase();
        if upper.starts_with("RUN SCRIPT") {
            let path = text.trim()[10..].trim().trim_matches('\'').to_owned();
            return match std::fs::read_to_string(&path) {
                Ok(script) => self.run_text(&script),
                Err(e) => {
                    self.emit(&format!("Failed to read file: {path}: {e}\n"));
                    Flow::Failed
                }
            };
        }
        let results = match self.engine.execute(text) {
            Ok(r) => r,
            Err(e) => {
                self.emit(&format!("{e}\n"));
                return Flow::Failed;
            }
        };
        let first = upper.split_whitespace().next().unwrap_or_default().to_owned();
        for r in results {
            match r {
                StatementResult::PushQuery(q) => self.stream(q),
                StatementResult::Status(s) if matches!(first.as_str(), "SET" | "UNSET") && self.format == OutputFormat::Tabular => {
                    self.emit(&format!("{}\n", s.message));
                }
                // DEFINE prints nothing; nor does INSERT VALUES (ksqlDB answers with no entity).
                StatementResult::Status(s) if matches!(first.as_str(), "DEFINE" | "UNDEFINE") || s.message.is_empty() => {}
                StatementResult::Printed(lines) => {
                    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                    self.emit(&format!("{text}Topic printing ceased\n"));
                }
                other => {
                    let text = render::entity(&other, text, self.format, self.width);
                    self.emit(&text);
                }
            }
        }
        Flow::Continue
    }

    /// Streams a push query's rows until its `LIMIT`, `--query-row-limit`, `--query-timeout`
    /// or Ctrl-C.
    fn stream(&mut self, mut q: PushQuery) {
        let header = match self.format {
            OutputFormat::Tabular => render::row_header(&q.schema, self.width),
            OutputFormat::Json => render::json_header(&q.id, &q.schema),
        };
        self.emit(&header);
        let (start, seen) = (Instant::now(), self.interrupts.load(Ordering::SeqCst));
        let mut rows = 0u64;
        loop {
            if self.interrupts.load(Ordering::SeqCst) != seen
                || self.timeout.is_some_and(|t| start.elapsed() >= t)
                || self.row_limit.is_some_and(|l| rows >= l)
            {
                break;
            }
            match q.next_row(Duration::from_millis(100)) {
                Some(r) => {
                    rows += 1;
                    let text = match self.format {
                        OutputFormat::Tabular => render::row(&r, self.width),
                        OutputFormat::Json => render::json_row(&r),
                    };
                    self.emit(&text);
                }
                None if q.is_complete() => {
                    self.emit("Limit Reached\n");
                    break;
                }
                None => {}
            }
        }
        q.close();
        self.emit("Query terminated\n");
    }

    /// The names tab completion offers: sources, topics, functions.
    fn names(&mut self, functions: &[String]) -> Vec<String> {
        let mut names: Vec<String> = self.engine.catalog().sources().map(|s| s.name.clone()).collect();
        names.extend(self.broker.list_topics());
        names.extend(functions.iter().cloned());
        names
    }

    fn functions(&mut self) -> Vec<String> {
        match self.engine.execute("SHOW FUNCTIONS;").ok().and_then(|mut r| r.pop()) {
            Some(StatementResult::Functions(f)) => f.into_iter().map(|f| f.name).collect(),
            _ => Vec::new(),
        }
    }

    /// The interactive loop: banner, `ksql> `, until `exit` or Ctrl-D.
    pub(crate) fn interactive(&mut self) -> anyhow::Result<()> {
        let config = Config::builder().history_ignore_dups(true)?.auto_add_history(false).max_history_size(10_000)?.build();
        let mut editor: Editor<SqlHelper, FileHistory> = Editor::with_config(config)?;
        let names = Arc::new(Mutex::new(Vec::new()));
        editor.set_helper(Some(SqlHelper { names: names.clone() }));
        let history = history_path();
        if let Some(h) = &history {
            if h.exists() {
                if let Err(e) = editor.load_history(h) {
                    tracing::warn!(error = %e, path = %h.display(), "cannot read the history file");
                }
            }
        }
        let functions = self.functions();
        self.width = editor.dimensions().map_or(self.width, |(w, _)| usize::from(w));
        self.emit(&banner(env!("CARGO_PKG_VERSION"), &self.location));
        loop {
            if let Ok(mut n) = names.lock() {
                *n = self.names(&functions);
            }
            match editor.readline("ksql> ") {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                        if let Some(h) = &history {
                            if let Err(e) = editor.save_history(h) {
                                self.emit(&format!("Error saving history file: {e}\n"));
                            }
                        }
                    }
                    self.width = editor.dimensions().map_or(self.width, |(w, _)| usize::from(w));
                    if self.run_text(&line) == Flow::Exit {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => {}
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e.into()),
            }
        }
        self.emit("Exiting Brook.\n");
        Ok(())
    }
}

/// `~/.brook_sql_history` (`BROOK_SQL_HISTORY` overrides it).
pub(crate) fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BROOK_SQL_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".brook_sql_history"))
}
