//! JSON Schema: Confluent's `SchemaDiff` rules for the common keywords. The old schema is the
//! "original", the reader the "update"; each difference is compatible or not as Confluent
//! classes it:
//!
//! - a type changed: incompatible, except `integer` -> `number` and a type added to a list of
//!   types or an `anyOf`/`oneOf` (extended); narrowed is incompatible;
//! - objects: a property added to an open content model (no `additionalProperties: false`):
//!   incompatible unless its schema is empty or `additionalProperties` covers it; added to a
//!   closed model: compatible when optional, incompatible when required without a default; a
//!   property removed from an open model: compatible, from a closed one: incompatible;
//!   `required` gaining a name without a default: incompatible, losing one: compatible;
//!   `additionalProperties` turned false: incompatible, opened: compatible;
//! - arrays: the items compared; enums: values added compatible, removed incompatible;
//! - strings and numbers: a bound added or tightened (`maxLength`, `minLength`, `pattern`,
//!   `maximum`, `minimum`, `exclusiveMaximum`, `exclusiveMinimum`, `multipleOf`)
//!   incompatible, loosened or removed compatible.
//!
//! `$ref`s to `#/...` are followed inside the schema; others compare by their text.

use serde_json::{Map, Value};

pub(super) fn can_read(reader: &Value, writer: &Value) -> Vec<String> {
    let mut ctx = Ctx { original_root: writer, update_root: reader, out: vec![], depth: 0 };
    ctx.compare(writer, reader, "#");
    ctx.out
}

struct Ctx<'a> {
    original_root: &'a Value,
    update_root: &'a Value,
    out: Vec<String>,
    depth: usize,
}

/// What kind of schema a value is, as everit's classes split them.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Kind {
    Empty,
    False,
    Object,
    Array,
    String,
    Number,
    Boolean,
    Null,
    Enum,
    Combined,
    Not,
    Ref,
}

fn kind(v: &Value) -> Kind {
    let o = match v {
        Value::Bool(true) => return Kind::Empty,
        Value::Bool(false) => return Kind::False,
        Value::Object(o) => o,
        _ => return Kind::Empty,
    };
    if o.contains_key("$ref") {
        return Kind::Ref;
    }
    if o.contains_key("enum") || o.contains_key("const") {
        return Kind::Enum;
    }
    match o.get("type") {
        Some(Value::String(t)) => match t.as_str() {
            "object" => Kind::Object,
            "array" => Kind::Array,
            "string" => Kind::String,
            "number" | "integer" => Kind::Number,
            "boolean" => Kind::Boolean,
            "null" => Kind::Null,
            _ => Kind::Empty,
        },
        Some(Value::Array(_)) => Kind::Combined,
        _ if ["anyOf", "oneOf", "allOf"].iter().any(|k| o.contains_key(*k)) => Kind::Combined,
        _ if o.contains_key("not") => Kind::Not,
        _ if o.contains_key("properties") || o.contains_key("additionalProperties") || o.contains_key("required") => Kind::Object,
        _ if o.contains_key("items") => Kind::Array,
        _ => Kind::Empty,
    }
}

fn obj(v: &Value) -> Option<&Map<String, Value>> {
    v.as_object()
}

/// A `type: [..]` list as an `anyOf` of single types, as everit reads it.
fn subschemas(v: &Value) -> Option<(&'static str, Vec<Value>)> {
    let o = obj(v)?;
    if let Some(Value::Array(ts)) = o.get("type") {
        let mut base = o.clone();
        base.remove("type");
        let subs = ts
            .iter()
            .map(|t| {
                let mut s = base.clone();
                s.insert("type".into(), t.clone());
                Value::Object(s)
            })
            .collect();
        return Some(("anyOf", subs));
    }
    for k in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(a)) = o.get(k) {
            return Some((k, a.clone()));
        }
    }
    None
}

