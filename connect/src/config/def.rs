//! Config definitions and validation: Kafka's `ConfigDef` as far as Connect's
//! `PUT /connector-plugins/{plugin}/config/validate` needs it. A connector declares its keys
//! ([`ConfigDef`]: name, type, default, importance, documentation, group); [`ConfigDef::validate`]
//! checks a config key by key and returns one [`ConfigValue`] per key with its errors, in
//! Kafka's wording (`Missing required configuration "file" which has no default value.`,
//! `Invalid value x for configuration batch.size: Not a number of type INT`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A connector's, task's or worker's configuration: Kafka's `Map<String, String>`, keys in
/// order.
pub type Config = BTreeMap<String, String>;

/// A config key's type (Kafka's `ConfigDef.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ConfigType {
    /// `BOOLEAN`: `true` / `false` (any case).
    Boolean,
    /// `STRING`.
    String,
    /// `INT`: a 32-bit integer.
    Int,
    /// `SHORT`: a 16-bit integer.
    Short,
    /// `LONG`: a 64-bit integer.
    Long,
    /// `DOUBLE`.
    Double,
    /// `LIST`: comma-separated values.
    List,
    /// `CLASS`: a class name.
    Class,
    /// `PASSWORD`: a string shown as `[hidden]`.
    Password,
}

impl ConfigType {
    /// Kafka's name of the type (`INT`).
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }

    /// Whether `value` parses as this type; the error is Kafka's text after `for configuration X: `.
    fn check(self, value: &str) -> Result<(), String> {
        let v = value.trim();
        let ok = match self {
            ConfigType::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            ConfigType::Int => v.parse::<i32>().is_ok(),
            ConfigType::Short => v.parse::<i16>().is_ok(),
            ConfigType::Long => v.parse::<i64>().is_ok(),
            ConfigType::Double => v.parse::<f64>().is_ok(),
            ConfigType::String | ConfigType::List | ConfigType::Class | ConfigType::Password => true,
        };
        match (ok, self) {
            (true, _) => Ok(()),
            (false, ConfigType::Boolean) => Err("Expected value to be either true or false".into()),
            (false, t) => Err(format!("Not a number of type {}", t.name())),
        }
    }
}

/// How much a key matters (Kafka's `ConfigDef.Importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Importance {
    /// `HIGH`.
    High,
    /// `MEDIUM`.
    Medium,
    /// `LOW`.
    Low,
}

/// A check beyond the type (Kafka's `ConfigDef.Validator`): `Err` holds the reason, shown as
/// `Invalid value V for configuration K: REASON`.
pub type Validator = fn(&str) -> Result<(), String>;

/// One key of a [`ConfigDef`].
#[derive(Debug, Clone)]
pub struct ConfigKey {
    /// The key (`file`).
    pub name: String,
    /// Its type.
    pub kind: ConfigType,
    /// The default, if any.
    pub default: Option<String>,
    /// Whether a value must be given (no default; Kafka's `NO_DEFAULT_VALUE`).
    pub required: bool,
    /// Its importance.
    pub importance: Importance,
    /// What it means.
    pub documentation: String,
    /// The group it is shown in (`Common`), if any.
    pub group: Option<String>,
    /// Its position in the group (-1: none).
    pub order_in_group: i32,
    /// The name shown in UIs.
    pub display_name: String,
    /// A further check of the value.
    pub validator: Option<Validator>,
}

/// A connector's (or worker's) declared keys, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

/// What [`ConfigDef::validate`] says of one key: its value and its errors.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigValue {
    /// The key.
    pub name: String,
    /// The value given, if any.
    pub value: Option<String>,
    /// What is wrong with it (empty: valid).
    pub errors: Vec<String>,
}

impl ConfigDef {
    /// An empty definition.
    pub fn new() -> ConfigDef {
        ConfigDef::default()
    }

