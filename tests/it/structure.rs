//! The workspace's structure: no crate's files form an import circle (`./x circles`,
//! `tools/import_circles.py`), checked for every member listed in the workspace's `Cargo.toml`
//! (new ones included); and the checker itself finds the circles it must.
//!
//! The checker counts a parent file naming its own child module's items (`avro::AvroFormat`
//! in `format/mod.rs`) as an edge too, so a parent and a child calling each other is a circle;
//! every member is checked with that reading (`--imports-only`, the reading without it, is
//! left for the checker's own test).

use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The workspace members that have a `src/` directory, from the root `Cargo.toml`.
fn members_with_sources(root: &Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("reading the workspace's Cargo.toml");
    let start = manifest.find("members = [").expect("a members list") + "members = [".len();
    let end = start + manifest[start..].find(']').expect("the members list's end");
    manifest[start..end]
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty() && root.join(m).join("src").is_dir())
        .collect()
}

/// The checker run over `src`, with `flags`.
fn import_circles(src: &Path, flags: &[&str]) -> Output {
    std::process::Command::new("python3")
        .arg(root().join("tools/import_circles.py"))
        .args(flags)
        .arg(src)
        .output()
        .expect("running python3 tools/import_circles.py")
}

#[test]
fn no_crate_of_the_workspace_has_an_import_circle() {
    let root = root();
    let members = members_with_sources(&root);
    assert!(members.len() >= 12 && members.iter().any(|m| m == "sql-engine"), "members read: {members:?}");
    for member in members {
        let out = import_circles(&root.join(&member).join("src"), &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "import circles in {member}:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(stdout, "", "{member}");
    }
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
    let out = import_circles(src, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("circle of 2 files: a/x.rs, b.rs"), "{stdout}");
    assert_eq!(stdout.matches("circle of").count(), 1, "{stdout}");
}

#[test]
fn the_checker_follows_a_module_named_like_as_and_a_renamed_import() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    // ast.rs and b.rs use each other, b through a renamed import of ast's item (the checker once
    // cut path segments starting with "as", reading `crate::ast::A` as `crate::A`).
    std::fs::write(src.join("lib.rs"), "mod ast;\nmod b;\n").unwrap();
    std::fs::write(src.join("ast.rs"), "pub struct A(crate::b::B);\n").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::ast::{A as Aliased};\npub struct B;\nfn f(_: Aliased) {}\n").unwrap();
    let out = import_circles(src, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("circle of 2 files: ast.rs, b.rs"), "{stdout}");
    assert!(stdout.contains("b.rs -> ast.rs  (crate::ast::A)"), "{stdout}");
}

#[test]
fn the_checker_counts_a_parent_naming_its_child_unless_told_imports_only() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("f")).unwrap();
    // f/mod.rs calls its child's function by a bare path and the child uses the parent's type:
    // a ring of a parent and its child, which an imports-only reading does not see.
    std::fs::write(src.join("lib.rs"), "mod f;\n").unwrap();
    std::fs::write(src.join("f/mod.rs"), "mod avro;\npub struct Shared;\nfn make() { avro::build(); }\n").unwrap();
    std::fs::write(src.join("f/avro.rs"), "pub fn build() -> super::Shared { super::Shared }\n").unwrap();
    let out = import_circles(src, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("circle of 2 files: f/avro.rs, f/mod.rs"), "{stdout}");
    assert!(stdout.contains("f/mod.rs -> f/avro.rs  (avro::build)"), "{stdout}");
    let out = import_circles(src, &["--imports-only"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}
