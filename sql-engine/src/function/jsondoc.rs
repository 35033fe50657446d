//! A JSON document that keeps object keys in document order, as Jackson does in ksqlDB
//! (`serde_json::Value` sorts them unless its `preserve_order` feature is on workspace-wide).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// One JSON value; objects keep their keys in order (a repeated key keeps its first place and
/// its last value).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Doc {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Doc>),
    Object(Vec<(String, Doc)>),
}

impl Doc {
    /// Parses JSON text; `None` when it is not JSON.
    pub(crate) fn parse(text: &str) -> Option<Doc> {
        serde_json::from_str(text).ok()
    }

    /// Parses the first JSON value of the text, ignoring what follows it (Jackson's `readTree`,
    /// which EXTRACTJSONFIELD uses in ksqlDB).
    pub(crate) fn parse_first(text: &str) -> Option<Doc> {
        serde_json::Deserializer::from_str(text).into_iter::<Doc>().next()?.ok()
    }

    /// Inserts or replaces `key`.
    pub(crate) fn insert(entries: &mut Vec<(String, Doc)>, key: String, value: Doc) {
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => entries.push((key, value)),
        }
    }
}

fn write_str(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str(&serde_json::to_string(s).map_err(|_| fmt::Error)?)
}

impl fmt::Display for Doc {
    /// Compact JSON: `{"a":1,"b":[true,null]}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Doc::Null => f.write_str("null"),
            Doc::Bool(b) => write!(f, "{b}"),
            Doc::Number(n) => write!(f, "{n}"),
            Doc::String(s) => write_str(f, s),
            Doc::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Doc::Object(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_str(f, k)?;
                    write!(f, ":{v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

struct DocVisitor;

impl<'de> Visitor<'de> for DocVisitor {
    type Value = Doc;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Doc, E> {
        Ok(Doc::Null)
    }
    fn visit_none<E>(self) -> Result<Doc, E> {
        Ok(Doc::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Doc, E> {
        Ok(Doc::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Doc, E> {
        Ok(Doc::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Doc, E> {
        Ok(Doc::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Doc, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Doc::Null, Doc::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Doc, E> {
        Ok(Doc::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Doc, E> {
        Ok(Doc::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Doc::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Doc>()? {
            Doc::insert(&mut entries, k, v);
        }
        Ok(Doc::Object(entries))
    }
}

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        d.deserialize_any(DocVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_round_trips() {
        let text = r#"{"z": 1, "a": [true, null, "x\"y"], "m": {"b": 2.5, "a": -3}}"#;
        let doc = Doc::parse(text).unwrap();
        assert_eq!(doc.to_string(), r#"{"z":1,"a":[true,null,"x\"y"],"m":{"b":2.5,"a":-3}}"#);
        assert_eq!(Doc::parse(r#"{"a":1,"a":2}"#).unwrap().to_string(), r#"{"a":2}"#);
        assert!(Doc::parse("{oops").is_none());
    }
}
