//! QTT `post` conditions on the catalog after a case ran: each of `post.sources` must exist
//! with its `type` (`stream`/`table`) and, where given, its `schema` and `keyFormat`
//! (`format`, `windowType`, `windowSize`). ksqlDB parses the expected schema; here both sides
//! are normalised (unquoted names and types upper-cased, `VARCHAR` = `STRING`, `INT` =
//! `INTEGER`, spacing ignored) and compared as text. `post.topics` is not checked.

use super::json::Json;

/// A source of the catalog, as `post.sources` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSummary {
    pub name: String,
    /// `STREAM` or `TABLE`.
    pub kind: String,
    /// ksqlDB's `LogicalSchema` text: `` `ID` BIGINT KEY, `NAME` STRING ``.
    pub schema: String,
    pub key_format: String,
    /// `TUMBLING`, `HOPPING`, `SESSION`.
    pub window_type: Option<String>,
    pub window_size_ms: Option<u64>,
}

/// A schema text in a comparable form.
fn normalise_schema(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            for q in chars.by_ref() {
                if q == '`' {
                    break;
                }
                out.push(q);
            }
        } else if c.is_whitespace() {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            out.push(' ');
        } else {
            out.extend(c.to_uppercase());
        }
    }
    let mut s: String = out
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    for (from, to) in [
        (" ,", ","),
        (", ", ","),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        ("( ", "("),
        (" )", ")"),
    ] {
        s = s.replace(from, to);
    }
    map_words(&s)
}

/// `VARCHAR` -> `STRING`, `INT` -> `INTEGER`, as whole words.
fn map_words(s: &str) -> String {
    fn flush(word: &mut String, out: &mut String) {
        out.push_str(match word.as_str() {
            "VARCHAR" => "STRING",
            "INT" => "INTEGER",
            w => w,
        });
        word.clear();
    }
    let (mut out, mut word) = (String::new(), String::new());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn text(v: Option<&Json>) -> Option<&str> {
    match v {
        Some(Json::String(s)) => Some(s),
        _ => None,
    }
}

/// Checks `post` against `sources`; the error says what differs.
pub(crate) fn check(post: &Json, sources: &[SourceSummary]) -> Result<(), String> {
    let Some(Json::Array(expected)) = post.get("sources") else {
        return Ok(());
    };
    for e in expected {
        let name = text(e.get("name")).ok_or("post.sources: an entry without \"name\"")?;
        let Some(actual) = sources.iter().find(|s| s.name == name) else {
            return Err(format!(
                "Post condition failed: source {name} does not exist"
            ));
        };
        let fail = |what: &str, want: &str, got: &str| {
            Err(format!(
                "Post condition failed: source {name}: expected {what} {want}, found {got}"
            ))
        };
        if let Some(kind) = text(e.get("type")) {
            if !kind.eq_ignore_ascii_case(&actual.kind) {
                return fail("type", kind, &actual.kind);
            }
        }
        if let Some(schema) = text(e.get("schema")) {
            if normalise_schema(schema) != normalise_schema(&actual.schema) {
                return fail("schema", schema, &actual.schema);
            }
        }
        if let Some(kf) = e.get("keyFormat") {
            if let Some(format) = text(kf.get("format")) {
                if !format.eq_ignore_ascii_case(&actual.key_format) {
                    return fail("key format", format, &actual.key_format);
                }
            }
            let got_type = actual.window_type.as_deref().unwrap_or("none");
            match kf.get("windowType") {
                Some(Json::String(w)) if !w.eq_ignore_ascii_case(got_type) => {
                    return fail("window type", w, got_type)
                }
                Some(Json::Null) if actual.window_type.is_some() => {
                    return fail("window type", "none", got_type)
                }
                _ => {}
            }
            if let Some(Json::Number(size)) = kf.get("windowSize") {
                let got = actual
                    .window_size_ms
                    .map_or("none".to_owned(), |s| s.to_string());
                if *size != got {
                    return fail("window size", size, &got);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> SourceSummary {
        SourceSummary {
            name: "S2".into(),
            kind: "TABLE".into(),
            schema: "`ID` BIGINT KEY, `KSQL_COL_0` BIGINT, `M` MAP<STRING, INTEGER>".into(),
            key_format: "KAFKA".into(),
            window_type: Some("SESSION".into()),
            window_size_ms: None,
        }
    }

    fn check_text(post: &str) -> Result<(), String> {
        check(&Json::parse(post).unwrap(), &[source()])
    }

    #[test]
    fn matching_sources_pass() {
        check_text(r#"{"sources":[{"name":"S2","type":"table","schema":"id bigint key, `KSQL_COL_0` BIGINT, M MAP<VARCHAR,INT>","keyFormat":{"format":"KAFKA","windowType":"SESSION","windowSize":null}}]}"#).unwrap();
        check_text(r#"{"topics":{"blacklist":".*"}}"#).unwrap();
    }

    #[test]
    fn differences_are_named() {
        assert_eq!(
            check_text(r#"{"sources":[{"name":"NOPE","type":"table"}]}"#).unwrap_err(),
            "Post condition failed: source NOPE does not exist"
        );
        assert_eq!(
            check_text(r#"{"sources":[{"name":"S2","type":"stream"}]}"#).unwrap_err(),
            "Post condition failed: source S2: expected type stream, found TABLE"
        );
        assert!(check_text(
            r#"{"sources":[{"name":"S2","type":"table","schema":"ID BIGINT KEY"}]}"#
        )
        .unwrap_err()
        .contains("expected schema ID BIGINT KEY"));
        assert!(check_text(r#"{"sources":[{"name":"S2","type":"table","schema":"`id` BIGINT KEY, `KSQL_COL_0` BIGINT, M MAP<STRING, INT>"}]}"#).is_err(), "quoted names keep their case");
        assert!(check_text(r#"{"sources":[{"name":"S2","type":"table","keyFormat":{"format":"KAFKA","windowType":"TUMBLING"}}]}"#).unwrap_err().contains("expected window type TUMBLING, found SESSION"));
        assert!(check_text(
            r#"{"sources":[{"name":"S2","type":"table","keyFormat":{"format":"JSON"}}]}"#
        )
        .unwrap_err()
        .contains("expected key format JSON, found KAFKA"));
    }
}
