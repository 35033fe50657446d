//! [`DataSource`]: one stream or table of the catalog (ksqlDB's `DataSource`).

use serde::{Deserialize, Serialize};

use crate::format::FormatInfo;
use crate::parser::ast::SourceKind;
use crate::LogicalSchema;

/// `WINDOW_TYPE` of a windowed source or of a windowed aggregation's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowType {
    Tumbling,
    Hopping,
    Session,
}

impl WindowType {
    /// ksqlDB's spelling: `TUMBLING`, `HOPPING`, `SESSION`.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowType::Tumbling => "TUMBLING",
            WindowType::Hopping => "HOPPING",
            WindowType::Session => "SESSION",
        }
    }

    /// Parses `WINDOW_TYPE` (case-insensitive).
    pub fn parse(s: &str) -> Option<WindowType> {
        match s.to_ascii_uppercase().as_str() {
            "TUMBLING" => Some(WindowType::Tumbling),
            "HOPPING" => Some(WindowType::Hopping),
            "SESSION" => Some(WindowType::Session),
            _ => None,
        }
    }
}

/// How the keys of a windowed source are windowed (ksqlDB's `WindowInfo`): the type and, for
/// time windows, the size (the key bytes carry only the start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowInfo {
    pub window_type: WindowType,
    pub size_ms: Option<u64>,
}

/// `TIMESTAMP` (and `TIMESTAMP_FORMAT`) of a source: which column is the record time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestampColumn {
    pub column: String,
    /// A `java.time` pattern for `STRING` columns.
    pub format: Option<String>,
}

/// A stream or table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSource {
    pub name: String,
    pub kind: SourceKind,
    pub schema: LogicalSchema,
    pub topic: String,
    pub key_format: FormatInfo,
    pub value_format: FormatInfo,
    pub timestamp: Option<TimestampColumn>,
    pub window: Option<WindowInfo>,
    /// `CREATE SOURCE STREAM|TABLE`: read-only.
    pub is_source: bool,
    /// Created by `CREATE ... AS SELECT` (the sink of a query).
    pub is_sink: bool,
    /// The statement that created it.
    pub statement: String,
}
