//! `brook test-runner`: ksqlDB's `ksql-test-runner` on Brook's engine. Same flags
//! (`-s/--sql-file`, `-i/--input-file`, `-o/--output-file`, `-e/--extension-dir`), same JSON
//! files, same messages: `\t >>> Test passed!` on stdout, or `\t>>>>> Test failed: <why>` on
//! stderr. Unlike ksqlDB's tool, a failure also exits non-zero, so scripts and CI can use it.
//!
//! The statements run in file order, then the `-i` records are piped in order (record caches
//! off, so every update is emitted), then each topic of `-o` is compared record by record.
//! The work is done by [`brook_sql_engine::testing`]; this module reads the files and prints.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::bail;
use brook_sql_engine::testing::{model, run_on_engine, statements, Outcome, TestCase};
use clap::Args;

/// `brook test-runner` flags, as `ksql-test-runner` has them.
#[derive(Debug, Args)]
pub struct TestRunnerArgs {
    /// A SQL file containing ksqlDB statements to be tested.
    #[arg(short = 's', long = "sql-file", value_name = "FILE")]
    pub sql_file: PathBuf,
    /// A JSON file containing the input records (`{"inputs": [...]}`). Without it, the
    /// statements produce the input themselves (`INSERT INTO ... VALUES`).
    #[arg(short = 'i', long = "input-file", value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// A JSON file containing the expected output records (`{"outputs": [...]}`).
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output_file: PathBuf,
    /// A directory containing extensions (ksqlDB UDF jars): not supported by Brook.
    #[arg(short = 'e', long = "extension-dir", value_name = "DIR")]
    pub extension_dir: Option<PathBuf>,
}

/// Reads the three files into one test case, named `KSQL_Test` as ksqlDB names it.
///
/// # Errors
/// A file that cannot be read or parsed, worded as ksqlDB's tool words it (without its
/// `Invalid arguments: ` prefix).
pub fn load_case(args: &TestRunnerArgs) -> Result<TestCase, String> {
    if let Some(dir) = &args.extension_dir {
        return Err(format!(
            "Extension directory {}: Brook cannot load ksqlDB UDF jars; user-defined functions are not supported",
            dir.display()
        ));
    }
    let read =
        |path: &Path| std::fs::read_to_string(path).map_err(|e| file_error(path, &e.to_string()));
    let inputs = match &args.input_file {
        Some(path) => model::records_file(&read(path)?, "inputs")
            .map_err(|e| file_error(path, &e.to_string()))?,
        None => Vec::new(),
    };
    let outputs = model::records_file(&read(&args.output_file)?, "outputs")
        .map_err(|e| file_error(&args.output_file, &e.to_string()))?;
    let sql = std::fs::read_to_string(&args.sql_file).map_err(|e| {
        format!(
            "Could not read the query file: {}. Details: {e}",
            args.sql_file.display()
        )
    })?;
    let statements = statements::split_statements(&sql)
        .map_err(|e| file_error(&args.sql_file, &e.to_string()))?;
    if statements.is_empty() {
        return Err(file_error(&args.sql_file, "the file holds no statements"));
    }
    Ok(TestCase {
        name: "KSQL_Test".into(),
        statements,
        properties: Vec::new(),
        inputs,
        outputs,
        expected_exception: None,
        post: None,
        topics: Vec::new(),
    })
}

fn file_error(path: &Path, message: &str) -> String {
    format!("File name: {} Message: {message}", path.display())
}

/// Prints the outcome as ksqlDB's tool does; `Err` carries the failure line for stderr.
///
/// # Errors
/// The test failed or is not supported.
pub fn report(outcome: Outcome, out: &mut dyn Write) -> anyhow::Result<()> {
    match outcome {
        Outcome::Passed => {
            writeln!(out, "\t >>> Test passed!")?;
            Ok(())
        }
        Outcome::Failed(f) => bail!("\t>>>>> Test failed: {f}"),
        Outcome::Unsupported(why) => bail!("\t>>>>> Test failed: not supported by Brook: {why}"),
    }
}

