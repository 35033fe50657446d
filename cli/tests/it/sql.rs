//! `brook sql`: scripts (`-e`, `-f`) without a terminal, and the REPL in a real terminal (tmux).

use std::process::Command;
use std::time::{Duration, Instant};

fn brook_sql(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_brook"))
        .env_remove("RUST_LOG")
        .env("COLUMNS", "80")
        .arg("sql")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

const CREATE: &str = "CREATE STREAM RIVERS (ID INT KEY, NAME STRING) WITH (KAFKA_TOPIC='rivers', PARTITIONS=1, FORMAT='JSON');";

#[test]
fn execute_runs_statements_and_a_push_query_until_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let sql = format!(
        "{CREATE}
         INSERT INTO RIVERS (ID, NAME) VALUES (1, 'Loire');
         INSERT INTO RIVERS (ID, NAME) VALUES (2, 'Rhine');
         SET 'auto.offset.reset'='earliest';
         SELECT * FROM RIVERS EMIT CHANGES LIMIT 2;
         SHOW STREAMS"
    );
    let (ok, out, err) = brook_sql(dir.path(), &["-e", &sql]);
    assert!(ok, "{err}");
    assert!(out.starts_with("\n Message        \n----------------\n Stream created \n----------------\n"), "{out}");
    assert!(out.contains("Successfully changed local property 'auto.offset.reset' to 'earliest'.\n"), "{out}");
    let rows = "+--------------------------------------+--------------------------------------+\n\
                |ID                                    |NAME                                  |\n\
                +--------------------------------------+--------------------------------------+\n\
                |1                                     |Loire                                 |\n\
                |2                                     |Rhine                                 |\n\
                Limit Reached\nQuery terminated\n";
    assert!(out.contains(rows), "{out}");
    assert!(out.contains(" RIVERS              | rivers                      | JSON       | JSON         | false    \n"), "{out}");

    // The data directory keeps the topic: a second run sees the records.
    let (ok, out, err) = brook_sql(dir.path(), &["--output", "json", "-e", "PRINT 'rivers' FROM BEGINNING LIMIT 1;"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("Key format: JSON or KAFKA_STRING\nValue format: JSON or KAFKA_STRING\nrowtime: "), "{out}");
    assert!(out.contains(", key: 1, value: {\"NAME\":\"Loire\"}, partition: 0\nTopic printing ceased\n"), "{out}");
}

#[test]
fn file_runs_a_script_with_variables_and_stops_at_the_first_error() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("inner.sql");
    std::fs::write(&inner, "SHOW VARIABLES;\n").unwrap();
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        format!(
            "-- a comment; with a semicolon\nCREATE STREAM ${{name}} (ID INT KEY, NAME STRING)\n  WITH (KAFKA_TOPIC='${{name}}', PARTITIONS=1, FORMAT='JSON');\n\
             RUN SCRIPT '{}';\nSELECT * FROM NOPE EMIT CHANGES;\nSHOW STREAMS;\n",
            inner.display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let (ok, out, _) = brook_sql(&data, &["-d", "name=lakes", "-f", script.to_str().unwrap()]);
    assert!(!ok, "a failing statement fails the run");
    assert!(out.contains(" Stream created \n"), "{out}");
    assert!(out.contains(" Variable Name | Value \n-----------------------\n name          | lakes \n"), "{out}");
    assert!(out.contains("NOPE does not exist"), "{out}");
    assert!(!out.contains("Stream Name"), "the statements after the error do not run: {out}");
}

/// A tmux session running one command, killed on drop.
pub(crate) struct Tmux {
    name: String,
    /// The REPL prompts seen so far, for [`Tmux::next_prompt`].
    prompts: std::cell::Cell<usize>,
}

impl Tmux {
    pub(crate) fn start(command: &str) -> Tmux {
        static SESSIONS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("brook-sql-test-{}-{n}", std::process::id());
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", "120", "-y", "50", command])
            .status()
            .expect("tmux is installed by ./x deps")
            .success();
        assert!(ok, "tmux new-session failed");
        Tmux { name, prompts: std::cell::Cell::new(0) }
    }

    pub(crate) fn screen(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-J", "-S", "-1000", "-t", &self.name]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until `text` shows `count` times.
    pub(crate) fn wait_for(&self, text: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= count {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {count} x {text:?} in:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the REPL's next `ksql>` prompt. Type each statement at its prompt: keys typed
    /// while a statement runs may be dropped when the line editor takes the terminal back.
    pub(crate) fn next_prompt(&self) {
        self.prompts.set(self.prompts.get() + 1);
        self.wait_for("ksql>", self.prompts.get());
    }

    /// Types `line` and waits for the prompt after it.
    pub(crate) fn run(&self, line: &str) {
        self.line(line);
        self.next_prompt();
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        assert!(Command::new("tmux").args(["send-keys", "-t", &self.name]).args(keys).status().unwrap().success());
    }

    /// Types `line` and Enter (a final `;` escaped: tmux reads it as a command separator).
    pub(crate) fn line(&self, line: &str) {
        let text = match line.strip_suffix(';') {
            Some(l) => format!("{l}\\;"),
            None => line.to_owned(),
        };
        self.keys(&["-l", &text]);
        self.keys(&["Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.name]).status();
    }
}

#[test]
fn the_repl_in_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let command = format!(
        "env -u RUST_LOG BROOK_SQL_HISTORY={} {} sql --data-dir {}; echo BROOK-EXITED; sleep 60",
        history.display(),
        env!("CARGO_BIN_EXE_brook"),
        dir.path().join("data").display()
    );
    let t = Tmux::start(&command);
    t.next_prompt();
    t.line("CREATE STREAM RIVERS (ID INT KEY, NAME STRING)");
    t.run("  WITH (KAFKA_TOPIC='rivers', PARTITIONS=1, FORMAT='JSON');");
    assert!(t.screen().contains("Stream created"), "{}", t.screen());
    t.run("INSERT INTO RIVERS (ID, NAME) VALUES (1, 'Loire');");
    t.run("INSERT INTO RIVERS (ID, NAME) VALUES (2, 'Rhine');");
    t.run("SET 'auto.offset.reset'='earliest';");
    assert!(t.screen().contains("Successfully changed local property"), "{}", t.screen());
    t.run("SELECT * FROM RIVERS EMIT CHANGES LIMIT 2;");
    let screen = t.screen();
    assert!(screen.contains("Limit Reached"), "{screen}");
    assert!(screen.contains("|1 ") && screen.contains("|Loire ") && screen.contains("|Rhine "), "{screen}");

    // Without a LIMIT the query runs until Ctrl-C, which stops it and not the REPL.
    t.line("SELECT NAME FROM RIVERS EMIT CHANGES;");
    t.wait_for("|Rhine ", 2);
    t.keys(&["C-c"]);
    t.wait_for("Query terminated", 2);
    t.next_prompt();
    t.run("SHOW STREAMS;");
    assert!(t.screen().contains("| rivers "), "SHOW STREAMS lists RIVERS:\n{}", t.screen());

    // PRINT without LIMIT follows the topic until Ctrl-C.
    t.line("PRINT 'rivers' FROM BEGINNING;");
    t.wait_for("value: {\"NAME\":\"Rhine\"}, partition: 0", 1);
    assert!(!t.screen().contains("Topic printing ceased"), "PRINT stopped by itself:\n{}", t.screen());
    t.keys(&["C-c"]);
    t.wait_for("Topic printing ceased", 1);
    t.next_prompt();
    t.line("exit");
    t.wait_for("Exiting Brook.", 1);
    t.wait_for("BROOK-EXITED", 1);

    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("CREATE STREAM RIVERS (ID INT KEY, NAME STRING)\\n  WITH (KAFKA_TOPIC='rivers'"), "{saved}");
}
