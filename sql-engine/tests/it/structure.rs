//! The sql-engine's files form no import circle (`tools/import_circles.py`), and the checker
//! follows modules whose names start with `as` (the parser's `ast`) and `use ... as` renames.

use std::path::Path;
use std::process::Command;

#[test]
fn the_sql_engine_has_no_import_circle() {
    brook_common::test_support::assert_no_import_circles(Path::new(env!("CARGO_MANIFEST_DIR")));
}

#[test]
fn the_checker_follows_a_module_named_like_as_and_a_renamed_import() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    // ast.rs and b.rs use each other, b through a renamed import of ast's item.
    std::fs::write(src.join("lib.rs"), "mod ast;\nmod b;\n").unwrap();
    std::fs::write(src.join("ast.rs"), "pub struct A(crate::b::B);\n").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::ast::{A as Aliased};\npub struct B;\nfn f(_: Aliased) {}\n").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/import_circles.py");
    let out = Command::new("python3").arg(script).arg(src).output().expect("running python3 tools/import_circles.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("circle of 2 files: ast.rs, b.rs"), "{stdout}");
    assert!(stdout.contains("b.rs -> ast.rs  (crate::ast::A)"), "{stdout}");
}