    /// Adds a key; `default: None` makes it required.
    #[must_use]
    pub fn define(mut self, name: &str, kind: ConfigType, default: Option<&str>, importance: Importance, documentation: &str) -> ConfigDef {
        self.keys.push(ConfigKey {
            name: name.to_owned(),
            kind,
            default: default.map(str::to_owned),
            required: default.is_none(),
            importance,
            documentation: documentation.to_owned(),
            group: None,
            order_in_group: -1,
            display_name: name.to_owned(),
            validator: None,
        });
        self
    }

    /// Sets the group and the order in it of the key defined last.
    #[must_use]
    pub fn in_group(mut self, group: &str, order: i32) -> ConfigDef {
        if let Some(k) = self.keys.last_mut() {
            k.group = Some(group.to_owned());
            k.order_in_group = order;
        }
        self
    }

    /// Makes the key defined last optional without a default (Kafka's `null` default).
    #[must_use]
    pub fn optional(mut self) -> ConfigDef {
        if let Some(k) = self.keys.last_mut() {
            k.required = false;
        }
        self
    }

    /// Sets the display name of the key defined last.
    #[must_use]
    pub fn display(mut self, display_name: &str) -> ConfigDef {
        if let Some(k) = self.keys.last_mut() {
            k.display_name = display_name.to_owned();
        }
        self
    }

    /// Adds a validator to the key defined last.
    #[must_use]
    pub fn validated(mut self, validator: Validator) -> ConfigDef {
        if let Some(k) = self.keys.last_mut() {
            k.validator = Some(validator);
        }
        self
    }

    /// Appends the keys of `other` that this definition does not have yet.
    #[must_use]
    pub fn merge(mut self, other: ConfigDef) -> ConfigDef {
        for k in other.keys {
            if !self.keys.iter().any(|have| have.name == k.name) {
                self.keys.push(k);
            }
        }
        self
    }

    /// The keys, in declaration order.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// The groups, in order of first appearance.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for g in self.keys.iter().filter_map(|k| k.group.as_ref()) {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        groups
    }

    /// Checks `config` key by key: a required key that is missing or empty, a value that is
    /// not of the key's type, a value its validator refuses.
    pub fn validate(&self, config: &Config) -> Vec<ConfigValue> {
        self.keys
            .iter()
            .map(|k| {
                let value = config.get(&k.name).cloned();
                let mut errors = Vec::new();
                match value.as_deref().or(k.default.as_deref()) {
                    None if !k.required => {}
                    None => errors.push(format!("Missing required configuration \"{}\" which has no default value.", k.name)),
                    Some(v) => {
                        let checked = k.kind.check(v).and_then(|()| k.validator.map_or(Ok(()), |f| f(v)));
                        if let Err(reason) = checked {
                            errors.push(format!("Invalid value {v} for configuration {}: {reason}", k.name));
                        }
                    }
                }
                ConfigValue { name: k.name.clone(), value, errors }
            })
            .collect()
    }
}

/// A validator: a non-empty value.
pub fn non_empty_string(v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        Err("String must be non-empty".into())
    } else {
        Ok(())
    }
}

/// A validator: an integer of at least 1.
pub fn at_least_one(v: &str) -> Result<(), String> {
    match v.trim().parse::<i64>() {
        Ok(n) if n >= 1 => Ok(()),
        _ => Err("Value must be at least 1".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_reports_missing_and_mistyped_keys_in_kafkas_words() {
        let def = ConfigDef::new()
            .define("file", ConfigType::String, None, Importance::High, "the file")
            .define("batch.size", ConfigType::Int, Some("2000"), Importance::Low, "lines per poll")
            .define("tasks.max", ConfigType::Int, Some("1"), Importance::High, "tasks")
            .validated(at_least_one);
        let config: Config = [("batch.size".to_owned(), "many".to_owned()), ("tasks.max".to_owned(), "0".to_owned())].into();
        let values = def.validate(&config);
        assert_eq!(values[0].errors, ["Missing required configuration \"file\" which has no default value."]);
        assert_eq!(values[1].errors, ["Invalid value many for configuration batch.size: Not a number of type INT"]);
        assert_eq!(values[2].errors, ["Invalid value 0 for configuration tasks.max: Value must be at least 1"]);
    }
}