impl Ctx<'_> {
    fn incompatible(&mut self, kind: &str, path: &str) {
        self.out.push(format!("{{errorType:'{kind}', description:'Found incompatible change: Difference{{jsonPath='{path}', type={kind}}}'}}"));
    }

    /// Follows a local `$ref` (`#/definitions/x`) in the root it belongs to.
    fn deref<'v>(&self, v: &'v Value, root: &'v Value) -> &'v Value {
        let mut v = v;
        for _ in 0..16 {
            match obj(v).and_then(|o| o.get("$ref")).and_then(Value::as_str) {
                Some(r) if r.starts_with('#') => match root.pointer(&r[1..]) {
                    Some(t) => v = t,
                    None => return v,
                },
                _ => return v,
            }
        }
        v
    }

    fn compare(&mut self, original: &Value, update: &Value, path: &str) {
        if self.depth > 64 {
            return;
        }
        self.depth += 1;
        let (o_root, u_root) = (self.original_root, self.update_root);
        let original = self.deref(original, o_root);
        let update = self.deref(update, u_root);
        self.compare_resolved(original, update, path);
        self.depth -= 1;
    }

    fn compare_resolved(&mut self, original: &Value, update: &Value, path: &str) {
        let (ko, ku) = (kind(original), kind(update));
        if ko == Kind::Ref && ku == Kind::Ref {
            if original.get("$ref") != update.get("$ref") {
                self.incompatible("TYPE_CHANGED", path);
            }
            return;
        }
        // A single schema against a union: fine if one branch takes it.
        if ko != Kind::Combined && ku == Kind::Combined {
            if let Some((crit, subs)) = subschemas(update) {
                if crit != "allOf" || subs.len() == 1 {
                    if subs.iter().any(|s| self.sub_compatible(original, s, path)) {
                        return;
                    }
                }
            }
            self.incompatible("TYPE_CHANGED", path);
            return;
        }
        if ko == Kind::Combined && ku != Kind::Combined {
            if let Some((_, subs)) = subschemas(original) {
                if subs.len() == 1 && self.sub_compatible(&subs[0], update, path) {
                    return;
                }
            }
            self.incompatible("TYPE_CHANGED", path);
            return;
        }
        if ko != ku {
            if ko == Kind::False || ku == Kind::Empty {
                return;
            }
            self.incompatible("TYPE_CHANGED", path);
            return;
        }
        match ko {
            Kind::Object => self.object(original, update, path),
            Kind::Array => self.array(original, update, path),
            Kind::String => self.string(original, update, path),
            Kind::Number => self.number(original, update, path),
            Kind::Enum => self.enumeration(original, update, path),
            Kind::Combined => self.combined(original, update, path),
            Kind::Not => {
                // Narrowing `not` widens the schema: compare reversed.
                if let (Some(o), Some(u)) = (original.get("not"), update.get("not")) {
                    let (o, u) = (o.clone(), u.clone());
                    self.compare(&u, &o, &format!("{path}/not"));
                }
            }
            Kind::Empty | Kind::False | Kind::Boolean | Kind::Null | Kind::Ref => {}
        }
    }

    /// Whether `update` takes everything `original` does, without recording anything.
    fn sub_compatible(&mut self, original: &Value, update: &Value, path: &str) -> bool {
        let before = self.out.len();
        self.compare(original, update, path);
        let ok = self.out.len() == before;
        self.out.truncate(before);
        ok
    }

    fn combined(&mut self, original: &Value, update: &Value, path: &str) {
        let (Some((oc, os)), Some((uc, us))) = (subschemas(original), subschemas(update)) else { return };
        if oc != uc && !(oc != "allOf" && uc != "allOf") {
            self.incompatible("COMBINED_TYPE_CHANGED", path);
            return;
        }
        if oc == "allOf" {
            // A product type may gain no constraint.
            if us.len() > os.len() {
                self.incompatible("PRODUCT_TYPE_EXTENDED", path);
                return;
            }
            for u in &us {
                if !os.iter().any(|o| self.sub_compatible(o, u, path)) {
                    self.incompatible("COMBINED_TYPE_SUBSCHEMAS_CHANGED", path);
                    return;
                }
            }
            return;
        }
        // A sum type may gain branches; each old branch must be taken by a new one.
        for (i, o) in os.iter().enumerate() {
            if !us.iter().any(|u| self.sub_compatible(o, u, &format!("{path}/{oc}/{i}"))) {
                self.incompatible(if us.len() < os.len() { "SUM_TYPE_NARROWED" } else { "COMBINED_TYPE_SUBSCHEMAS_CHANGED" }, path);
                return;
            }
        }
    }

    fn object(&mut self, original: &Value, update: &Value, path: &str) {
        let empty = Map::new();
        let props = |v: &Value| v.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        let required = |v: &Value| -> Vec<String> {
            v.get("required").and_then(Value::as_array).map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
        };
        let additional = |v: &Value| v.get("additionalProperties").cloned();
        let is_open = |a: &Option<Value>| !matches!(a, Some(Value::Bool(false)));
        let (op, up) = (props(original), props(update));
        let (or, ur) = (required(original), required(update));
        let (oa, ua) = (additional(original), additional(update));
        let has_default = |p: Option<&Value>| p.and_then(obj).is_some_and(|o| o.contains_key("default"));

        for (name, o) in &op {
            let p = format!("{path}/properties/{name}");
            match up.get(name) {
                Some(u) => self.compare(o, u, &p),
                None => {
                    if is_open(&ua) {
                        if let Some(Value::Object(_)) = &ua {
                            let a = ua.clone().unwrap_or(Value::Bool(true));
                            if !self.sub_compatible(o, &a, &p) {
                                self.incompatible("PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", &p);
                            }
                        }
                    } else if *o != Value::Bool(false) {
                        self.incompatible("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", &p);
                    }
                }
            }
        }
        for (name, u) in &up {
            if op.contains_key(name) {
                continue;
            }
            let p = format!("{path}/properties/{name}");
            if is_open(&oa) {
                let empty_schema = matches!(u, Value::Bool(true)) || obj(u).is_some_and(|m| m.is_empty());
                if empty_schema {
                    continue;
                }
                match &oa {
                    Some(a @ Value::Object(_)) => {
                        let a = a.clone();
                        if !self.sub_compatible(&a, u, &p) {
                            self.incompatible("PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", &p);
                        }
                    }
                    _ => self.incompatible("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", &p),
                }
            } else if ur.contains(name) && !has_default(Some(u)) {
                self.incompatible("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", &p);
            }
        }
        for name in &ur {
            if !or.contains(name) && !has_default(up.get(name)) && op.contains_key(name) {
                self.incompatible("REQUIRED_ATTRIBUTE_ADDED", &format!("{path}/required/{name}"));
            }
        }
        match (&oa, &ua) {
            (o, Some(Value::Bool(false))) if is_open(o) => self.incompatible("ADDITIONAL_PROPERTIES_REMOVED", &format!("{path}/additionalProperties")),
            (Some(o @ Value::Object(_)), Some(u @ Value::Object(_))) => {
                let (o, u) = (o.clone(), u.clone());
                self.compare(&o, &u, &format!("{path}/additionalProperties"));
            }
            (Some(Value::Object(_)), None | Some(Value::Bool(true))) => {}
            (None | Some(Value::Bool(true)), Some(Value::Object(_))) => {
                self.incompatible("ADDITIONAL_PROPERTIES_NARROWED", &format!("{path}/additionalProperties"))
            }
            _ => {}
        }
        let _ = empty;
        self.bounds(original, update, path, &[("maxProperties", Bound::Max), ("minProperties", Bound::Min)]);
    }

    fn array(&mut self, original: &Value, update: &Value, path: &str) {
        match (original.get("items"), update.get("items")) {
            (Some(o @ Value::Object(_)) | Some(o @ Value::Bool(_)), Some(u @ Value::Object(_)) | Some(u @ Value::Bool(_))) => {
                let (o, u) = (o.clone(), u.clone());
                self.compare(&o, &u, &format!("{path}/items"));
            }
            (Some(Value::Array(o)), Some(Value::Array(u))) => {
                for (i, (o, u)) in o.clone().iter().zip(u.clone().iter()).enumerate() {
                    self.compare(o, u, &format!("{path}/items/{i}"));
                }
            }
            (None, None) => {}
            (None, Some(_)) => self.incompatible("ITEMS_NARROWED", &format!("{path}/items")),
            (Some(_), None) => {}
            _ => self.incompatible("TYPE_CHANGED", &format!("{path}/items")),
        }
        if original.get("uniqueItems") != Some(&Value::Bool(true)) && update.get("uniqueItems") == Some(&Value::Bool(true)) {
            self.incompatible("UNIQUE_ITEMS_ADDED", path);
        }
        self.bounds(original, update, path, &[("maxItems", Bound::Max), ("minItems", Bound::Min)]);
    }

    fn string(&mut self, original: &Value, update: &Value, path: &str) {
        self.bounds(original, update, path, &[("maxLength", Bound::Max), ("minLength", Bound::Min)]);
        match (original.get("pattern"), update.get("pattern")) {
            (None, Some(_)) => self.incompatible("PATTERN_ADDED", path),
            (Some(o), Some(u)) if o != u => self.incompatible("PATTERN_CHANGED", path),
            _ => {}
        }
    }

    fn number(&mut self, original: &Value, update: &Value, path: &str) {
        let integer = |v: &Value| v.get("type").and_then(Value::as_str) == Some("integer");
        if !integer(original) && integer(update) {
            self.incompatible("TYPE_NARROWED", path);
        }
        self.bounds(
            original,
            update,
            path,
            &[("maximum", Bound::Max), ("minimum", Bound::Min), ("exclusiveMaximum", Bound::Max), ("exclusiveMinimum", Bound::Min)],
        );
        match (original.get("multipleOf").and_then(Value::as_f64), update.get("multipleOf").and_then(Value::as_f64)) {
            (None, Some(_)) => self.incompatible("MULTIPLE_OF_ADDED", path),
            (Some(o), Some(u)) if u != o && (o / u).fract() != 0.0 => self.incompatible("MULTIPLE_OF_CHANGED", path),
            _ => {}
        }
    }

    /// A bound added or tightened is incompatible.
    fn bounds(&mut self, original: &Value, update: &Value, path: &str, keys: &[(&str, Bound)]) {
        for (key, bound) in keys {
            let (o, u) = (original.get(*key).and_then(Value::as_f64), update.get(*key).and_then(Value::as_f64));
            let upper = key.to_ascii_uppercase();
            match (o, u) {
                (None, Some(_)) => self.incompatible(&format!("{}_ADDED", snake(&upper)), path),
                (Some(o), Some(u)) if (*bound == Bound::Max && u < o) || (*bound == Bound::Min && u > o) => {
                    self.incompatible(&format!("{}_{}", snake(&upper), if *bound == Bound::Max { "DECREASED" } else { "INCREASED" }), path)
                }
                _ => {}
            }
        }
    }

    fn enumeration(&mut self, original: &Value, update: &Value, path: &str) {
        let values = |v: &Value| -> Vec<Value> {
            match (v.get("enum"), v.get("const")) {
                (Some(Value::Array(a)), _) => a.clone(),
                (_, Some(c)) => vec![c.clone()],
                _ => vec![],
            }
        };
        let (o, u) = (values(original), values(update));
        if o.iter().any(|x| !u.contains(x)) {
            self.incompatible("ENUM_ARRAY_NARROWED", path);
        } else if o != u && o.iter().any(|x| u.contains(x)) && o.len() == u.len() {
            self.incompatible("ENUM_ARRAY_CHANGED", path);
        }
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Bound {
    Max,
    Min,
}

/// `MAXLENGTH` -> `MAX_LENGTH`, as Confluent names the differences.
fn snake(upper: &str) -> String {
    for (from, to) in [
        ("EXCLUSIVEMAXIMUM", "EXCLUSIVE_MAXIMUM"),
        ("EXCLUSIVEMINIMUM", "EXCLUSIVE_MINIMUM"),
        ("MAXLENGTH", "MAX_LENGTH"),
        ("MINLENGTH", "MIN_LENGTH"),
        ("MAXPROPERTIES", "MAX_PROPERTIES"),
        ("MINPROPERTIES", "MIN_PROPERTIES"),
        ("MAXITEMS", "MAX_ITEMS"),
        ("MINITEMS", "MIN_ITEMS"),
    ] {
        if upper == from {
            return to.to_owned();
        }
    }
    upper.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    fn ok(reader: &str, writer: &str) -> bool {
        can_read(&j(reader), &j(writer)).is_empty()
    }

    const OPEN: &str = r#"{"type":"object","properties":{"a":{"type":"string"}}}"#;
    const CLOSED: &str = r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#;

    #[test]
    fn content_models() {
        let open_b = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}"#;
        let closed_b = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}"#;
        let closed_b_req = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["b"],"additionalProperties":false}"#;
        assert!(!ok(open_b, OPEN), "a property added to an open content model");
        assert!(ok(OPEN, open_b), "a property removed from an open content model");
        assert!(ok(closed_b, CLOSED), "an optional property added to a closed content model");
        assert!(!ok(closed_b_req, CLOSED), "a required property added to a closed content model");
        assert!(!ok(CLOSED, closed_b), "a property removed from a closed content model");
        assert!(!ok(CLOSED, OPEN), "closing an open content model");
        assert!(ok(OPEN, CLOSED), "opening a closed content model");
    }

    #[test]
    fn types_and_required() {
        assert!(ok(r#"{"type":"number"}"#, r#"{"type":"integer"}"#));
        assert!(!ok(r#"{"type":"integer"}"#, r#"{"type":"number"}"#));
        assert!(!ok(r#"{"type":"string"}"#, r#"{"type":"integer"}"#));
        assert!(ok(r#"{"type":["string","null"]}"#, r#"{"type":"string"}"#));
        assert!(!ok(r#"{"type":"string"}"#, r#"{"type":["string","null"]}"#));
        let req = r#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}"#;
        assert!(!ok(req, OPEN), "required added");
        assert!(ok(OPEN, req), "required removed");
        assert!(ok(r#"{"enum":["A","B"]}"#, r#"{"enum":["A"]}"#));
        assert!(!ok(r#"{"enum":["A"]}"#, r#"{"enum":["A","B"]}"#));
        assert!(!ok(r#"{"type":"string","maxLength":3}"#, r#"{"type":"string"}"#));
        assert!(ok(r#"{"type":"string"}"#, r#"{"type":"string","maxLength":3}"#));
        assert!(ok(r#"{"type":"array","items":{"type":"number"}}"#, r#"{"type":"array","items":{"type":"integer"}}"#));
    }
}
