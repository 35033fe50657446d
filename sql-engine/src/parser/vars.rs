//! ksqlDB's `${name}` variable substitution (KLIP-38), applied to a statement's text before it
//! is parsed, when `ksql.variable.substitution.enable` is on (the caller's decision).
//!
//! - In single-quoted strings, `${name}` is replaced by the value with its quotes doubled
//!   (`'${v}'` stays one string whatever `v` holds); unknown names are left as written.
//! - In back- or double-quoted identifiers, known names are replaced; unknown ones left.
//! - Elsewhere `${name}` stands for an identifier or a literal: the value must be one
//!   (`[A-Za-z_][A-Za-z0-9_@]*`, optionally quoted, or a quoted string, a boolean, a number),
//!   which keeps a value from injecting SQL; an unknown name or another value fails with
//!   ksqlDB's `Illegal argument at ...` error.
//! - `$${` is an escaped `${`; references nest (`${topic_${env}}`); comments are left alone.
//! - Names are looked up as written, then case-insensitively.

use std::collections::HashMap;

use super::position::Position;
use crate::{Error, Result};

/// How deeply `${...${...}}` references may nest.
const MAX_REF_NESTING: u32 = 32;

struct Subst<'a> {
    src: &'a str,
    vars: &'a HashMap<String, String>,
}

impl Subst<'_> {
    fn lookup(&self, name: &str) -> Option<&String> {
        self.vars
            .get(name)
            .or_else(|| self.vars.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
    }

    /// The name of the reference whose `${` ends just before byte `j` (inner references
    /// substituted) and the byte after its `}`; `None` if it never closes.
    fn reference(&self, mut j: usize, depth: u32) -> Option<(String, usize)> {
        if depth > MAX_REF_NESTING {
            return None;
        }
        let mut name = String::new();
        while j < self.src.len() {
            let rest = &self.src[j..];
            if rest.starts_with("${") {
                let (inner, end) = self.reference(j + 2, depth + 1)?;
                match self.lookup(&inner) {
                    Some(v) => name.push_str(v),
                    None => {
                        name.push_str("${");
                        name.push_str(&inner);
                        name.push('}');
                    }
                }
                j = end;
            } else {
                let c = rest.chars().next()?;
                if c == '}' {
                    return Some((name, j + 1));
                }
                // References do not span quotes or lines.
                if c == '\'' || c == '\n' || c == '`' || c == '"' {
                    return None;
                }
                name.push(c);
                j += c.len_utf8();
            }
        }
        None
    }

    /// Substitutes inside the quoted text `src[start..end]` (`escape_quote`: the value's
    /// single quotes are doubled).
    fn quoted_body(&self, start: usize, end: usize, escape_quote: bool, out: &mut String) {
        let mut j = start;
        while j < end {
            let rest = &self.src[j..end];
            if rest.starts_with("$${") {
                out.push_str("${");
                j += 3;
                continue;
            }
            if rest.starts_with("${") {
                if let Some((name, after)) = self.reference(j + 2, 0) {
                    if after <= end {
                        match self.lookup(&name) {
                            Some(v) if escape_quote => out.push_str(&sanitize(v)),
                            Some(v) => out.push_str(v),
                            None => out.push_str(&self.src[j..after]),
                        }
                        j = after;
                        continue;
                    }
                }
            }
            let Some(c) = rest.chars().next() else { break };
            out.push(c);
            j += c.len_utf8();
        }
    }
}

/// `'a'b'` -> `'a''b'` (outer quotes kept), `it's` -> `it''s`: ksqlDB's `sanitize`.
fn sanitize(v: &str) -> String {
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        format!("'{}'", v[1..v.len() - 1].replace('\'', "''"))
    } else {
        v.replace('\'', "''")
    }
}

fn is_identifier_value(v: &str) -> bool {
    let inner = if v.len() >= 2 && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('`') && v.ends_with('`'))) {
        &v[1..v.len() - 1]
    } else {
        v
    };
    let mut chars = inner.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
}

