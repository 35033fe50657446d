//! PostgreSQL connectors with the config names of Confluent's JDBC connectors:
//! [`JdbcSinkConnector`] (`io.confluent.connect.jdbc.JdbcSinkConnector`: insert, upsert or
//! update rows from records, delete on tombstones, create and evolve tables) and
//! [`JdbcSourceConnector`] (`io.confluent.connect.jdbc.JdbcSourceConnector`: stream a table's
//! or a query's rows, in bulk, incrementing, timestamp or timestamp+incrementing mode, resuming
//! from the stored offset). Only PostgreSQL is spoken (the `postgres` crate), reached through a
//! `connection.url` of the form `jdbc:postgresql://HOST:PORT/DATABASE`.
//!
//! Connector tasks are synchronous and run on the worker's tokio threads, and the `postgres`
//! client runs its own runtime; so each task's connection lives on a thread of its own
//! ([`PgConn`]) and the task hands it closures.

mod sink;
mod source;
mod types;

use std::sync::mpsc;
use std::thread::JoinHandle;

pub use sink::{JdbcSinkConnector, JdbcSinkTask};
pub use source::{JdbcSourceConnector, JdbcSourceTask};

use crate::config::{ConfigDef, ConfigType, Importance};
use crate::config::Config;
use crate::error::{Error, Result};

/// Where and as whom to connect: `connection.url`, `connection.user`, `connection.password`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// The host. Default: localhost.
    pub host: String,
    /// The port. Default: 5432.
    pub port: u16,
    /// The database. Default: the user's name, as PostgreSQL's.
    pub database: Option<String>,
    /// `connection.user` (or `user=` in the URL). Default: postgres.
    pub user: String,
    /// `connection.password` (or `password=` in the URL).
    pub password: Option<String>,
}

impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[hidden]"))
            .finish()
    }
}

impl ConnectionSettings {
    /// Reads `connection.url` (`jdbc:postgresql://HOST[:PORT]/DATABASE[?user=U&password=P]`;
    /// `postgresql://` and `postgres://` are taken too), `connection.user` and
    /// `connection.password` (which win over the URL's).
    ///
    /// # Errors
    /// [`Error::Config`] on a missing or malformed URL, or another database's.
    pub fn from_config(config: &Config) -> Result<ConnectionSettings> {
        let url = config.get("connection.url").map(|u| u.trim()).filter(|u| !u.is_empty());
        let url = url.ok_or_else(|| Error::Config("Missing required configuration \"connection.url\" which has no default value.".into()))?;
        let bad = |why: &str| Error::Config(format!("Invalid value {url} for configuration connection.url: {why}"));
        let rest = ["jdbc:postgresql://", "postgresql://", "postgres://"]
            .iter()
            .find_map(|p| url.strip_prefix(p))
            .ok_or_else(|| bad("only PostgreSQL is supported (expected jdbc:postgresql://HOST:PORT/DATABASE)"))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (hostport, database) = location.split_once('/').unwrap_or((location, ""));
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (h, p.parse::<u16>().map_err(|_| bad(&format!("bad port {p:?}")))?),
            _ => (hostport, 5432),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut settings = ConnectionSettings {
            host: if host.is_empty() { "localhost".into() } else { host.to_owned() },
            port,
            database: (!database.is_empty()).then(|| database.to_owned()),
            user: "postgres".into(),
            password: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("user", v)) => settings.user = v.to_owned(),
                Some(("password", v)) => settings.password = Some(v.to_owned()),
                _ => {}
            }
        }
        if let Some(u) = config.get("connection.user").filter(|u| !u.is_empty()) {
            settings.user = u.clone();
        }
        if let Some(p) = config.get("connection.password") {
            settings.password = Some(p.clone());
        }
        Ok(settings)
    }

    fn pg_config(&self) -> postgres::Config {
        let mut c = postgres::Config::new();
        c.host(&self.host).port(self.port).user(&self.user).application_name("brook-connect");
        // Timestamps without a time zone are read and written as UTC.
        c.options("-c TimeZone=UTC");
        c.connect_timeout(std::time::Duration::from_secs(30));
        if let Some(d) = &self.database {
            c.dbname(d);
        }
        if let Some(p) = &self.password {
            c.password(p);
        }
        c
    }
}

type Job = Box<dyn FnOnce(&mut Option<postgres::Client>) + Send>;

/// A PostgreSQL connection on a thread of its own, usable from synchronous code running inside
/// an async runtime (where the `postgres` client's own runtime may not block). A closed
/// connection (server restarted) is reopened on the next call.
#[derive(Debug)]
pub struct PgConn {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl PgConn {
    /// Connects.
    ///
    /// # Errors
    /// [`Error::Database`] when the server cannot be reached or refuses the login.
    pub fn connect(settings: &ConnectionSettings) -> Result<PgConn> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let config = settings.pg_config();
        let thread = std::thread::Builder::new()
            .name("brook-connect-pg".into())
            .spawn(move || {
                let mut client: Option<postgres::Client> = None;
                while let Ok(job) = rx.recv() {
                    if client.as_ref().is_none_or(postgres::Client::is_closed) {
                        client = config.connect(postgres::NoTls).map_err(|e| tracing::warn!(error = %db_message(&e), "cannot connect to PostgreSQL")).ok();
                    }
                    job(&mut client);
                }
            })
            .map_err(|e| Error::Database(format!("cannot start the PostgreSQL connection thread: {e}")))?;
        let conn = PgConn { jobs: Some(jobs), thread: Some(thread) };
        let where_ = format!("{}:{}", settings.host, settings.port);
        conn.run(|_| Ok(())).map_err(|e| Error::Database(format!("cannot connect to PostgreSQL at {where_}: {e}")))?;
        Ok(conn)
    }

