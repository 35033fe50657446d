//! The session: statements in, the ksql CLI's output out. Runs scripts (`-e`, `-f`,
//! `RUN SCRIPT`) and the interactive loop (rustyline: `ksql> ` prompt, history, completion),
//! over either backend: the embedded broker and engine, opened in the background while the
//! prompt shows, or a ksqlDB REST server ([`super::rest`]).
//!
//! Where Brook differs from the ksql CLI: embedded, `DEFINE`, `SET` and their kin are run by
//! the engine in process, so `SHOW VARIABLES` and `SHOW PROPERTIES` agree with what queries
//! see (over REST they stay in the CLI and travel with each request, as in the ksql CLI); no
//! `SPOOL`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use brook_broker::Broker;
use brook_sql_engine::engine::entities::{CommandStatus, FieldInfo};
use brook_sql_engine::engine::print::{PrintSpec, Printer, TopicFollower};
use brook_sql_engine::parser::ast::Statement;
use brook_sql_engine::{Engine, EngineConfig, Row, StatementResult};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};

use super::complete::{cli_command, split_statements, SqlHelper};
use super::render::{self, OutputFormat};
use super::rest::{self, ClientState, RestClient};

/// What the session was asked to do next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// A statement failed: scripts stop here.
    Failed,
    Exit,
}

/// The embedded broker, opened by a background thread, and the engine over it, started on
/// first use: the prompt shows before either is ready.
pub(crate) struct Embedded {
    pub(crate) opening: Option<mpsc::Receiver<anyhow::Result<Broker>>>,
    pub(crate) broker: Option<Broker>,
    pub(crate) engine: Option<Engine>,
    pub(crate) state_dir: PathBuf,
}

impl Embedded {
    pub(crate) fn broker(&mut self) -> anyhow::Result<&Broker> {
        if self.broker.is_none() {
            let rx = self.opening.take().ok_or_else(|| anyhow::anyhow!("the embedded broker did not open"))?;
            self.broker = Some(rx.recv().map_err(|_| anyhow::anyhow!("the embedded broker did not open"))??);
        }
        self.broker.as_ref().ok_or_else(|| anyhow::anyhow!("the embedded broker did not open"))
    }

    fn engine(&mut self) -> anyhow::Result<&mut Engine> {
        if self.engine.is_none() {
            let broker = self.broker()?.clone();
            let engine = Engine::new(EngineConfig::live(broker, self.state_dir.clone())).map_err(|e| anyhow::anyhow!("cannot start the SQL engine: {e}"))?;
            self.engine = Some(engine);
        }
        self.engine.as_mut().ok_or_else(|| anyhow::anyhow!("cannot start the SQL engine"))
    }

    /// The broker, if it is open already (never waits).
    fn ready_broker(&mut self) -> Option<&Broker> {
        if self.broker.is_none() {
            if let Some(Ok(Ok(b))) = self.opening.as_ref().map(mpsc::Receiver::try_recv) {
                self.broker = Some(b);
                self.opening = None;
            }
        }
        self.broker.as_ref()
    }
}

/// Where statements run.
pub(crate) enum Backend {
    Embedded(Embedded),
    Rest { client: RestClient, state: ClientState },
}

/// One `brook sql` session.
pub(crate) struct Session<'a> {
    pub(crate) backend: Backend,
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

/// A running query's rows, embedded or over REST.
enum Rows {
    Embedded(brook_sql_engine::engine::push::PushQuery),
    Rest(rest::RestQuery),
}

impl Rows {
    fn next_row(&mut self, timeout: Duration) -> Option<Row> {
        match self {
            Rows::Embedded(q) => q.next_row(timeout),
            Rows::Rest(q) => q.next_row(timeout),
        }
    }

    /// Whether the query ended by itself (its `LIMIT`; for REST, the server ended the response).
    fn complete(&self) -> bool {
        match self {
            Rows::Embedded(q) => q.is_complete(),
            Rows::Rest(q) => q.ended(),
        }
    }
}

