//! Golden cases for `brook test-runner`: each folder of `tests/test-runner/` holds
//! `statements.sql`, optionally `input.json`, `output.json` and `args.txt` (extra flags, one
//! a line), and `expected.txt`: the exit code, stdout and stderr of the real binary run in that
//! folder. `UPDATE_EXPECT=1 cargo test -p brook-cli --test it test_runner` rewrites
//! `expected.txt` after review.

use std::path::{Path, PathBuf};
use std::process::Command;

fn case_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/test-runner").join(name)
}

/// Runs `brook test-runner` on the files of `name` and checks the transcript.
fn golden(name: &str) {
    let dir = case_dir(name);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_brook"));
    cmd.current_dir(&dir).env_remove("RUST_LOG").args(["test-runner", "-s", "statements.sql", "-o", "output.json"]);
    if dir.join("input.json").exists() {
        cmd.args(["-i", "input.json"]);
    }
    if let Ok(extra) = std::fs::read_to_string(dir.join("args.txt")) {
        cmd.args(extra.lines().map(str::trim).filter(|l| !l.is_empty()));
    }
    let out = cmd.output().expect("running brook");
    let transcript = format!(
        "exit code: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().map_or("signal".into(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let expected_path = dir.join("expected.txt");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &transcript).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    assert_eq!(transcript, expected, "transcript of {name} (UPDATE_EXPECT=1 rewrites it)");
}

#[test]
fn malformed_input_file() {
    golden("malformed-input");
}

#[test]
fn missing_output_file() {
    golden("missing-output-file");
}

#[test]
fn unterminated_statement() {
    golden("unterminated-statement");
}

#[test]
fn extension_dir_is_refused() {
    golden("extension-dir");
}

#[test]
fn passing_project_filter() {
    golden("project-filter");
}

#[test]
fn failing_comparison() {
    golden("wrong-value");
}

#[test]
fn record_count_mismatch() {
    golden("missing-record");
}

#[test]
fn rejected_statement() {
    golden("unknown-column");
}

#[test]
fn insert_values_without_input_file() {
    golden("insert-values");
}

#[test]
fn windowed_aggregate() {
    golden("tumbling-count");
}
