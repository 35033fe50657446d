//! ksqlDB query-validation-test (QTT) conformance: every case of every `tests/qtt/**/*.json`
//! runs on the engine's test mode (`testing::run_on_engine`); the results go to
//! `tests/qtt/REPORT.md` (passed / failed / unsupported per file, with the reason), followed by
//! the hand-written `tests/qtt/ksqldb-run.md` (the results on ksqlDB's own files).
//!
//! The test fails only when a case named in `tests/qtt/expected-pass.txt` does not pass (or no
//! longer exists), so the list is a ratchet that grows with the engine.
//! `UPDATE_EXPECT=1 cargo test -p brook-sql-engine --test it qtt` rewrites the list to the
//! cases that pass now; review the diff before committing it.
//!
//! `BROOK_QTT_DIR=/path/to/query-validation-tests` runs another directory of QTT files (for
//! example ksqlDB's own) instead; the report then goes to the cargo target's tmp directory and
//! the expected-pass list is not consulted.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use brook_sql_engine::testing::{model, run_on_engine, Outcome, TestCase};

/// A case that runs longer is reported as failed (its thread is left behind).
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Appended to the bundled `REPORT.md`: results on ksqlDB's own QTT files (not bundled).
const KSQLDB_RUN: &str = "ksqldb-run.md";

fn bundled_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/qtt")
}

/// Every `*.json` under `dir`, sorted, as (path relative to `dir` without `.json`, path).
fn qtt_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()))
        {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let rel = path.strip_prefix(dir).unwrap().with_extension("");
                out.push((rel.to_string_lossy().replace('\\', "/"), path));
            }
        }
    }
    out.sort();
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Passed,
    Failed,
    Unsupported,
}

struct CaseResult {
    name: String,
    status: Status,
    reason: String,
}

/// Runs one case on its own thread, so a panic or a hang fails that case only.
fn run_guarded(case: TestCase) -> (Status, String) {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(case.name.clone())
        .spawn(move || {
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_on_engine(&case)));
            let _ = tx.send(outcome.map_err(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default()
            }));
        });
    if let Err(e) = spawned {
        return (Status::Failed, format!("cannot start a thread: {e}"));
    }
    match rx.recv_timeout(CASE_TIMEOUT) {
        Ok(Ok(Outcome::Passed)) => (Status::Passed, String::new()),
        Ok(Ok(Outcome::Failed(f))) => (Status::Failed, f.to_string()),
        Ok(Ok(Outcome::Unsupported(why))) => (Status::Unsupported, why),
        Ok(Err(panic)) => (Status::Failed, format!("panicked: {panic}")),
        Err(_) => (Status::Failed, format!("no result within {CASE_TIMEOUT:?}")),
    }
}

/// Runs every case of `dir`: per file, its results (an unreadable file is one failed entry).
fn run_dir(dir: &Path) -> Vec<(String, Vec<CaseResult>)> {
    qtt_files(dir)
        .into_iter()
        .map(|(stem, path)| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let results = match model::qtt_file(&text, &stem) {
                Ok(cases) => cases
                    .into_iter()
                    .map(|case| {
                        let name = case.name.clone();
                        let (status, reason) = run_guarded(case);
                        CaseResult {
                            name,
                            status,
                            reason,
                        }
                    })
                    .collect(),
                Err(e) => vec![CaseResult {
                    name: format!("{stem} (file)"),
                    status: Status::Failed,
                    reason: format!("invalid test file: {e}"),
                }],
            };
            (stem, results)
        })
        .collect()
}

fn count(results: &[CaseResult], status: Status) -> usize {
    results.iter().filter(|r| r.status == status).count()
}

/// `REPORT.md`: totals, a table per file, then each case with the reason it did not pass.
fn report(files: &[(String, Vec<CaseResult>)]) -> String {
    let all: Vec<&CaseResult> = files.iter().flat_map(|(_, r)| r).collect();
    let total = |s: Status| all.iter().filter(|r| r.status == s).count();
    let mut out = String::new();
    let _ = writeln!(out, "# ksqlDB query-validation tests on Brook\n");
    let _ = writeln!(
        out,
        "Written by `cargo test -p brook-sql-engine --test it qtt`; do not edit by hand."
    );
    let _ = writeln!(out, "Cases listed in `expected-pass.txt` must pass; see `README.md` for where the cases come from.\n");
    let _ = writeln!(
        out,
        "**{} cases: {} passed, {} failed, {} unsupported.**\n",
        all.len(),
        total(Status::Passed),
        total(Status::Failed),
        total(Status::Unsupported)
    );
    let _ = writeln!(
        out,
        "| file | passed | failed | unsupported |\n|---|---:|---:|---:|"
    );
    for (stem, results) in files {
        let _ = writeln!(
            out,
            "| {stem}.json | {} | {} | {} |",
            count(results, Status::Passed),
            count(results, Status::Failed),
            count(results, Status::Unsupported)
        );
    }
    for (stem, results) in files {
        let _ = writeln!(out, "\n## {stem}.json\n");
        for r in results {
            let tag = match r.status {
                Status::Passed => "PASS",
                Status::Failed => "FAIL",
                Status::Unsupported => "UNSUPPORTED",
            };
            let _ = writeln!(out, "- {tag} `{}`", r.name);
            if !r.reason.is_empty() {
                let lines: Vec<&str> = r.reason.lines().take(12).collect();
                let _ = writeln!(out, "\n  ```\n  {}\n  ```\n", lines.join("\n  "));
            }
        }
    }
    out
}

