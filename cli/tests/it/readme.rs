//! The README as a user types it: its first commands, its examples and its tour of the tools,
//! run against the built `brook` and a server on a free port.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::repo;
use crate::util::{have, TestServer};

/// The fenced blocks of `lang` in `markdown`, in order.
pub(crate) fn blocks(markdown: &str, lang: &str) -> Vec<String> {
    let (mut out, mut current): (Vec<String>, Option<String>) = (Vec::new(), None);
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_end() == format!("```{lang}") => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => out.extend(current.take()),
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
        }
    }
    out
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).unwrap()
}

/// The README's commands with their continuation lines joined, comments dropped.
fn commands(block: &str) -> Vec<String> {
    let joined = block.replace("\\\n", " ");
    joined
        .lines()
        .map(|l| l.split_once(" #").map_or(l, |(c, _)| c).trim().to_owned())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn readme_starts_with_the_two_commands_and_ci_runs_the_second() {
    let text = readme();
    assert!(text.starts_with("# Brook\n\n```sh\n"), "the README must open with its commands");
    let first = &blocks(&text, "sh")[0];
    assert_eq!(commands(first), ["./x sql", "./x test"]);
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == "exec ./x test"), "{ci}");
}

#[test]
fn readme_examples_exist_and_run_in_release() {
    let manifest = std::fs::read_to_string(repo().join("examples/Cargo.toml")).unwrap();
    let mut seen = 0;
    for cmd in blocks(&readme(), "sh").iter().flat_map(|b| commands(b)).filter(|c| c.starts_with("cargo run")) {
        assert!(cmd.starts_with("cargo run --release --example "), "examples are slow in debug builds: {cmd}");
        let name = cmd["cargo run --release --example ".len()..].split_whitespace().next().unwrap();
        assert!(manifest.contains(&format!("name = \"{name}\"")), "no example {name}");
        seen += 1;
    }
    assert!(seen >= 4);
}

#[test]
fn x_sql_server_and_install_pass_the_users_flags_on() {
    // `./x` with stand-ins for cargo and the built binary, which print their arguments.
    let dir = tempfile::tempdir().unwrap();
    let stubs = dir.path().join("bin");
    std::fs::create_dir_all(stubs.join("release")).unwrap();
    let echo = "#!/bin/sh\necho \"$(basename \"$0\") $*\"\n";
    for f in ["cargo", "release/brook"] {
        std::fs::write(stubs.join(f), echo).unwrap();
        assert!(Command::new("chmod").arg("+x").arg(stubs.join(f)).status().unwrap().success());
    }
    let path = format!("{}:{}", stubs.display(), std::env::var("PATH").unwrap_or_default());
    let x = |args: &[&str]| {
        let out = Command::new(repo().join("x")).args(args).env("PATH", &path).env("CARGO_TARGET_DIR", &stubs).env("X_NO_DEPS", "1").output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        x(&["server", "--data-dir", "/tmp/elsewhere", "--listen", "127.0.0.1:19092"]),
        "cargo build --release -p brook-cli --bin brook\nbrook server --data-dir /tmp/elsewhere --listen 127.0.0.1:19092\n"
    );
    assert_eq!(
        x(&["sql", "--data-dir", "/tmp/elsewhere", "-e", "SHOW STREAMS;"]),
        "cargo build --release -p brook-cli --bin brook\nbrook sql --data-dir /tmp/elsewhere -e SHOW STREAMS;\n"
    );
    assert_eq!(x(&["install"]), "cargo install --path cli --locked\n");
}

/// A directory standing in for the checkout: an `x` whose `install` finds `brook` already on
/// the PATH (the test puts the built binary there) and which refuses anything else.
fn checkout_stub(dir: &Path) {
    let x = dir.join("x");
    std::fs::write(
        &x,
        "#!/bin/sh\ncase \"$1\" in\n  install) command -v brook >/dev/null ;;\n  *) echo \"the tour does not run ./x $*\" >&2; exit 2 ;;\nesac\n",
    )
    .unwrap();
    let chmod = Command::new("chmod").arg("+x").arg(&x).status().unwrap();
    assert!(chmod.success());
}

fn run_tour(script: &str, dir: &Path) -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_brook")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx.recv_timeout(Duration::from_secs(600)).expect("the tour did not finish").unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the tour failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}", out.status);
    stdout.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_tour_runs_as_written_twice() {
    let tour: Vec<String> = blocks(&readme(), "sh").into_iter().filter(|b| b.contains("\nbrook ")).collect();
    assert_eq!(tour.len(), 1, "one block of `brook` commands");
    let tour = &tour[0];
    assert!(!tour.contains("./x server"), "the tour runs against a server started before it");
    assert!(have("kcat"), "the tour uses kcat: install it (./x deps)");
    let srv = TestServer::start().await;
    let script = tour.replace("127.0.0.1:9092", &srv.addr);
    let dir = tempfile::tempdir().unwrap();
    checkout_stub(dir.path());
    let (s, d) = (script.clone(), dir.path().to_owned());
    let first = tokio::task::spawn_blocking(move || run_tour(&s, &d)).await.unwrap();
    for want in ["Created topic words.\n", "a => hello\n", "b => world\n", "\ntour\n", "1000000 records sent, "] {
        assert!(first.contains(want), "{want:?} missing from the tour's output:\n{first}");
    }
    assert!(first.contains(&format!("{:15} {:15} {:10} {:15} {:15} {:15}", "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")), "{first}");
    // Every command can be run again: the second run finds the topic and the group there.
    let d = dir.path().to_owned();
    let second = tokio::task::spawn_blocking(move || run_tour(&script, &d)).await.unwrap();
    assert!(!second.contains("Created topic"), "{second}");
    srv.stop().await;
}
