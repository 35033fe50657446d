//! Helpers for tests, behind the `test-support` feature (enable it in `[dev-dependencies]`):
//! waiting on a condition with a timeout instead of sleeping, a Python venv for the tests
//! that drive real Python clients, and a PostgreSQL server of its own per test
//! ([`PostgresServer`]).
//!
//! # Examples
//! ```
//! use std::time::Duration;
//! let mut polls = 0;
//! brook_common::test_support::wait_until("the third poll", Duration::from_secs(5), || {
//!     polls += 1;
//!     polls == 3
//! });
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

/// How long to wait between two checks of a condition.
const POLL: Duration = Duration::from_millis(20);

/// Blocks until `cond` holds, checking every 20 ms.
///
/// # Panics
/// When `cond` still does not hold after `timeout`, with "timed out waiting for {what}".
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// [`wait_until`] for async conditions, sleeping on the tokio timer between checks.
///
/// # Panics
/// When `cond` still does not hold after `timeout`, with "timed out waiting for {what}".
///
/// # Cancel safety
/// Cancel safe: dropping the future only stops the waiting.
pub async fn wait_until_async<F, Fut>(what: &str, timeout: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// A Python venv shared by the workspace's tests (`$CARGO_TARGET_DIR/python-venv`) with
/// `packages` (pip requirement specifiers) installed, unless the Python code `check` already
/// runs there; `None` when the venv cannot be made or pip cannot install (offline machine), so
/// the caller can skip with a message.
pub fn python_venv(check: &str, packages: &[&str]) -> Option<std::path::PathBuf> {
    use std::process::Command;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("python-venv");
    let py = dir.join("bin/python");
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    if ok(Command::new(&py).args(["-c", check])) {
        return Some(py);
    }
    if !py.exists() && !ok(Command::new("python3").args(["-m", "venv"]).arg(&dir)) {
        return None;
    }
    if !ok(Command::new(&py).args(["-m", "pip", "install", "-q"]).args(packages)) {
        return None;
    }
    Some(py)
}

/// A PostgreSQL server of its own for one test (Debian's `postgresql` package, which `./x`
/// installs): `initdb` on a temporary data directory, `pg_ctl start` on a free port of
/// 127.0.0.1, trust authentication for the user `postgres`, database `postgres`; stopped
/// (`pg_ctl stop -m immediate`) and removed on drop. PostgreSQL refuses to run as root, so as
/// root the server runs as the `postgres` user the package creates (`runuser`).
///
/// # Examples
/// ```no_run
/// let pg = brook_common::test_support::PostgresServer::start();
/// let url = pg.jdbc_url(); // jdbc:postgresql://127.0.0.1:PORT/postgres
/// pg.psql("CREATE TABLE t (id INT PRIMARY KEY)");
/// ```
#[derive(Debug)]
pub struct PostgresServer {
    dir: std::path::PathBuf,
    bin: std::path::PathBuf,
    port: u16,
}

impl PostgresServer {
    /// Starts a server (a few seconds: `initdb` then `pg_ctl start -w`).
    ///
    /// # Panics
    /// When PostgreSQL is not installed (`./x deps` installs it) or does not start; the panic
    /// carries the server's log.
    pub fn start() -> PostgresServer {
        use std::process::Command;
        let bin = postgres_bin_dir().expect("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb (run ./x deps, or apt-get install postgresql)");
        let mut last_log = String::new();
        // A free port can be taken between finding it and binding it: retry a few times.
        for attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
            static SERVERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("brook-pg-{}-{n}-{attempt}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("the PostgreSQL directory");
            let server = PostgresServer { dir, bin: bin.clone(), port };
            if as_root() {
                let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&server.dir).status().expect("chown");
                assert!(status.success(), "chown postgres {}: {status}", server.dir.display());
            }
            let data = server.dir.join("data");
            let out = server
                .command("initdb")
                .args(["-D", &data.to_string_lossy(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "-N"])
                .output()
                .expect("initdb");
            assert!(out.status.success(), "initdb failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            if server.pg_ctl_start() {
                return server;
            }
            let log = server.dir.join("server.log");
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("PostgreSQL did not start:\n{last_log}");
    }

    /// `pg_ctl start -w` on the server's port; whether it started.
    fn pg_ctl_start(&self) -> bool {
        let data = self.dir.join("data");
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off", self.port, self.dir.display());
        let log = self.dir.join("server.log");
        self.command("pg_ctl")
            .args(["-D", &data.to_string_lossy(), "-o", &opts, "-l", &log.to_string_lossy(), "-w", "-t", "60", "start"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Stops the server (`pg_ctl stop -m fast`: connections are cut, committed data kept) for
    /// [`resume`](Self::resume).
    ///
    /// # Panics
    /// When pg_ctl fails.
    pub fn stop(&self) {
        let data = self.dir.join("data");
        let out = self.command("pg_ctl").args(["-D", &data.to_string_lossy(), "-m", "fast", "-w", "stop"]).output().expect("pg_ctl stop");
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts the server again after [`stop`](Self::stop), on the same port.
    ///
    /// # Panics
    /// When it does not start, with its log.
    pub fn resume(&self) {
        assert!(self.pg_ctl_start(), "PostgreSQL did not start again:\n{}", std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default());
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `jdbc:postgresql://127.0.0.1:PORT/postgres`, as the JDBC connectors' `connection.url`.
    pub fn jdbc_url(&self) -> String {
        format!("jdbc:postgresql://127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `sql` with `psql` (stops at the first error) and returns its unaligned output
    /// without headers: one line per row, columns separated by `|`.
    ///
    /// # Panics
    /// When psql fails, with its error.
    pub fn psql(&self, sql: &str) -> String {
        let out = std::process::Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("psql");
        assert!(out.status.success(), "psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
    }

    /// `program` of the PostgreSQL installation, run as `postgres` when this process is root.
    fn command(&self, program: &str) -> std::process::Command {
        let path = self.bin.join(program);
        if as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            std::process::Command::new(path)
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.command("pg_ctl").args(["-D", &data.to_string_lossy(), "-m", "immediate", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/VERSION/bin` that has `initdb`.
fn postgres_bin_dir() -> Option<std::path::PathBuf> {
    let mut versions: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn as_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