fn read_expected(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn write_expected(path: &Path, passing: &BTreeSet<String>) {
    let mut text = String::from(
        "# QTT cases that must pass (one name a line). Rewritten by\n\
         # UPDATE_EXPECT=1 cargo test -p brook-sql-engine --test it qtt\n",
    );
    for name in passing {
        text.push_str(name);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn passing(files: &[(String, Vec<CaseResult>)]) -> BTreeSet<String> {
    files
        .iter()
        .flat_map(|(_, r)| r)
        .filter(|r| r.status == Status::Passed)
        .map(|r| r.name.clone())
        .collect()
}

/// The expected cases that did not pass, each with the reason.
fn regressions(expected: &BTreeSet<String>, files: &[(String, Vec<CaseResult>)]) -> Vec<String> {
    let passing = passing(files);
    expected
        .iter()
        .filter(|name| !passing.contains(*name))
        .map(|name| {
            let result = files.iter().flat_map(|(_, r)| r).find(|r| r.name == *name);
            format!(
                "{name}: {}",
                result.map_or("no such case", |r| r.reason.as_str())
            )
        })
        .collect()
}

#[test]
fn query_validation_tests() {
    if let Some(dir) = std::env::var_os("BROOK_QTT_DIR") {
        let files = run_dir(Path::new(&dir));
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("qtt-REPORT.md");
        std::fs::write(&path, report(&files)).unwrap();
        println!(
            "QTT report for {}: {}",
            Path::new(&dir).display(),
            path.display()
        );
        return;
    }
    let dir = bundled_dir();
    let files = run_dir(&dir);
    // The hand-written record of runs over ksqlDB's own files follows the generated part.
    let ksqldb_run = std::fs::read_to_string(dir.join(KSQLDB_RUN)).unwrap_or_default();
    std::fs::write(dir.join("REPORT.md"), report(&files) + &ksqldb_run).unwrap();

    let expected_path = dir.join("expected-pass.txt");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        write_expected(&expected_path, &passing(&files));
        return;
    }
    let regressions = regressions(&read_expected(&expected_path), &files);
    assert!(
        regressions.is_empty(),
        "QTT cases in expected-pass.txt that do not pass (see tests/qtt/REPORT.md):\n{}",
        regressions.join("\n\n")
    );
}

#[test]
fn every_bundled_file_is_valid() {
    let files = qtt_files(&bundled_dir());
    assert!(
        files.len() >= 15,
        "expected the bundled QTT files, found {}",
        files.len()
    );
    for (stem, path) in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let cases =
            model::qtt_file(&text, &stem).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!cases.is_empty(), "{}: no enabled cases", path.display());
    }
}

#[test]
fn a_listed_case_that_does_not_pass_is_a_regression() {
    let result = |name: &str, status, reason: &str| CaseResult {
        name: name.into(),
        status,
        reason: reason.into(),
    };
    let files = vec![(
        "f".to_owned(),
        vec![
            result("f - ok", Status::Passed, ""),
            result(
                "f - broken",
                Status::Failed,
                "Topic T. Expected <1> records but it was <0>",
            ),
            result(
                "f - later",
                Status::Unsupported,
                "WINDOW SESSION is not supported yet",
            ),
        ],
    )];
    let expected: BTreeSet<String> = ["f - ok", "f - broken", "f - gone"]
        .map(String::from)
        .into();
    assert_eq!(
        regressions(&expected, &files),
        [
            "f - broken: Topic T. Expected <1> records but it was <0>",
            "f - gone: no such case"
        ]
    );
    assert_eq!(passing(&files), ["f - ok".to_owned()].into());
    let text = report(&files);
    assert!(
        text.contains("**3 cases: 1 passed, 1 failed, 1 unsupported.**"),
        "{text}"
    );
    assert!(text.contains("| f.json | 1 | 1 | 1 |"), "{text}");
    assert!(
        text.contains(
            "- FAIL `f - broken`\n\n  ```\n  Topic T. Expected <1> records but it was <0>\n  ```"
        ),
        "{text}"
    );
}