fn is_literal_value(v: &str) -> bool {
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        return true;
    }
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return true;
    }
    if v.parse::<i64>().is_ok() {
        return true;
    }
    // Java's Double.parseDouble / BigDecimal: digits, one point, an exponent, a sign.
    let body = v.strip_prefix(['-', '+']).unwrap_or(v);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits = mantissa.chars().filter(|c| c.is_ascii_digit()).count();
    let points = mantissa.chars().filter(|c| *c == '.').count();
    let mantissa_ok = digits > 0 && points <= 1 && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.');
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok && v.parse::<f64>().map_or(true, f64::is_finite)
}

/// Replaces `${name}` references in `sql` with the values of `vars`, as ksqlDB does before
/// parsing a statement when variable substitution is enabled.
///
/// # Errors
/// [`Error::Parse`] (`Illegal argument at line L:C. ...`) for a reference outside quotes to an
/// unknown variable, or whose value is neither an identifier nor a literal.
pub fn substitute_variables(sql: &str, vars: &HashMap<String, String>) -> Result<String> {
    let s = Subst { src: sql, vars };
    let mut out = String::with_capacity(sql.len());
    let bytes = sql.as_bytes();
    let (mut line, mut col) = (1u32, 1u32);
    let mut j = 0;
    // Advances the line:column over `text`.
    let step = |text: &str, line: &mut u32, col: &mut u32| {
        for c in text.chars() {
            if c == '\n' {
                *line = line.saturating_add(1);
                *col = 1;
            } else {
                *col = col.saturating_add(1);
            }
        }
    };
    while j < sql.len() {
        let rest = &sql[j..];
        let start = j;
        if rest.starts_with("--") {
            let end = rest.find('\n').map_or(sql.len(), |n| j + n);
            out.push_str(&sql[j..end]);
            j = end;
        } else if let Some(body) = rest.strip_prefix("/*") {
            let end = body.find("*/").map_or(sql.len(), |n| j + 2 + n + 2);
            out.push_str(&sql[j..end]);
            j = end;
        } else if bytes[j] == b'\'' || bytes[j] == b'`' || bytes[j] == b'"' {
            let q = bytes[j];
            // The closing quote; a doubled quote is part of the body.
            let mut k = j + 1;
            let close = loop {
                if k >= sql.len() {
                    break None;
                }
                if bytes[k] == q {
                    if k + 1 < sql.len() && bytes[k + 1] == q {
                        k += 2;
                        continue;
                    }
                    break Some(k);
                }
                k += 1;
            };
            let Some(close) = close else {
                // Unterminated: left for the parser to report.
                out.push_str(rest);
                break;
            };
            out.push(q as char);
            s.quoted_body(j + 1, close, q == b'\'', &mut out);
            out.push(q as char);
            j = close + 1;
        } else if rest.starts_with("$${") {
            out.push_str("${");
            j += 3;
        } else if rest.starts_with("${") {
            let pos = Position { line, column: col };
            let Some((name, after)) = s.reference(j + 2, 0) else {
                out.push('$');
                j += 1;
                step(&sql[start..j], &mut line, &mut col);
                continue;
            };
            // Context: after an operator or `(`/`,` a literal is likelier than a name.
            let literal_context = out.trim_end().chars().last().is_some_and(|c| "=<>,(+-*/%|".contains(c));
            let illegal = || {
                let detail = if literal_context {
                    String::new()
                } else {
                    " Identifier names cannot start with '@' and may only contain alphanumeric values and '_'.".to_string()
                };
                Error::Parse { position: pos, message: format!("Illegal argument at line {}:{}.{detail}", pos.line, pos.column) }
            };
            let Some(value) = s.lookup(&name) else { return Err(illegal()) };
            if is_literal_value(value) {
                out.push_str(&sanitize(value));
            } else if is_identifier_value(value) {
                out.push_str(value);
            } else {
                return Err(illegal());
            }
            j = after;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            j += c.len_utf8();
        }
        step(&sql[start..j], &mut line, &mut col);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn sub(sql: &str, pairs: &[(&str, &str)]) -> String {
        substitute_variables(sql, &vars(pairs)).unwrap()
    }

    fn err(sql: &str, pairs: &[(&str, &str)]) -> String {
        substitute_variables(sql, &vars(pairs)).unwrap_err().to_string()
    }

    #[test]
    fn identifiers_and_literals() {
        let v = [("identifier", "_id_"), ("num", "1"), ("dec", "0.32"), ("bool", "false"), ("str", "'john'")];
        assert_eq!(
            sub("INSERT INTO ${identifier} VALUES (${num}, ${bool}, ${dec}, ${str});", &v),
            "INSERT INTO _id_ VALUES (1, false, 0.32, 'john');"
        );
        let v = [("q", "\"_id_\""), ("b", "`_id_`"), ("topicName", "'name1'"), ("replicas", "3")];
        assert_eq!(
            sub("CREATE STREAM ${q} WITH (kafka_topic=${topicName}, replicas=${replicas});", &v),
            "CREATE STREAM \"_id_\" WITH (kafka_topic='name1', replicas=3);"
        );
        assert_eq!(sub("DESCRIBE ${b} EXTENDED;", &v), "DESCRIBE `_id_` EXTENDED;");
    }

    #[test]
    fn inside_strings_and_escapes() {
        let v = [("env", "qa"), ("format", "AVRO"), ("name", "Tom's")];
        assert_eq!(sub("DEFINE topicName = 'topic_${env}';", &v), "DEFINE topicName = 'topic_qa';");
        assert_eq!(sub("DEFINE topicName = 'topic_$${env}';", &v), "DEFINE topicName = 'topic_${env}';");
        assert_eq!(sub("DEFINE topicName = 'topic_$${${env}}';", &v), "DEFINE topicName = 'topic_${qa}';");
        assert_eq!(sub("SET 'x' = '${name}';", &v), "SET 'x' = 'Tom''s';");
        assert_eq!(sub("SELECT '${unknown}' FROM s;", &v), "SELECT '${unknown}' FROM s;");
        assert_eq!(sub("-- ${unknown}\nSHOW STREAMS;", &v), "-- ${unknown}\nSHOW STREAMS;");
        let v = [("env", "prod"), ("topic_prod", "my_prod_topic")];
        assert_eq!(sub("WITH (kafka_topic='${topic_${env}}')", &v), "WITH (kafka_topic='my_prod_topic')");
        assert_eq!(sub("WITH (kafka_topic='${ENV}')", &v), "WITH (kafka_topic='prod')");
    }

    #[test]
    fn sanitizes_quoted_values() {
        let v = [("escapeQuote", "'t1', value_format='AVRO'")];
        assert_eq!(
            sub("CREATE STREAM s1 WITH (kafka_topic=${escapeQuote});", &v),
            "CREATE STREAM s1 WITH (kafka_topic='t1'', value_format=''AVRO');"
        );
    }

    #[test]
    fn rejects_injection_and_unknown() {
        let v = [("injectSchema", "s1 (id, name)"), ("injectValues", "1, 5"), ("injectExpression", "5 and id != 5")];
        assert_eq!(
            err("INSERT INTO ${injectSchema} VALUES (1);", &v),
            "line 1:13: Illegal argument at line 1:13. Identifier names cannot start with '@' and may only contain alphanumeric values and '_'."
        );
        assert_eq!(err("INSERT INTO s1 VALUES (${injectValues});", &v), "line 1:24: Illegal argument at line 1:24.");
        assert_eq!(err("SELECT * FROM s1\nWHERE id = ${injectExpression};", &v), "line 2:12: Illegal argument at line 2:12.");
        assert_eq!(
            err("SELECT * FROM ${nope};", &v),
            "line 1:15: Illegal argument at line 1:15. Identifier names cannot start with '@' and may only contain alphanumeric values and '_'."
        );
    }

    #[test]
    fn never_loops_or_overflows() {
        let deep = "${".repeat(10_000);
        let _ = substitute_variables(&deep, &HashMap::new());
        let _ = substitute_variables("'${a", &HashMap::new());
        let _ = substitute_variables("${a", &HashMap::new());
        assert_eq!(sub("$", &[]), "$");
    }
}