    /// Runs `f` on the connection and waits for its result.
    ///
    /// # Errors
    /// What `f` returns ([`pg_err`] turns the client's errors into [`Error::Database`] with
    /// PostgreSQL's message: `ERROR: relation "x" does not exist`), or [`Error::Database`] when
    /// there is no connection.
    pub fn run<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut postgres::Client) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |client| {
            let r = match client {
                Some(c) => f(c),
                None => Err(Error::Retriable("not connected to PostgreSQL (see the log for why)".into())),
            };
            let _ = tx.send(r);
        });
        let gone = || Error::Database("the PostgreSQL connection thread stopped".into());
        self.jobs.as_ref().ok_or_else(gone)?.send(job).map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())?
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A client error: [`Error::Database`] with PostgreSQL's message when the server refused the
/// statement, [`Error::Retriable`] when the connection failed (the server went away; the next
/// call reconnects).
pub fn pg_err(e: postgres::Error) -> Error {
    // SQLSTATE 08xxx (connection exceptions) and 57P0x (the server shutting down or starting)
    // are the connection's too.
    let code = e.as_db_error().map(|d| d.code().code().to_owned());
    match code {
        Some(c) if !c.starts_with("08") && !c.starts_with("57P") => Error::Database(db_message(&e)),
        _ => Error::Retriable(format!("PostgreSQL connection: {}", db_message(&e))),
    }
}

/// PostgreSQL's own message (`ERROR: column "x" does not exist`), or the client's.
fn db_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut m = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                m.push_str(&format!(" ({d})"));
            }
            m
        }
        None => e.to_string(),
    }
}

/// `name` as a quoted identifier: `"name"`, inner quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A possibly schema-qualified table name (`schema.table` or `table`) as quoted identifiers.
pub(crate) fn quote_table(name: &str) -> String {
    match name.split_once('.') {
        Some((schema, table)) => format!("{}.{}", quote_ident(schema), quote_ident(table)),
        None => quote_ident(name),
    }
}

/// The comma-separated list of `key` (trimmed, empty ones dropped).
pub(crate) fn list(config: &Config, key: &str) -> Vec<String> {
    config.get(key).map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
}

/// `key` as a number, or `default`.
pub(crate) fn number<T: std::str::FromStr>(config: &Config, key: &str, default: T) -> Result<T> {
    match config.get(key).map(|v| v.trim()) {
        None | Some("") => Ok(default),
        Some(v) => v.parse().map_err(|_| Error::Config(format!("Invalid value {v} for configuration {key}: Not a number"))),
    }
}

/// `key` as a boolean, or `default`.
pub(crate) fn boolean(config: &Config, key: &str, default: bool) -> Result<bool> {
    match config.get(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(Error::Config(format!("Invalid value {v} for configuration {key}: Expected value to be either true or false"))),
    }
}

/// The connection keys of both JDBC connectors, for `validate`.
pub(crate) fn connection_def() -> ConfigDef {
    ConfigDef::new()
        .define("connection.url", ConfigType::String, None, Importance::High, "JDBC connection URL: jdbc:postgresql://HOST:PORT/DATABASE (PostgreSQL only).")
        .validated(postgres_url)
        .in_group("Database", 1)
        .define("connection.user", ConfigType::String, None, Importance::High, "JDBC connection user. Default: postgres (or user= in the URL).")
        .optional()
        .in_group("Database", 2)
        .define("connection.password", ConfigType::Password, None, Importance::High, "JDBC connection password.")
        .optional()
        .in_group("Database", 3)
}

/// A validator: a PostgreSQL `connection.url`.
fn postgres_url(v: &str) -> std::result::Result<(), String> {
    let config: Config = [("connection.url".to_owned(), v.to_owned())].into();
    ConnectionSettings::from_config(&config).map(|_| ()).map_err(|e| e.to_string().rsplit_once(": ").map_or_else(|| e.to_string(), |(_, why)| why.to_owned()))
}

/// A validator's check: `v` is one of `allowed` (any case).
pub(crate) fn check_one_of(v: &str, allowed: &[&str]) -> std::result::Result<(), String> {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(v.trim())) {
        Ok(())
    } else {
        Err(format!("String must be one of: {}", allowed.join(", ")))
    }
}

/// `key`, one of `allowed` (lower case), or `default`.
pub(crate) fn one_of(config: &Config, key: &str, allowed: &[&str], default: &str) -> Result<String> {
    let v = config.get(key).map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned());
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(Error::Config(format!("Invalid value {v} for configuration {key}: String must be one of: {}", allowed.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<ConnectionSettings> {
        ConnectionSettings::from_config(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn jdbc_urls_are_read_and_the_user_keys_win() {
        let s = settings(&[("connection.url", "jdbc:postgresql://db.example:6543/shop?user=a&password=b"), ("connection.user", "bob")]).unwrap();
        assert_eq!((s.host.as_str(), s.port, s.database.as_deref(), s.user.as_str(), s.password.as_deref()), ("db.example", 6543, Some("shop"), "bob", Some("b")));
        let s = settings(&[("connection.url", "jdbc:postgresql://localhost/")]).unwrap();
        assert_eq!((s.port, s.database), (5432, None));
        let e = settings(&[("connection.url", "jdbc:mysql://h:3306/x")]).unwrap_err().to_string();
        assert!(e.contains("only PostgreSQL is supported"), "{e}");
        let e = settings(&[]).unwrap_err().to_string();
        assert!(e.contains("\"connection.url\""), "{e}");
        assert!(format!("{:?}", settings(&[("connection.url", "postgres://h:1/d?password=secret")]).unwrap()).contains("[hidden]"));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_table("public.Orders"), "\"public\".\"Orders\"");
    }
}
