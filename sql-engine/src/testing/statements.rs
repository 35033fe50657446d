//! Splits a statements file into statements, as ksqlDB's parser does before the test runner
//! runs them one by one: at each `;` outside string literals ('it''s'), quoted identifiers
//! (`"x;y"`, `` `x;y` ``) and comments (`-- ...`, `/* ... */`). Comments stay in the statement
//! text; blank pieces are dropped; a final statement without `;` is kept.

/// A literal or comment left open at the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnterminatedError {
    /// What was left open: `string literal`, `quoted identifier`, `comment`.
    pub what: &'static str,
    /// 1-based line where it starts.
    pub line: usize,
}

impl std::fmt::Display for UnterminatedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: unterminated {}", self.line, self.what)
    }
}

/// The statements of `sql`, each with its `;`, trimmed.
///
/// # Errors
/// A string literal, quoted identifier or block comment that never closes.
pub fn split_statements(sql: &str) -> Result<Vec<String>, UnterminatedError> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i, mut line) = (0, 0, 1);
    let push = |out: &mut Vec<String>, piece: &str| {
        if !is_blank(piece) {
            out.push(piece.trim().to_owned());
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line += 1,
            b';' => {
                push(&mut out, &sql[start..=i]);
                start = i + 1;
            }
            q @ (b'\'' | b'"' | b'`') => {
                let open_line = line;
                loop {
                    i += 1;
                    match bytes.get(i) {
                        None => {
                            let what = if q == b'\'' {
                                "string literal"
                            } else {
                                "quoted identifier"
                            };
                            return Err(UnterminatedError {
                                what,
                                line: open_line,
                            });
                        }
                        Some(b'\n') => line += 1,
                        // A doubled quote is an escaped quote.
                        Some(&c) if c == q && bytes.get(i + 1) == Some(&q) => i += 1,
                        Some(&c) if c == q => break,
                        Some(_) => {}
                    }
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let open_line = line;
                i += 2;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(UnterminatedError {
                                what: "comment",
                                line: open_line,
                            })
                        }
                        Some(b'*') if bytes.get(i + 1) == Some(&b'/') => {
                            i += 1;
                            break;
                        }
                        Some(b'\n') => line += 1,
                        Some(_) => {}
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    push(&mut out, &sql[start..]);
    Ok(out)
}

/// Only whitespace and comments.
fn is_blank(piece: &str) -> bool {
    let mut rest = piece.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            return rest.is_empty() || rest == ";";
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_comments() {
        let sql = "CREATE STREAM A (X STRING) WITH (kafka_topic='a;b', value_format='JSON');\n\
                   -- a comment; with a semicolon\n\
                   /* block; comment */\n\
                   CREATE STREAM `B;1` AS SELECT 'it''s;' AS \"C;D\" FROM A;\n\
                   INSERT INTO A (X) VALUES ('x')";
        let got = split_statements(sql).unwrap();
        assert_eq!(got.len(), 3, "{got:#?}");
        assert_eq!(
            got[0],
            "CREATE STREAM A (X STRING) WITH (kafka_topic='a;b', value_format='JSON');"
        );
        assert!(got[1].starts_with(
            "-- a comment; with a semicolon\n/* block; comment */\nCREATE STREAM `B;1`"
        ));
        assert!(got[1].ends_with("FROM A;"));
        assert_eq!(got[2], "INSERT INTO A (X) VALUES ('x')");
    }

    #[test]
    fn blank_pieces_are_dropped() {
        assert_eq!(
            split_statements(" ;; -- only a comment\n /* and this */ ").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn unterminated_literals_are_errors() {
        assert_eq!(
            split_statements("SELECT 'abc;\n").unwrap_err().to_string(),
            "line 1: unterminated string literal"
        );
        assert_eq!(
            split_statements("X;\nSELECT `a").unwrap_err().to_string(),
            "line 2: unterminated quoted identifier"
        );
        assert_eq!(
            split_statements("X;\n\n/* abc").unwrap_err().to_string(),
            "line 3: unterminated comment"
        );
    }
}
