//! `ReplaceField$Key` / `ReplaceField$Value`: keeps the fields of `include` (all when empty),
//! drops those of `exclude`, renames by `renames=old:new,...` (Kafka's older `whitelist` /
//! `blacklist` keys are read too). Tombstones pass unchanged.

use std::collections::BTreeMap;

use super::{invalid, list, make_struct, require_map, require_struct, struct_basics, Side, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::{Field, SchemaAndValue, Value};
use crate::error::Result;

const PURPOSE: &str = "field replacement";

#[derive(Debug)]
pub(crate) struct ReplaceField {
    side: Side,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: BTreeMap<String, String>,
}

impl ReplaceField {
    pub(crate) fn new(side: Side) -> ReplaceField {
        ReplaceField { side, exclude: Vec::new(), include: Vec::new(), renames: BTreeMap::new() }
    }

    fn keep(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name) && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed(&self, name: &str) -> String {
        self.renames.get(name).cloned().unwrap_or_else(|| name.to_owned())
    }

    /// What [`apply`](Transformation::apply) makes of the record's key or value (not null).
    fn updated(&self, part: &SchemaAndValue) -> Result<SchemaAndValue> {
        Ok(match &part.schema {
            None => {
                let m = require_map(&part.value, PURPOSE)?;
                let kept = m
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = k.to_string();
                        self.keep(&name).then(|| (Value::String(self.renamed(&name)), v.clone()))
                    })
                    .collect();
                SchemaAndValue { schema: None, value: Value::Map(kept) }
            }
            Some(schema) => {
                let st = require_struct(&part.value, PURPOSE)?;
                let mut new_schema = struct_basics(schema);
                let mut values = Vec::new();
                for (f, v) in schema.fields.iter().zip(&st.values) {
                    if self.keep(&f.name) {
                        new_schema.fields.push(Field { name: self.renamed(&f.name), schema: f.schema.clone() });
                        values.push(v.clone());
                    }
                }
                SchemaAndValue { schema: Some(new_schema.clone()), value: make_struct(new_schema, values) }
            }
        })
    }
}

impl Transformation for ReplaceField {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.exclude = if config.contains_key("exclude") { list(config, "exclude") } else { list(config, "blacklist") };
        self.include = if config.contains_key("include") { list(config, "include") } else { list(config, "whitelist") };
        self.renames.clear();
        for mapping in list(config, "renames") {
            match mapping.split(':').collect::<Vec<_>>().as_slice() {
                [from, to] => {
                    self.renames.insert((*from).to_owned(), (*to).to_owned());
                }
                _ => return Err(invalid("renames", &config["renames"], &format!("Invalid rename mapping: {mapping}"))),
            }
        }
        Ok(())
    }

    fn apply(&self, record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        self.side.update(record, |_, part| self.updated(part))
    }
}
