//! Every crate of the workspace: its files form no import circle (`./x circles`,
//! `tools/import_circles.py`). The broker, processor-api and streams-dsl also check themselves;
//! this test covers every member listed in the workspace's `Cargo.toml`, new ones included.

use std::path::Path;

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

#[test]
fn no_crate_of_the_workspace_has_an_import_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let members = members_with_sources(&root);
    assert!(members.len() >= 12 && members.iter().any(|m| m == "sql-engine"), "members read: {members:?}");
    for member in members {
        brook_common::test_support::assert_no_import_circles(&root.join(member));
    }
}
