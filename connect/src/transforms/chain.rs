//! The connector's transformation chain from `transforms=...` and `predicates=...`, and the
//! classes by name.

use std::collections::BTreeMap;
use std::fmt;

use super::predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
use super::{invalid, list, sub_config, Predicate, Side, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::error::{Error, Result};

const PKG: &str = "org.apache.kafka.connect.transforms.";

/// The transformation classes Brook has, by Kafka's full class name.
pub const TRANSFORMATION_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.transforms.Cast$Key",
    "org.apache.kafka.connect.transforms.Cast$Value",
    "org.apache.kafka.connect.transforms.ExtractField$Key",
    "org.apache.kafka.connect.transforms.ExtractField$Value",
    "org.apache.kafka.connect.transforms.Filter",
    "org.apache.kafka.connect.transforms.HoistField$Key",
    "org.apache.kafka.connect.transforms.HoistField$Value",
    "org.apache.kafka.connect.transforms.InsertField$Key",
    "org.apache.kafka.connect.transforms.InsertField$Value",
    "org.apache.kafka.connect.transforms.MaskField$Key",
    "org.apache.kafka.connect.transforms.MaskField$Value",
    "org.apache.kafka.connect.transforms.RegexRouter",
    "org.apache.kafka.connect.transforms.ReplaceField$Key",
    "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key",
    "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
    "org.apache.kafka.connect.transforms.TimestampConverter$Key",
    "org.apache.kafka.connect.transforms.TimestampConverter$Value",
    "org.apache.kafka.connect.transforms.TimestampRouter",
    "org.apache.kafka.connect.transforms.ValueToKey",
];

/// The predicate classes Brook has.
pub const PREDICATE_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
    "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
    "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
];

/// A new, unconfigured transformation of `class` (full name, or without the package).
fn transformation(class: &str) -> Option<Box<dyn Transformation>> {
    let simple = class.strip_prefix(PKG).unwrap_or(class);
    let (base, side) = match simple.split_once('$') {
        Some((b, "Key")) => (b, Some(Side::Key)),
        Some((b, "Value")) => (b, Some(Side::Value)),
        Some(_) => return None,
        None => (simple, None),
    };
    Some(match (base, side) {
        ("Cast", Some(s)) => Box::new(super::cast::Cast::new(s)),
        ("ExtractField", Some(s)) => Box::new(super::extract_field::ExtractField::new(s)),
        ("Filter", None) => Box::new(super::router::Filter),
        ("HoistField", Some(s)) => Box::new(super::hoist_field::HoistField::new(s)),
        ("InsertField", Some(s)) => Box::new(super::insert_field::InsertField::new(s)),
        ("MaskField", Some(s)) => Box::new(super::mask_field::MaskField::new(s)),
        ("RegexRouter", None) => Box::<super::router::RegexRouter>::default(),
        ("ReplaceField", Some(s)) => Box::new(super::replace_field::ReplaceField::new(s)),
        ("SetSchemaMetadata", Some(s)) => Box::new(super::set_schema_metadata::SetSchemaMetadata::new(s)),
        ("TimestampConverter", Some(s)) => Box::new(super::timestamp_converter::TimestampConverter::new(s)),
        ("TimestampRouter", None) => Box::<super::router::TimestampRouter>::default(),
        ("ValueToKey", None) => Box::<super::value_to_key::ValueToKey>::default(),
        _ => return None,
    })
}

#[cfg(test)]
pub(super) fn transformation_exists(class: &str) -> bool {
    transformation(class).is_some()
}

/// A new, unconfigured predicate of `class`.
fn predicate(class: &str) -> Option<Box<dyn Predicate>> {
    let simple = class.strip_prefix("org.apache.kafka.connect.transforms.predicates.").unwrap_or(class);
    Some(match simple {
        "HasHeaderKey" => Box::<HasHeaderKey>::default(),
        "RecordIsTombstone" => Box::new(RecordIsTombstone),
        "TopicNameMatches" => Box::<TopicNameMatches>::default(),
        _ => return None,
    })
}

/// Aliases of `key` (`transforms=a,b`), rejecting duplicates as Kafka does.
fn aliases(config: &Config, key: &str) -> Result<Vec<String>> {
    let aliases = list(config, key);
    let mut seen = std::collections::BTreeSet::new();
    for a in &aliases {
        if !seen.insert(a) {
            return Err(invalid(key, &config[key], "Duplicate alias provided."));
        }
    }
    Ok(aliases)
}

fn class_of<'a>(config: &'a Config, key: &str) -> Result<&'a str> {
    config.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()).ok_or_else(|| Error::Config(format!("Missing required configuration \"{key}\" which has no default value.")))
}

