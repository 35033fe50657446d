//! A small JSON tree that keeps numbers as written, so `DECIMAL` values keep every digit
//! without turning on serde_json's workspace-wide `arbitrary_precision` feature. Parsing is
//! bounded: nesting deeper than [`MAX_DEPTH`] is an error, never a stack overflow.
//!
//! Like Jackson's `ObjectMapper.readTree` (what ksqlDB uses), the parser reads the first value
//! and ignores anything after it, and a repeated object key keeps its first position with the
//! last value.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

/// Nesting limit. Jackson allows 1000 levels; 256 keeps the recursive decoders well inside a
/// 2 MiB thread stack even in debug builds.
pub(crate) const MAX_DEPTH: usize = 256;

/// Up to this many fields, an object finds repeated keys by a linear scan.
const SCAN_FIELDS: usize = 16;

/// A parsed JSON value. Numbers, strings and keys borrow from the parsed text unless they
/// hold escapes, so reading a record allocates little more than its containers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's text, validated against the JSON grammar.
    Number(Cow<'a, str>),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    /// Jackson's node class name, used in ksqlDB's "Can't convert type" messages.
    pub(crate) fn node_name(&self) -> &'static str {
        match self {
            Json::Null => "NullNode",
            Json::Bool(_) => "BooleanNode",
            Json::Number(n) if n.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) => "DecimalNode",
            Json::Number(n) if n.parse::<i32>().is_ok() => "IntNode",
            Json::Number(n) if n.parse::<i64>().is_ok() => "LongNode",
            Json::Number(_) => "BigIntegerNode",
            Json::String(_) => "TextNode",
            Json::Array(_) => "ArrayNode",
            Json::Object(_) => "ObjectNode",
        }
    }
}

/// Parses the first JSON value in `bytes`; `Ok(None)` when there is none (empty or blank
/// input, Jackson's `MissingNode`). Error messages follow Jackson's wording where it has one,
/// without its location (ksqlDB clears it so records do not leak into logs).
pub(crate) fn parse(bytes: &[u8]) -> Result<Option<Json<'_>>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!("Invalid UTF-8 middle byte at byte offset {}", e.valid_up_to())
    })?;
    let mut p = Parser { s: text.as_bytes(), text, pos: 0 };
    p.skip_ws();
    if p.pos == p.s.len() {
        return Ok(None);
    }
    p.value(0).map(Some)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn unexpected(&self, expecting: &str) -> String {
        match self.text[self.pos..].chars().next() {
            None => format!("Unexpected end-of-input: was expecting {expecting}"),
            Some(c) => format!("Unexpected character ('{c}' (code {})): was expecting {expecting}", c as u32),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json<'a>, String> {
        if depth >= MAX_DEPTH {
            return Err(format!("Document nesting depth exceeds the maximum allowed ({MAX_DEPTH})"));
        }
        match self.s.get(self.pos) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            _ => Err(self.unexpected("a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')")),
        }
    }

    fn literal(&mut self, word: &str, v: Json<'a>) -> Result<Json<'a>, String> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err("Unrecognized token: was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')".into())
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json<'a>, String> {
        self.pos += 1;
        let mut fields: Vec<(Cow<'a, str>, Json<'a>)> = Vec::new();
        // Repeated keys are found by a scan while the object is small (records are usually a
        // few fields, where hashing every key cost more than the scan), by an index beyond.
        let mut index: Option<HashMap<Cow<'a, str>, usize>> = None;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Json::Object(fields));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.unexpected("double-quote to start field name"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b':') {
                return Err(self.unexpected("a colon to separate field name and value"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value(depth + 1)?;
            if index.is_none() && fields.len() == SCAN_FIELDS {
                index = Some(fields.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect());
            }
            let seen = match &index {
                Some(index) => index.get(&key).copied(),
                None => fields.iter().position(|(k, _)| *k == key),
            };
            match seen {
                Some(i) => fields[i].1 = v,
                None => {
                    if let Some(index) = &mut index {
                        index.insert(key.clone(), fields.len());
                    }
                    fields.push((key, v));
                }
            }
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(fields));
                }
                _ => return Err(self.unexpected("comma to separate Object entries")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json<'a>, String> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.unexpected("comma to separate Array entries")),
            }
        }
    }

    fn number(&mut self) -> Result<Json<'a>, String> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.s.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - s
        };
        if self.s[self.pos] == b'-' {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 {
            return Err(self.unexpected("digit after a minus sign"));
        }
        if n > 1 && self.s[int_start] == b'0' {
            return Err("Invalid numeric value: Leading zeroes not allowed".into());
        }
        if self.s.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.unexpected("digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.s.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.unexpected("digit in the exponent"));
            }
        }
        Ok(Json::Number(Cow::Borrowed(&self.text[start..self.pos])))
    }

    fn string(&mut self) -> Result<Cow<'a, str>, String> {
        self.pos += 1;
        let mut out = String::new();
        let first = self.pos;
        loop {
            let start = self.pos;
            while let Some(&b) = self.s.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // A string without escapes is a slice of the input.
            if start == first && self.s.get(self.pos) == Some(&b'"') {
                self.pos += 1;
                return Ok(Cow::Borrowed(&self.text[start..self.pos - 1]));
            }
            out.push_str(&self.text[start..self.pos]);
            match self.s.get(self.pos) {
                None => return Err("Unexpected end-of-input: was expecting closing quote for a string value".into()),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match self.s.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) && self.s[self.pos..].starts_with(b"\\u") {
                                let save = self.pos;
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    self.pos = save;
                                    0xFFFD
                                }
                            } else {
                                hi
                            };
                            // Lone surrogates become U+FFFD, as Java's UTF-8 encoder writes them.
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            continue;
                        }
                        _ => return Err(self.unexpected("a valid escape sequence")),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(_) => return Err("Illegal unquoted character: must be escaped".into()),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.pos..self.pos + 4).ok_or("Unexpected end-of-input in character escape sequence")?;
        let h = std::str::from_utf8(h).ok().and_then(|h| u32::from_str_radix(h, 16).ok().filter(|_| h.bytes().all(|b| b.is_ascii_hexdigit())));
        let v = h.ok_or("Unexpected character in character escape sequence: expected a hex-digit")?;
        self.pos += 4;
        Ok(v)
    }
}

