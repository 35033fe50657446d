//! The columns of a result or a source as ksqlDB's entities describe them ([`FieldInfo`],
//! [`FieldSchema`]): what a pull query's rows, a push query and `DESCRIBE` share.

use serde::{Deserialize, Serialize};

use crate::plan::physical::PlanColumn;
use crate::SqlType;

/// A column as `DESCRIBE` lists it: ksqlDB's `FieldInfo` (`type` with `KEY` for key columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldInfo {
    pub name: String,
    pub schema: FieldSchema,
    /// `KEY`, `HEADERS` or absent.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// ksqlDB's `SchemaInfo`: the type name and, for containers, its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldSchema {
    #[serde(rename = "type")]
    pub type_name: String,
    pub fields: Option<Vec<FieldInfo>>,
    pub member_schema: Option<Box<FieldSchema>>,
}

impl FieldSchema {
    /// The schema of `ty` (`INTEGER`, `STRUCT` with fields, `ARRAY` with its member, ...).
    pub fn of(ty: &SqlType) -> Self {
        let plain = |n: &str| FieldSchema { type_name: n.to_owned(), fields: None, member_schema: None };
        match ty {
            SqlType::Array(m) => FieldSchema { type_name: "ARRAY".into(), fields: None, member_schema: Some(Box::new(Self::of(m))) },
            SqlType::Map(_, v) => FieldSchema { type_name: "MAP".into(), fields: None, member_schema: Some(Box::new(Self::of(v))) },
            SqlType::Struct(fs) => FieldSchema {
                type_name: "STRUCT".into(),
                fields: Some(fs.iter().map(|(n, t)| FieldInfo { name: n.clone(), schema: Self::of(t), kind: None }).collect()),
                member_schema: None,
            },
            SqlType::Decimal { .. } => plain("DECIMAL"),
            other => plain(&other.to_string()),
        }
    }
}

impl FieldInfo {
    pub(crate) fn of(c: &PlanColumn, key: bool) -> Self {
        FieldInfo { name: c.name.clone(), schema: FieldSchema::of(&c.ty), kind: key.then(|| "KEY".to_owned()) }
    }
}