/// One step of the chain.
struct Step {
    alias: String,
    class: String,
    transformation: Box<dyn Transformation>,
    /// The predicate's alias and the predicate, if the step has one.
    predicate: Option<(String, usize)>,
    negate: bool,
}

/// A connector's transformations in order, each with its optional predicate (Kafka's
/// `TransformationChain`).
pub struct TransformationChain {
    steps: Vec<Step>,
    predicates: Vec<Box<dyn Predicate>>,
}

impl fmt::Debug for TransformationChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<_> = self.steps.iter().map(|s| (&s.alias, &s.class, s.predicate.as_ref().map(|p| &p.0), s.negate)).collect();
        f.debug_struct("TransformationChain").field("steps", &steps).finish()
    }
}

impl TransformationChain {
    /// No transformations.
    pub fn empty() -> TransformationChain {
        TransformationChain { steps: Vec::new(), predicates: Vec::new() }
    }

    /// The chain a connector config describes: `transforms`, `transforms.<alias>.type`,
    /// `transforms.<alias>.predicate`, `transforms.<alias>.negate` and the transformation's own
    /// `transforms.<alias>.*` keys; `predicates`, `predicates.<alias>.type` and their keys.
    ///
    /// # Errors
    /// [`Error::Config`] on an unknown class, a missing `type`, a duplicate alias, a predicate
    /// alias not in `predicates`, `negate` without a predicate, or a transformation's or
    /// predicate's own bad key (its message prefixed with the alias).
    pub fn from_config(config: &Config) -> Result<TransformationChain> {
        let mut predicates = Vec::new();
        let mut predicate_index = BTreeMap::new();
        for alias in aliases(config, "predicates")? {
            let key = format!("predicates.{alias}.type");
            let class = class_of(config, &key)?;
            let mut p = predicate(class).ok_or_else(|| invalid(&key, class, &format!("Class {class} could not be found.")))?;
            p.configure(&sub_config(config, &format!("predicates.{alias}.")))
                .map_err(|e| Error::Config(format!("Invalid configuration of predicate {alias} ({class}): {e}")))?;
            predicate_index.insert(alias, predicates.len());
            predicates.push(p);
        }
        let mut steps = Vec::new();
        for alias in aliases(config, "transforms")? {
            let prefix = format!("transforms.{alias}.");
            let key = format!("{prefix}type");
            let class = class_of(config, &key)?;
            let mut t = transformation(class).ok_or_else(|| invalid(&key, class, &format!("Class {class} could not be found.")))?;
            let sub = sub_config(config, &prefix);
            t.configure(&sub).map_err(|e| Error::Config(format!("Invalid configuration of transformation {alias} ({class}): {e}")))?;
            let predicate = match sub.get("predicate").map(|s| s.trim()).filter(|s| !s.is_empty()) {
                None => None,
                Some(p) => {
                    let i = predicate_index.get(p).ok_or_else(|| {
                        invalid(&format!("{prefix}predicate"), p, &format!("Referenced predicate '{p}' is not defined in 'predicates'"))
                    })?;
                    Some((p.to_owned(), *i))
                }
            };
            let negate = match sub.get("negate").map(|s| s.trim().to_ascii_lowercase()) {
                None => false,
                Some(v) if v == "false" => false,
                Some(v) if v == "true" => true,
                Some(v) => return Err(invalid(&format!("{prefix}negate"), &v, "Expected value to be either true or false")),
            };
            if negate && predicate.is_none() {
                return Err(invalid(&format!("{prefix}negate"), "true", "negate is only allowed with a predicate"));
            }
            let class = if class.contains('.') { class.to_owned() } else { format!("{PKG}{class}") };
            steps.push(Step { alias, class, transformation: t, predicate, negate });
        }
        Ok(TransformationChain { steps, predicates })
    }

    /// Whether the chain has no transformation.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Applies the chain; `None`: a transformation dropped the record. On an error, the class
    /// name of the failing transformation comes with it (for the error reporters).
    ///
    /// # Errors
    /// The first transformation's error, with its class name.
    pub fn apply(&self, mut record: ConnectRecord, sink_offset: Option<i64>) -> Result<Option<ConnectRecord>, (String, Error)> {
        for step in &self.steps {
            let applies = match &step.predicate {
                None => true,
                Some((_, i)) => self.predicates[*i].test(&record) != step.negate,
            };
            if !applies {
                continue;
            }
            match step.transformation.apply(record, sink_offset) {
                Ok(Some(r)) => record = r,
                Ok(None) => return Ok(None),
                Err(e) => return Err((step.class.clone(), e)),
            }
        }
        Ok(Some(record))
    }
}
