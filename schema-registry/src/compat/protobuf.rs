//! Protobuf: Confluent's `SchemaDiff` rules on the compiled descriptors. Compatible: messages,
//! enums, enum constants, fields and oneofs added or removed (except what follows), a field
//! renamed, a string or bytes field made repeated or not. Incompatible: the package changed,
//! a message removed, a field's kind changed (scalar / message / enum), its scalar type
//! changed outside one wire-compatible group (`int32 uint32 int64 uint64 bool`,
//! `sint32 sint64`, `string bytes`, `fixed32 sfixed32`, `fixed64 sfixed64`), its message or
//! enum type changed, a numeric field made repeated or not, a required field added or
//! removed, a field moved into an existing oneof, or several fields moved into a new one.
//! The check is the same both ways, as Confluent's is.

use std::collections::BTreeMap;

use protox::prost_reflect::{Cardinality, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor};

pub(super) fn can_read(reader: &FileDescriptor, writer: &FileDescriptor) -> Vec<String> {
    let mut out = Vec::new();
    if reader.package_name() != writer.package_name() {
        out.push(diff("PACKAGE_CHANGED", "#/"));
    }
    let (o, u) = (messages(writer), messages(reader));
    for (name, om) in &o {
        let path = format!("#/{name}");
        match u.get(name) {
            None if !om.is_map_entry() => out.push(diff("MESSAGE_REMOVED", &path)),
            None => {}
            Some(um) => message(om, um, &path, writer.package_name(), reader.package_name(), &mut out),
        }
    }
    out
}

fn diff(kind: &str, path: &str) -> String {
    format!("{{errorType:'{kind}', description:'The new schema has an incompatible change: Difference{{fullPath='{path}', type={kind}}}'}}")
}

/// Every message of the file, nested ones too, by name inside the package.
fn messages(file: &FileDescriptor) -> BTreeMap<String, MessageDescriptor> {
    fn walk(m: MessageDescriptor, package: &str, out: &mut BTreeMap<String, MessageDescriptor>) {
        for c in m.child_messages() {
            walk(c, package, out);
        }
        out.insert(local(m.full_name(), package), m);
    }
    let mut out = BTreeMap::new();
    for m in file.messages() {
        walk(m, file.package_name(), &mut out);
    }
    out
}

fn local(full: &str, package: &str) -> String {
    match full.strip_prefix(package).and_then(|r| r.strip_prefix('.')) {
        Some(r) if !package.is_empty() => r.to_owned(),
        _ => full.to_owned(),
    }
}

fn message(o: &MessageDescriptor, u: &MessageDescriptor, path: &str, op: &str, up: &str, out: &mut Vec<String>) {
    let uf: BTreeMap<u32, FieldDescriptor> = u.fields().map(|f| (f.number(), f)).collect();
    let of: BTreeMap<u32, FieldDescriptor> = o.fields().map(|f| (f.number(), f)).collect();
    let real_oneof = |f: &FieldDescriptor| f.containing_oneof().filter(|x| !x.is_synthetic()).map(|x| x.name().to_owned());
    let mut moved_to_new_oneof: BTreeMap<String, usize> = BTreeMap::new();
    for (n, f) in &of {
        let p = format!("{path}/{n}");
        let Some(g) = uf.get(n) else {
            if f.cardinality() == Cardinality::Required {
                out.push(diff("REQUIRED_FIELD_REMOVED", &p));
            }
            continue;
        };
        field(f, g, &p, op, up, out);
        if let (None, Some(oneof)) = (real_oneof(f), real_oneof(g)) {
            if o.oneofs().any(|x| x.name() == oneof) {
                out.push(diff("FIELD_MOVED_TO_EXISTING_ONEOF", &p));
            } else {
                *moved_to_new_oneof.entry(oneof).or_default() += 1;
            }
        }
    }
    for (oneof, count) in moved_to_new_oneof {
        if count > 1 {
            out.push(diff("MULTIPLE_FIELDS_MOVED_TO_ONEOF", &format!("{path}/{oneof}")));
        }
    }
    for (n, g) in &uf {
        if !of.contains_key(n) && g.cardinality() == Cardinality::Required {
            out.push(diff("REQUIRED_FIELD_ADDED", &format!("{path}/{n}")));
        }
    }
}

/// The wire-compatible group of a scalar type.
fn group(k: &Kind) -> Option<u8> {
    Some(match k {
        Kind::Int32 | Kind::Uint32 | Kind::Int64 | Kind::Uint64 | Kind::Bool => 1,
        Kind::Sint32 | Kind::Sint64 => 2,
        Kind::String | Kind::Bytes => 3,
        Kind::Fixed32 | Kind::Sfixed32 => 4,
        Kind::Fixed64 | Kind::Sfixed64 => 5,
        Kind::Float => 6,
        Kind::Double => 7,
        Kind::Message(_) | Kind::Enum(_) => return None,
    })
}