/// Writes `s` as a JSON string literal (Jackson's escaping: control characters as `\uXXXX`
/// except the short forms).
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `j` compactly (no spaces), as Jackson's `writeValueAsString` does.
pub(crate) fn write(out: &mut String, j: &Json) {
    match j {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::String(s) => write_str(out, s),
        Json::Array(items) => write_joined(out, '[', ']', items, write),
        Json::Object(fields) => write_joined(out, '{', '}', fields, |out, (k, v)| {
            write_str(out, k);
            out.push(':');
            write(out, v);
        }),
    }
}

/// Writes `open`, the items separated by commas, `close`.
pub(crate) fn write_joined<T>(out: &mut String, open: char, close: char, items: impl IntoIterator<Item = T>, mut item: impl FnMut(&mut String, T)) {
    out.push(open);
    for (i, v) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, v);
    }
    out.push(close);
}

/// From a `serde_json::Value` (numbers by their shortest text).
pub(crate) fn from_serde(v: &serde_json::Value) -> Json<'static> {
    match v {
        serde_json::Value::Null => Json::Null,
        serde_json::Value::Bool(b) => Json::Bool(*b),
        serde_json::Value::Number(n) => Json::Number(Cow::Owned(n.to_string())),
        serde_json::Value::String(s) => Json::String(Cow::Owned(s.clone())),
        serde_json::Value::Array(a) => Json::Array(a.iter().map(from_serde).collect()),
        serde_json::Value::Object(o) => Json::Object(o.iter().map(|(k, v)| (Cow::Owned(k.clone()), from_serde(v))).collect()),
    }
}

/// To a `serde_json::Value`; numbers beyond `f64`/`i64`/`u64` become the nearest `f64`.
pub(crate) fn to_serde(j: &Json) -> serde_json::Value {
    match j {
        Json::Null => serde_json::Value::Null,
        Json::Bool(b) => serde_json::Value::Bool(*b),
        Json::Number(n) => serde_json::from_str::<serde_json::Number>(n)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|_| n.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(serde_json::Value::Null, serde_json::Value::Number)),
        Json::String(s) => serde_json::Value::String(s.to_string()),
        Json::Array(a) => serde_json::Value::Array(a.iter().map(to_serde).collect()),
        Json::Object(o) => serde_json::Value::Object(o.iter().map(|(k, v)| (k.to_string(), to_serde(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(s: &str) -> String {
        let mut out = String::new();
        write(&mut out, &parse(s.as_bytes()).unwrap().unwrap());
        out
    }

    #[test]
    fn keeps_number_text_and_compacts() {
        assert_eq!(round(r#" { "a" : 12.30, "b":[1, -0.5e+3 ,true,null], "c":{} } "#), r#"{"a":12.30,"b":[1,-0.5e+3,true,null],"c":{}}"#);
        assert_eq!(round(r#""\u00e9\ud83d\ude00\n\u0001""#), "\"é😀\\n\\u0001\"");
    }

    #[test]
    fn duplicate_keys_keep_first_position_last_value() {
        assert_eq!(round(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
        // Beyond the scanned size, through the index.
        let many: Vec<String> = (0..20).map(|i| format!(r#""k{i}":{i}"#)).collect();
        let expected = many.iter().enumerate().map(|(i, f)| if i == 0 { r#""k0":99"#.to_owned() } else { f.clone() }).collect::<Vec<_>>();
        assert_eq!(round(&format!("{{{},\"k0\":99}}", many.join(","))), format!("{{{}}}", expected.join(",")));
    }

    #[test]
    fn trailing_content_is_ignored_like_jackson() {
        assert_eq!(round("1 garbage"), "1");
        assert_eq!(parse(b"  ").unwrap(), None);
    }

    #[test]
    fn bad_input_is_an_error() {
        for bad in ["{", "[1,", "{\"a\" 1}", "01", "-", "1.", "1e", "\"abc", "tru", "{1:2}", "\"\\x\"", "\"\\u12\"", "[1}", "\"a\u{1}\""] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(parse(b"\"\xff\"").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        let err = parse(deep.as_bytes()).unwrap_err();
        assert!(err.contains("nesting depth"), "{err}");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(parse(ok.as_bytes()).unwrap().is_some());
    }

    #[test]
    fn node_names_follow_jackson() {
        let name = |s: &str| parse(s.as_bytes()).unwrap().unwrap().node_name();
        assert_eq!(name("1"), "IntNode");
        assert_eq!(name("3000000000"), "LongNode");
        assert_eq!(name("30000000000000000000"), "BigIntegerNode");
        assert_eq!(name("1.0"), "DecimalNode");
        assert_eq!(name("\"x\""), "TextNode");
        assert_eq!(name("{}"), "ObjectNode");
    }
}
