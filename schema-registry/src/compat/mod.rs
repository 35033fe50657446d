//! Compatibility levels and checks: a new schema against the subject's earlier ones, as
//! Confluent's `CompatibilityChecker` decides. BACKWARD: the new schema reads what the old one
//! wrote; FORWARD: the old one reads what the new one writes; FULL: both. The `_TRANSITIVE`
//! levels check every earlier version, the others the latest only.

mod avro;
mod json;
mod protobuf;

use serde::{Deserialize, Serialize};

use crate::schema::Parsed;

/// A subject's compatibility level. Default: BACKWARD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    /// No check.
    None,
    /// The new schema reads data written with the latest.
    #[default]
    Backward,
    /// ... with every earlier one.
    BackwardTransitive,
    /// The latest schema reads data written with the new one.
    Forward,
    /// Every earlier schema does.
    ForwardTransitive,
    /// Backward and forward, against the latest.
    Full,
    /// Backward and forward, against every earlier one.
    FullTransitive,
}

impl Compatibility {
    /// From Confluent's name (case-insensitive).
    pub fn parse(s: &str) -> Option<Compatibility> {
        Some(match s.to_ascii_uppercase().as_str() {
            "NONE" => Compatibility::None,
            "BACKWARD" => Compatibility::Backward,
            "BACKWARD_TRANSITIVE" => Compatibility::BackwardTransitive,
            "FORWARD" => Compatibility::Forward,
            "FORWARD_TRANSITIVE" => Compatibility::ForwardTransitive,
            "FULL" => Compatibility::Full,
            "FULL_TRANSITIVE" => Compatibility::FullTransitive,
            _ => return None,
        })
    }

    /// Confluent's name.
    pub fn name(self) -> &'static str {
        match self {
            Compatibility::None => "NONE",
            Compatibility::Backward => "BACKWARD",
            Compatibility::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Compatibility::Forward => "FORWARD",
            Compatibility::ForwardTransitive => "FORWARD_TRANSITIVE",
            Compatibility::Full => "FULL",
            Compatibility::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether every earlier version is checked, not only the latest.
    pub fn transitive(self) -> bool {
        matches!(self, Compatibility::BackwardTransitive | Compatibility::ForwardTransitive | Compatibility::FullTransitive)
    }

    fn backward(self) -> bool {
        matches!(self, Compatibility::Backward | Compatibility::BackwardTransitive | Compatibility::Full | Compatibility::FullTransitive)
    }

    fn forward(self) -> bool {
        matches!(self, Compatibility::Forward | Compatibility::ForwardTransitive | Compatibility::Full | Compatibility::FullTransitive)
    }
}

/// Why `new` cannot replace `old` under `level`: empty when it can. `old` is one earlier
/// version (the caller picks the latest or each one, by [`Compatibility::transitive`]).
pub(crate) fn check(level: Compatibility, new: &Parsed, old: &Parsed) -> Vec<String> {
    let mut out = Vec::new();
    if level.backward() {
        out.extend(reads(new, old));
    }
    if level.forward() {
        out.extend(reads(old, new));
    }
    out
}

/// Why `reader` cannot read what `writer` wrote.
fn reads(reader: &Parsed, writer: &Parsed) -> Vec<String> {
    match (reader, writer) {
        (Parsed::Avro(r), Parsed::Avro(w)) => avro::can_read(r, w),
        (Parsed::Json(r), Parsed::Json(w)) => json::can_read(r, w),
        (Parsed::Protobuf(r), Parsed::Protobuf(w)) => protobuf::can_read(r, w),
        _ => vec!["{errorType:'TYPE_MISMATCH', description:'The schema types differ'}".to_owned()],
    }
}
