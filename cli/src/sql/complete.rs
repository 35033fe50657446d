//! The line editor's helper: when an input is complete (a `;` outside quotes and comments, or
//! a CLI command such as `exit`), and tab completion of keywords, stream, table and topic names
//! and functions.
//!
//! Where Brook differs from the ksql CLI: continuation lines have no `>` prompt (the whole
//! statement is one buffer, edited across lines and recalled from history as one entry); a
//! line ending in `\` is not a continuation; no `!!`/`!n` history expansion and no `cs`/`ct`
//! shortcuts.

use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// The commands the CLI runs itself (no `;` needed), as in the ksql CLI.
pub(crate) const CLI_COMMANDS: &[&str] = &["help", "exit", "quit", "clear", "history", "output", "version", "server"];

const KEYWORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "EMIT", "CHANGES", "FINAL", "LIMIT", "CREATE", "STREAM", "TABLE", "STREAMS",
    "TABLES", "TOPICS", "QUERIES", "PROPERTIES", "FUNCTIONS", "VARIABLES", "TYPES", "AS", "WITH", "INSERT", "INTO", "VALUES", "DROP",
    "DELETE", "TOPIC", "TERMINATE", "ALL", "SHOW", "LIST", "DESCRIBE", "EXTENDED", "FUNCTION", "EXPLAIN", "PRINT", "BEGINNING",
    "INTERVAL", "SET", "UNSET", "DEFINE", "UNDEFINE", "RUN", "SCRIPT", "KEY", "PRIMARY", "JOIN", "LEFT", "RIGHT", "FULL", "OUTER",
    "INNER", "ON", "WITHIN", "WINDOW", "TUMBLING", "HOPPING", "SESSION", "SIZE", "ADVANCE", "GRACE", "PERIOD", "PARTITION",
    "PARTITIONS", "AND", "OR", "NOT", "NULL", "IS", "IN", "LIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "CAST",
    "TRUE", "FALSE", "IF", "EXISTS", "REPLACE", "TYPE", "ALTER", "ADD", "COLUMN", "INTEGER", "INT", "BIGINT", "DOUBLE", "DECIMAL",
    "BOOLEAN", "STRING", "VARCHAR", "BYTES", "DATE", "TIME", "TIMESTAMP", "ARRAY", "MAP", "STRUCT", "HEADERS", "HEADER",
    "KAFKA_TOPIC", "VALUE_FORMAT", "KEY_FORMAT", "FORMAT", "TIMESTAMP_FORMAT", "ROWTIME", "ROWPARTITION", "ROWOFFSET", "SECONDS",
    "MINUTES", "HOURS", "DAYS", "MILLISECONDS",
];

/// Scans `text` for `;` outside quotes, backticks and comments: the complete statements (without
/// their `;`) and whether anything but whitespace and comments follows the last one.
pub(crate) fn split_statements(text: &str) -> (Vec<String>, bool) {
    #[derive(PartialEq)]
    enum S {
        Normal,
        Quote(char),
        Line,
        Block,
    }
    let mut out = Vec::new();
    let (mut state, mut start, mut content) = (S::Normal, 0, false);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while let Some(&(at, c)) = chars.get(i) {
        let next = chars.get(i + 1).map(|(_, c)| *c);
        match state {
            S::Normal => match c {
                '\'' | '"' | '`' => {
                    state = S::Quote(c);
                    content = true;
                }
                '-' if next == Some('-') => {
                    state = S::Line;
                    i += 1;
                }
                '/' if next == Some('*') => {
                    state = S::Block;
                    i += 1;
                }
                ';' => {
                    if content {
                        out.push(text[start..at].trim().to_owned());
                    }
                    start = at + 1;
                    content = false;
                }
                c if !c.is_whitespace() => content = true,
                _ => {}
            },
            S::Quote(q) if c == q => state = S::Normal,
            S::Line if c == '\n' => state = S::Normal,
            S::Block if c == '*' && next == Some('/') => {
                state = S::Normal;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    (out, content)
}

/// The first word of `line` when it is a CLI command (`exit`, `output json;`).
pub(crate) fn cli_command(line: &str) -> Option<String> {
    let word = line.split_whitespace().next()?.trim_end_matches(';').to_ascii_lowercase();
    CLI_COMMANDS.contains(&word.as_str()).then_some(word)
}

/// The editor's helper; `names` (sources, topics, functions) is refreshed by the REPL after
/// each statement.
#[derive(Debug, Default)]
pub(crate) struct SqlHelper {
    pub(crate) names: Arc<Mutex<Vec<String>>>,
}

/// The candidates for the word `prefix`: keywords in the case the user types, names as they are.
pub(crate) fn candidates(prefix: &str, names: &[String]) -> Vec<String> {
    if prefix.is_empty() {
        return Vec::new();
    }
    let upper = prefix.to_ascii_uppercase();
    let lower = prefix.chars().all(|c| !c.is_ascii_uppercase());
    let mut out: Vec<String> = KEYWORDS
        .iter()
        .filter(|k| k.starts_with(&upper))
        .map(|k| if lower { k.to_ascii_lowercase() } else { (*k).to_owned() })
        .chain(names.iter().filter(|n| n.to_ascii_uppercase().starts_with(&upper)).cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Completer for SqlHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = line.get(..pos).unwrap_or(line);
        let start = before.rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.')).map_or(0, |i| i + 1);
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        let found = candidates(&before[start..], &names);
        Ok((start, found.into_iter().map(|c| Pair { display: c.clone(), replacement: c }).collect()))
    }
}

impl Validator for SqlHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        let (_, unfinished) = split_statements(input);
        if !unfinished || cli_command(input).is_some() {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Hinter for SqlHelper {
    type Hint = String;
}

impl Highlighter for SqlHelper {}

impl Helper for SqlHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_at_semicolons_outside_quotes_and_comments() {
        let (s, rest) = split_statements("CREATE STREAM S (A STRING)\n WITH (KAFKA_TOPIC='a;b');\nSELECT * -- not; here\nFROM S");
        assert_eq!(s, vec!["CREATE STREAM S (A STRING)\n WITH (KAFKA_TOPIC='a;b')"]);
        assert!(rest);
        let (s, rest) = split_statements("SHOW STREAMS; /* a; */ ;; -- c;\n");
        assert_eq!(s, vec!["SHOW STREAMS"]);
        assert!(!rest);
        let (s, rest) = split_statements("INSERT INTO S VALUES ('it''s;');");
        assert_eq!(s, vec!["INSERT INTO S VALUES ('it''s;')"]);
        assert!(!rest);
    }

    #[test]
    fn cli_commands_need_no_semicolon() {
        assert_eq!(cli_command("  EXIT"), Some("exit".into()));
        assert_eq!(cli_command("output json;"), Some("output".into()));
        assert_eq!(cli_command("SELECT 1"), None);
    }

    #[test]
    fn completion_matches_keywords_in_the_typed_case_and_names() {
        let names = vec!["PAGEVIEWS".to_owned(), "pageviews_topic".to_owned(), "SUBSTRING".to_owned()];
        assert_eq!(candidates("sel", &names), vec!["select"]);
        assert_eq!(candidates("SEL", &names), vec!["SELECT"]);
        assert_eq!(candidates("page", &names), vec!["PAGEVIEWS", "pageviews_topic"]);
        assert_eq!(candidates("SUBS", &names), vec!["SUBSTRING"]);
        assert!(candidates("", &names).is_empty());
    }
}
