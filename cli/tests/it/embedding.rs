//! The README's Rust program in a crate of its own, outside the workspace, depending on
//! `brook-broker` the way docs/embedding.md says (a path instead of git): no `[patch]`, nothing
//! from the workspace but the dependency. It shares the workspace's lock file, toolchain, profiles
//! and target directory, so it reuses what `cargo test` already built.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::readme::blocks;
use crate::repo;

/// The target directory this test binary was built in (`<target>/debug/deps/it-*`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_owned()
}

/// The workspace's `[profile.*]` tables, so dependencies build with the same settings.
fn profiles(manifest: &str) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            keep = line.starts_with("[profile.");
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}", out.status);
    stdout.into_owned()
}

fn scratch_crate(dir: &Path, program: &str) {
    let root = repo();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let toml = format!(
        "[package]\nname = \"greetings\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nbrook-broker = {{ path = {:?} }}\ntokio = {{ version = \"1\", features = [\"full\"] }}\n\n\
         # Not part of any workspace.\n[workspace]\n\n{}\n\
         # Built as the workspace builds its members, so the test reuses their artifacts.\n\
         [profile.dev.package.brook-broker]\nopt-level = 0\ndebug = \"line-tables-only\"\n",
        root.join("broker"),
        profiles(&manifest)
    );
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), toml).unwrap();
    std::fs::write(dir.join("src/main.rs"), program).unwrap();
    for f in ["Cargo.lock", "rust-toolchain.toml"] {
        std::fs::copy(root.join(f), dir.join(f)).unwrap();
    }
}

#[test]
fn embedding_the_readme_program_in_a_crate_of_its_own() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let program = blocks(&readme, "rust").into_iter().find(|b| b.contains("fn main")).expect("a Rust program in the README");
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().join("greetings");
    scratch_crate(&krate, &program);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(
        Command::new(cargo).args(["build", "--offline", "--quiet"]).current_dir(&krate).env("CARGO_TARGET_DIR", target_dir()),
        "building the scratch crate",
    );
    let exe = target_dir().join("debug/greetings");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let first = run(Command::new(&exe).current_dir(&work), "the README program");
    assert!(first.contains(" at offset 0\n"), "{first}");
    assert!(first.ends_with("Some(b\"alice\") = Some(b\"hello\")\n"), "{first}");
    // Run again: the topic is there, and the group reads only the new greeting.
    let second = run(Command::new(&exe).current_dir(&work), "the README program, run again");
    assert!(second.contains(" at offset 1\n"), "{second}");
    assert_eq!(second.matches(" = ").count(), 1, "{second}");
}
