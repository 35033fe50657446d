//! The parser over a corpus of ksqlDB statements (`tests/corpus/*.sql`, one AST snapshot per
//! file) and of bad statements (`tests/corpus/bad_statements.txt`, one error snapshot).

use std::fs;
use std::path::{Path, PathBuf};

use brook_sql_engine::parser::ast::Statement;
use brook_sql_engine::parser::parse;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[test]
fn corpus_parses_and_matches_snapshots() {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut total = 0;
    for file in &files {
        let sql = fs::read_to_string(file).unwrap();
        let parsed = parse(&sql).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        total += parsed.len();
        for p in &parsed {
            // Each statement's own text parses alone to the same tree ...
            let again = parse(&p.text).unwrap_or_else(|e| panic!("{}: {:?}: {e}", file.display(), p.text));
            assert_eq!(again.len(), 1, "{:?}", p.text);
            assert_eq!(again[0].statement, p.statement, "{:?}", p.text);
            // ... and survives the command topic's JSON.
            let json = serde_json::to_string(&p.statement).unwrap();
            let back: Statement = serde_json::from_str(&json).unwrap();
            assert_eq!(back, p.statement, "{json}");
        }
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_debug_snapshot!(format!("corpus_{name}"), parsed);
    }
    assert!(total >= 300, "the corpus has {total} statements, fewer than 300");
}

#[test]
fn bad_statements_fail_with_snapshotted_errors() {
    let text = fs::read_to_string(corpus_dir().join("bad_statements.txt")).unwrap();
    let mut report = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let sql = line.replace("\\n", "\n");
        let outcome = match parse(&sql) {
            Ok(v) => panic!("{sql:?} parsed: {v:?}"),
            Err(e) => e.to_string(),
        };
        report.push_str(&format!("{line}\n=> {}\n\n", outcome.replace('\n', "\n   ")));
    }
    insta::assert_snapshot!("bad_statements", report);
}
