//! The broker's files form no import circle (`tools/import_circles.py`), and the checker does
//! find one when there is one.

use std::path::Path;
use std::process::{Command, Output};

fn import_circles(src: &Path) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/import_circles.py");
    Command::new("python3").arg(script).arg(src).output().expect("running python3 tools/import_circles.py")
}

#[test]
fn the_broker_has_no_import_circle() {
    brook_common::test_support::assert_no_import_circles(Path::new(env!("CARGO_MANIFEST_DIR")));
}

#[test]
fn the_checker_reports_a_circle_through_a_reexport_and_ignores_a_facade_and_tests() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).unwrap();
    // lib.rs re-exports a's items (a facade, no edge); a/x.rs and b.rs use each other (a circle,
    // b.rs reaching x through a's re-export); c.rs is used by b only from a test module.
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod c;\npub use a::X;\n").unwrap();
    std::fs::write(src.join("a/mod.rs"), "mod x;\npub(crate) use x::X;\n").unwrap();
    std::fs::write(src.join("a/x.rs"), "// crate::c::C in a comment is no use\npub struct X(crate::b::B);\n").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::a::X;\npub struct B;\nfn f(_: X) {}\n#[cfg(test)]\nmod tests {\n    use crate::c::C;\n}\n")
        .unwrap();
    std::fs::write(src.join("c.rs"), "pub struct C(crate::b::B);\n").unwrap();
    let out = import_circles(src);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("circle of 2 files: a/x.rs, b.rs"), "{stdout}");
    assert_eq!(stdout.matches("circle of").count(), 1, "{stdout}");
}