/// Runs `brook test-runner`.
///
/// # Errors
/// Invalid files (`Invalid arguments: ...`), or a failed test.
pub(crate) fn run(args: TestRunnerArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let case = match load_case(&args) {
        Ok(c) => c,
        Err(e) => bail!("Invalid arguments: {e}"),
    };
    report(run_on_engine(&case), out)
}

#[cfg(test)]
mod tests {
    use brook_sql_engine::testing::Failure;

    use super::*;

    fn args(dir: &Path, input: bool) -> TestRunnerArgs {
        TestRunnerArgs {
            sql_file: dir.join("statements.sql"),
            input_file: input.then(|| dir.join("input.json")),
            output_file: dir.join("output.json"),
            extension_dir: None,
        }
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn loads_the_three_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "statements.sql", "CREATE STREAM A (X INT) WITH (kafka_topic='a', value_format='JSON');\n-- next\nCREATE STREAM B AS SELECT * FROM A;\n");
        write(
            dir.path(),
            "input.json",
            r#"{"inputs":[{"topic":"a","value":{"X":1}}]}"#,
        );
        write(
            dir.path(),
            "output.json",
            r#"{"outputs":[{"topic":"B","value":{"X":1}}]}"#,
        );
        let case = load_case(&args(dir.path(), true)).unwrap();
        assert_eq!(case.statements.len(), 2);
        assert_eq!(
            case.statements[1],
            "-- next\nCREATE STREAM B AS SELECT * FROM A;"
        );
        assert_eq!(
            (case.inputs.len(), case.outputs[0].topic.as_str()),
            (1, "B")
        );
        let case = load_case(&args(dir.path(), false)).unwrap();
        assert!(
            case.inputs.is_empty(),
            "without -i the statements feed themselves"
        );
    }

    #[test]
    fn bad_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        write(
            p,
            "statements.sql",
            "CREATE STREAM A (X INT) WITH (kafka_topic='a', value_format='JSON');",
        );
        write(p, "input.json", r#"{"inputs":[{"topic":"a"}]}"#);
        write(p, "output.json", r#"{"outputs":[]}"#);
        let e = load_case(&args(p, true)).unwrap_err();
        assert_eq!(
            e,
            format!(
                "File name: {} Message: inputs[0]: missing field \"value\"",
                p.join("input.json").display()
            )
        );
        write(p, "input.json", r#"{"inputs":[]}"#);
        write(p, "output.json", "{\"outputs\": [}");
        let e = load_case(&args(p, true)).unwrap_err();
        assert!(
            e.ends_with("output.json Message: expected a JSON value at line 1 column 14"),
            "{e}"
        );
        write(p, "output.json", r#"{"outputs":[]}"#);
        write(
            p,
            "statements.sql",
            "CREATE STREAM A (X INT) WITH (kafka_topic='a);",
        );
        assert!(load_case(&args(p, true))
            .unwrap_err()
            .ends_with("statements.sql Message: line 1: unterminated string literal"));
        std::fs::remove_file(p.join("statements.sql")).unwrap();
        assert!(load_case(&args(p, true))
            .unwrap_err()
            .starts_with("Could not read the query file: "));
        let mut a = args(p, true);
        a.extension_dir = Some(p.to_owned());
        assert!(load_case(&a)
            .unwrap_err()
            .contains("user-defined functions are not supported"));
    }

    #[test]
    fn reports_as_ksqldb_prints() {
        let mut out = Vec::new();
        report(Outcome::Passed, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\t >>> Test passed!\n");
        let failed = Outcome::Failed(Failure::Statement {
            statement: "X;".into(),
            message: "boom".into(),
        });
        let e = report(failed, &mut Vec::new()).unwrap_err();
        assert_eq!(e.to_string(), "\t>>>>> Test failed: boom\nStatement: X;");
    }
}