/// The welcome message (the ksql CLI's layout, Brook's name).
pub(crate) fn banner(version: &str, location: &str) -> String {
    let art = ["", "       ___                 _", "      | _ )_ _ ___  ___  _| |__", "      | _ \\ '_/ _ \\/ _ \\/ / / /",
        "      |___/_| \\___/\\___/_/\\_\\", "", "  Streaming SQL Engine, Kafka-style"];
    let frame = format!("{:18}{}\n", "", "=".repeat(43));
    let body: String = art.iter().map(|l| format!("{:18}={}=\n", "", super::table::pad(l, 41))).collect();
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
        let upper = super::table::single_line(text).to_ascii_uppercase();
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
        // PRINT follows the topic here in both modes (the engine's PRINT is a snapshot).
        let parsed = brook_sql_engine::parser::parse(text).ok().and_then(|mut s| (s.len() == 1).then(|| s.remove(0).statement));
        if let Some(Statement::Print { topic, from_beginning, interval, limit }) = &parsed {
            let spec = PrintSpec { topic: topic.clone(), from_beginning: *from_beginning, interval: interval.unwrap_or(1), limit: *limit };
            return self.print(text, spec);
        }
        let first = upper.split_whitespace().next().unwrap_or_default().to_owned();
        let results = match &mut self.backend {
            Backend::Embedded(e) => match e.engine() {
                Ok(engine) => engine.execute(text).map_err(|e| e.to_string()),
                Err(e) => Err(crate::report(&e)),
            },
            Backend::Rest { .. } => return self.rest_statement(text, &first, &upper, parsed),
        };
        let results = match results {
            Ok(r) => r,
            Err(e) => {
                self.emit(&format!("{e}\n"));
                return Flow::Failed;
            }
        };
        for r in results {
            match r {
                StatementResult::PushQuery(q) => {
                    let (id, schema) = (q.id.clone(), q.schema.clone());
                    self.stream(&id, &schema, Rows::Embedded(q));
                }
                other => self.show(&other, text, &first),
            }
        }
        Flow::Continue
    }

    /// Prints one result that is not a push query.
    fn show(&mut self, r: &StatementResult, text: &str, first: &str) {
        match r {
            StatementResult::Status(s) if matches!(first, "SET" | "UNSET") && self.format == OutputFormat::Tabular => {
                self.emit(&format!("{}\n", s.message));
            }
            // DEFINE prints nothing; nor does INSERT VALUES (ksqlDB answers with no entity).
            StatementResult::Status(s) if matches!(first, "DEFINE" | "UNDEFINE") || s.message.is_empty() => {}
            StatementResult::Printed(lines) => {
                let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                self.emit(&format!("{text}Topic printing ceased\n"));
            }
            other => {
                let text = render::entity(other, text, self.format, self.width);
                self.emit(&text);
            }
        }
    }

    /// A statement against a REST server: `SET`, `UNSET`, `DEFINE`, `UNDEFINE` and
    /// `SHOW VARIABLES` stay in the CLI, queries go to `/query-stream`, the rest to `/ksql`.
    fn rest_statement(&mut self, text: &str, first: &str, upper: &str, parsed: Option<Statement>) -> Flow {
        let Backend::Rest { client, state } = &mut self.backend else { return Flow::Failed };
        let local = match parsed {
            Some(Statement::SetProperty { name, value }) => {
                state.properties.insert(name.clone(), value.clone());
                Some(Ok(format!("Successfully changed local property '{name}' to '{value}'.")))
            }
            Some(Statement::UnsetProperty { name }) => {
                state.properties.remove(&name);
                Some(Ok(format!("Successfully unset local property '{name}'.")))
            }
            Some(Statement::DefineVariable { name, value }) => {
                state.variables.insert(name.clone(), value);
                Some(Ok(format!("Defined variable '{name}'.")))
            }
            Some(Statement::UndefineVariable { name }) => match state.variables.remove(&name) {
                Some(_) => Some(Ok(format!("Undefined variable '{name}'."))),
                None => Some(Err(format!("Cannot undefine variable '{name}' which was never defined"))),
            },
            _ if matches!(upper.trim_end_matches(';'), "SHOW VARIABLES" | "LIST VARIABLES") => {
                let vars = state.variables.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                let r = StatementResult::Variables(vars);
                self.show(&r, text, first);
                return Flow::Continue;
            }
            _ => None,
        };
        match local {
            Some(Ok(message)) => {
                let status = StatementResult::Status(CommandStatus { statement_text: text.to_owned(), status: "SUCCESS".into(), message, query_id: None });
                self.show(&status, text, first);
                return Flow::Continue;
            }
            Some(Err(e)) => {
                self.emit(&format!("{e}\n"));
                return Flow::Failed;
            }
            None => {}
        }
        if first == "SELECT" {
            let push = upper.contains("EMIT CHANGES") || upper.contains("EMIT FINAL");
            let q = match client.query(text, state) {
                Ok(q) => q,
                Err(e) => {
                    self.emit(&format!("{}\n", crate::report(&e)));
                    return Flow::Failed;
                }
            };
            let (id, schema) = (q.id.clone(), q.schema.clone());
            if push {
                self.stream(&id, &schema, Rows::Rest(q));
                return Flow::Continue;
            }
            let mut q = q;
            let mut rows = Vec::new();
            while !q.ended() {
                rows.extend(q.next_row(Duration::from_millis(100)));
            }
            if let Some(e) = q.error.take() {
                self.emit(&format!("{e}\n"));
                return Flow::Failed;
            }
            self.show(&StatementResult::Rows { schema, rows }, text, first);
            return Flow::Continue;
        }
        match client.ksql(text, state) {
            Ok(entities) => {
                for e in &entities {
                    if self.format == OutputFormat::Json {
                        self.emit(&format!("{}\n", serde_json::to_string_pretty(e).unwrap_or_default()));
                        continue;
                    }
                    match rest::entity(e) {
                        Some(r) => self.show(&r, text, first),
                        None => self.emit(&format!("{}\n", serde_json::to_string_pretty(e).unwrap_or_default())),
                    }
                }
                Flow::Continue
            }
            Err(e) => {
                self.emit(&format!("{}\n", crate::report(&e)));
                Flow::Failed
            }
        }
    }

    /// Whether the user pressed Ctrl-C since `seen`, or the run's timeout passed.
    fn stopped(&self, seen: u64, start: Instant) -> bool {
        self.interrupts.load(Ordering::SeqCst) != seen || self.timeout.is_some_and(|t| start.elapsed() >= t)
    }

    /// `PRINT`: follows the topic until its `LIMIT` or Ctrl-C.
    fn print(&mut self, text: &str, spec: PrintSpec) -> Flow {
        let (start, seen) = (Instant::now(), self.interrupts.load(Ordering::SeqCst));
        match &mut self.backend {
            Backend::Rest { client, state } => {
                let mut lines = match client.print(text, state) {
                    Ok(l) => l,
                    Err(e) => {
                        let msg = crate::report(&e);
                        self.emit(&format!("{msg}\n"));
                        return Flow::Failed;
                    }
                };
                let mut printed = 0u64;
                while !self.stopped(seen, start) && !lines.ended() && !spec.limit.is_some_and(|l| printed >= l) {
                    match lines.next_line(Duration::from_millis(100)) {
                        Some(Ok(l)) if l.trim().is_empty() => {}
                        Some(Ok(l)) => {
                            printed += u64::from(l.starts_with("rowtime:"));
                            self.emit(&format!("{l}\n"));
                        }
                        Some(Err(e)) => {
                            self.emit(&format!("{e}\n"));
                            break;
                        }
                        None => {}
                    }
                }
            }
            Backend::Embedded(e) => {
                let follower = e.broker().and_then(|b| TopicFollower::open(b, &spec.topic, spec.from_beginning).map_err(anyhow::Error::from));
                let mut follower = match follower {
                    Ok(f) => f,
                    Err(err) => {
                        self.emit(&format!("{}\n", crate::report(&err)));
                        return Flow::Failed;
                    }
                };
                let mut printer = Printer::new(spec);
                while !self.stopped(seen, start) && !printer.done() {
                    match follower.poll(Duration::from_millis(100)) {
                        Ok(records) => {
                            let text: String = records.iter().map(|r| printer.record(r.partition, r.timestamp, r.key.as_deref(), r.value.as_deref())).collect();
                            if !text.is_empty() {
                                self.emit(&text);
                            }
                        }
                        Err(err) => {
                            self.emit(&format!("{err}\n"));
                            break;
                        }
                    }
                }
            }
        }
        self.emit("Topic printing ceased\n");
        Flow::Continue
    }

    /// Streams a push query's rows until its `LIMIT`, `--query-row-limit`, `--query-timeout`
    /// or Ctrl-C.
    fn stream(&mut self, id: &str, schema: &[FieldInfo], mut q: Rows) {
        let header = match self.format {
            OutputFormat::Tabular => render::row_header(schema, self.width),
            OutputFormat::Json => render::json_header(id, schema),
        };
        self.emit(&header);
        let (start, seen) = (Instant::now(), self.interrupts.load(Ordering::SeqCst));
        let mut rows = 0u64;
        let mut ended = false;
        loop {
            if self.stopped(seen, start) || self.row_limit.is_some_and(|l| rows >= l) {
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
                None if q.complete() => {
                    ended = true;
                    if let Rows::Rest(r) = &mut q {
                        if let Some(e) = r.error.take() {
                            self.emit(&format!("{e}\n"));
                            break;
                        }
                    }
                    self.emit("Limit Reached\n");
                    break;
                }
                None => {}
            }
        }
        match (q, &self.backend) {
            (Rows::Embedded(mut q), _) => q.close(),
            (Rows::Rest(q), Backend::Rest { client, .. }) => {
                drop(q);
                if !ended {
                    client.close_query(id);
                }
            }
            (Rows::Rest(_), _) => {}
        }
        self.emit("Query terminated\n");
    }

    /// The names tab completion offers: sources, topics, functions (what is known without
    /// waiting: nothing from an engine that has not started yet).
    fn names(&mut self, functions: &[String]) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Backend::Embedded(e) = &mut self.backend {
            if let Some(engine) = &e.engine {
                names.extend(engine.catalog().sources().map(|s| s.name.clone()));
            }
            if let Some(b) = e.ready_broker() {
                names.extend(b.list_topics());
            }
        }
        names.extend(functions.iter().cloned());
        names
    }

    fn functions(&mut self) -> Vec<String> {
        let results = match &mut self.backend {
            Backend::Embedded(e) => e.engine.as_mut().and_then(|engine| engine.execute("SHOW FUNCTIONS;").ok()),
            Backend::Rest { client, state } => client.ksql("SHOW FUNCTIONS", state).ok().map(|es| es.iter().filter_map(rest::entity).collect()),
        };
        match results.and_then(|mut r| r.pop()) {
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
        let mut functions = self.functions();
        self.width = editor.dimensions().map_or(self.width, |(w, _)| usize::from(w));
        self.emit(&banner(env!("CARGO_PKG_VERSION"), &self.location));
        loop {
            if functions.is_empty() {
                functions = self.functions();
            }
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