fn field(o: &FieldDescriptor, u: &FieldDescriptor, path: &str, op: &str, up: &str, out: &mut Vec<String>) {
    let (ok, uk) = (o.kind(), u.kind());
    match (&ok, &uk) {
        (Kind::Message(a), Kind::Message(b)) => {
            if local(a.full_name(), op) != local(b.full_name(), up) {
                out.push(diff("FIELD_NAMED_TYPE_CHANGED", path));
            }
        }
        (Kind::Enum(a), Kind::Enum(b)) => {
            if local(a.full_name(), op) != local(b.full_name(), up) {
                out.push(diff("FIELD_NAMED_TYPE_CHANGED", path));
            }
        }
        (Kind::Message(_), _) | (_, Kind::Message(_)) | (Kind::Enum(_), _) | (_, Kind::Enum(_)) => {
            out.push(diff("FIELD_KIND_CHANGED", path));
            return;
        }
        _ => {
            if group(&ok) != group(&uk) {
                out.push(diff("FIELD_SCALAR_KIND_CHANGED", path));
                return;
            }
        }
    }
    let repeated = |f: &FieldDescriptor| f.cardinality() == Cardinality::Repeated;
    if repeated(o) != repeated(u) {
        match ok {
            Kind::String | Kind::Bytes => {}
            Kind::Message(_) => out.push(diff("FIELD_KIND_CHANGED", path)),
            _ => out.push(diff("FIELD_NUMERIC_LABEL_CHANGED", path)),
        }
    }
    let required = |f: &FieldDescriptor| f.cardinality() == Cardinality::Required;
    if required(o) && !required(u) {
        out.push(diff("REQUIRED_FIELD_REMOVED", path));
    } else if !required(o) && required(u) {
        out.push(diff("REQUIRED_FIELD_ADDED", path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Parsed, Resolved, SchemaType};

    fn p(text: &str) -> FileDescriptor {
        match (Resolved { schema_type: SchemaType::Protobuf, text: text.into(), deps: vec![] }).parse().unwrap() {
            Parsed::Protobuf(f) => f,
            _ => unreachable!(),
        }
    }

    fn ok(reader: &str, writer: &str) -> bool {
        let r = can_read(&p(reader), &p(writer));
        r.is_empty()
    }

    const V1: &str = "syntax = \"proto3\"; package p; message M { string a = 1; int32 b = 2; }";

    #[test]
    fn field_changes() {
        assert!(ok("syntax = \"proto3\"; package p; message M { string a = 1; int32 b = 2; bool c = 3; }", V1), "field added");
        assert!(ok("syntax = \"proto3\"; package p; message M { string a = 1; }", V1), "field removed");
        assert!(ok("syntax = \"proto3\"; package p; message M { string x = 1; int64 b = 2; }", V1), "renamed; int32 -> int64");
        assert!(!ok("syntax = \"proto3\"; package p; message M { string a = 1; string b = 2; }", V1), "int32 -> string");
        assert!(!ok("syntax = \"proto3\"; package p; message M { string a = 1; sint32 b = 2; }", V1), "int32 -> sint32");
        assert!(!ok("syntax = \"proto3\"; package p; message M { string a = 1; repeated int32 b = 2; }", V1), "numeric label");
        assert!(ok("syntax = \"proto3\"; package p; message M { repeated string a = 1; int32 b = 2; }", V1), "string label");
        assert!(!ok("syntax = \"proto3\"; package q; message M { string a = 1; int32 b = 2; }", V1), "package");
        assert!(!ok("syntax = \"proto3\"; package p; message N { string a = 1; int32 b = 2; }", V1), "message removed");
        let two = "syntax = \"proto3\"; package p; message M { string a = 1; int32 b = 2; } message N { M m = 1; }";
        assert!(!ok("syntax = \"proto3\"; package p; message M { string a = 1; int32 b = 2; } message O {} message N { O m = 1; }", two));
        assert!(!ok("syntax = \"proto3\"; package p; message M { string a = 1; int32 b = 2; } message N { string m = 1; }", two));
        let moved = "syntax = \"proto3\"; package p; message M { oneof o { string a = 1; int32 b = 2; } }";
        assert!(!ok(moved, V1), "two fields moved into a new oneof");
        assert!(!ok("syntax = \"proto2\"; package p; message M { optional string a = 1; optional int32 b = 2; required bool c = 3; }",
            "syntax = \"proto2\"; package p; message M { optional string a = 1; optional int32 b = 2; }"));
    }
}
