//! URL functions (ksqlDB's `udf/url`): parts of a URL as `java.net.URI` splits them, and
//! `application/x-www-form-urlencoded` parameter coding. An unparsable URL gives `NULL`.

use super::api::Nulls;
use super::args::string;
use super::registry::FunctionRegistry;
use crate::value::Value;
use crate::Result;

const CAT: &str = "URL";

pub(crate) fn register(r: &mut FunctionRegistry) {
    use Nulls::Strict;
    r.scalar("URL_EXTRACT_PROTOCOL", CAT, "The scheme of a URL.", &["(STRING) -> STRING"], Strict, |a, _| part(a, |u| u.scheme));
    r.scalar("URL_EXTRACT_HOST", CAT, "The host of a URL.", &["(STRING) -> STRING"], Strict, |a, _| part(a, |u| u.host));
    r.scalar("URL_EXTRACT_PORT", CAT, "The port of a URL, NULL when absent.", &["(STRING) -> INT"], Strict, |a, _| Ok(Url::parse(string(a, 0)?).and_then(|u| u.port?.parse().ok()).map_or(Value::Null, Value::Int)));
    r.scalar("URL_EXTRACT_PATH", CAT, "The decoded path of a URL.", &["(STRING) -> STRING"], Strict, |a, _| Ok(Url::parse(string(a, 0)?).map_or(Value::Null, |u| Value::String(decode(u.path)))));
    r.scalar("URL_EXTRACT_QUERY", CAT, "The decoded query of a URL.", &["(STRING) -> STRING"], Strict, |a, _| Ok(Url::parse(string(a, 0)?).and_then(|u| u.query).map_or(Value::Null, |q| Value::String(decode(q)))));
    r.scalar("URL_EXTRACT_FRAGMENT", CAT, "The decoded fragment of a URL.", &["(STRING) -> STRING"], Strict, |a, _| Ok(Url::parse(string(a, 0)?).and_then(|u| u.fragment).map_or(Value::Null, |f| Value::String(decode(f)))));
    r.scalar("URL_EXTRACT_PARAMETER", CAT, "The decoded value of the first query parameter of a name.", &["(STRING, STRING) -> STRING"], Strict, extract_parameter);
    r.scalar("URL_ENCODE_PARAM", CAT, "Encodes a string as a URL query parameter (spaces as '+').", &["(STRING) -> STRING"], Strict, |a, _| Ok(Value::String(encode(string(a, 0)?))));
    r.scalar("URL_DECODE_PARAM", CAT, "Decodes a URL query parameter.", &["(STRING) -> STRING"], Strict, |a, _| Ok(Value::String(decode_param(string(a, 0)?))));
}

/// A URL's parts, raw (still percent-encoded).
struct Url<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

impl<'a> Url<'a> {
    fn parse(s: &'a str) -> Option<Url<'a>> {
        if s.chars().any(|c| c.is_whitespace()) {
            return None;
        }
        let (rest, fragment) = match s.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (s, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (scheme, rest) = rest.split_once("://")?;
        if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
            return None;
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (h, Some(p)),
            _ => (hostport, None),
        };
        if port.is_some_and(|p| !p.chars().all(|c| c.is_ascii_digit())) {
            return None;
        }
        Some(Url { scheme, host, port: port.filter(|p| !p.is_empty()), path, query, fragment })
    }
}

fn part(a: &[crate::Value], f: fn(Url<'_>) -> &str) -> Result<Value> {
    Ok(Url::parse(string(a, 0)?).map_or(Value::Null, |u| Value::String(f(u).to_string())))
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-decoding (`%41` -> `A`), leaving bad escapes as written.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `URLDecoder.decode`: `+` is a space.
fn decode_param(s: &str) -> String {
    decode(&s.replace('+', " "))
}

/// `URLEncoder.encode(s, UTF-8)`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn extract_parameter(a: &[Value], _: &crate::SqlType) -> Result<Value> {
    let name = string(a, 1)?;
    let Some(query) = Url::parse(string(a, 0)?).and_then(|u| u.query) else { return Ok(Value::Null) };
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if decode_param(k) == name {
            return Ok(Value::String(decode_param(v)));
        }
    }
    Ok(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_like_java_uri() {
        let u = Url::parse("https://user@ex.com:8080/a%20b/c?x=1&y=two#frag").unwrap();
        assert_eq!((u.scheme, u.host, u.port, u.path, u.query, u.fragment), ("https", "ex.com", Some("8080"), "/a%20b/c", Some("x=1&y=two"), Some("frag")));
        assert!(Url::parse("not a url").is_none());
        assert!(Url::parse("http://h:port/").is_none());
        assert_eq!(encode("a b&c/é"), "a+b%26c%2F%C3%A9");
        assert_eq!(decode_param("a+b%26c%2F%C3%A9"), "a b&c/é");
    }
}
