//! SQL types and values: [`SqlType`] (ksqlDB's types after named types are resolved) and
//! [`Value`] (one column of one row). Rows travel through topologies as [`Row`]: the key
//! columns and the value columns of a record are two rows.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// A ksqlDB type. Named types (`CREATE TYPE`) are resolved to their definition before they get here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SqlType {
    Boolean,
    /// 32-bit signed.
    Int,
    /// 64-bit signed.
    BigInt,
    /// 64-bit IEEE 754.
    Double,
    /// `DECIMAL(precision, scale)`, precision 1..=38.
    Decimal { precision: u8, scale: u8 },
    /// `STRING` / `VARCHAR`.
    String,
    Bytes,
    /// Days since 1970-01-01.
    Date,
    /// Milliseconds since midnight.
    Time,
    /// Milliseconds since the epoch (UTC).
    Timestamp,
    Array(Box<SqlType>),
    Map(Box<SqlType>, Box<SqlType>),
    /// Fields in declaration order; names as declared (already case-normalised by the parser).
    Struct(Vec<(String, SqlType)>),
}

impl fmt::Display for SqlType {
    /// ksqlDB's spelling: `INTEGER`, `BIGINT`, `DECIMAL(4, 2)`, `ARRAY<STRING>`, `STRUCT<`A` INTEGER>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::BigInt => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Array(t) => write!(f, "ARRAY<{t}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{name}` {ty}")?;
                }
                f.write_str(">")
            }
        }
    }
}

/// A decimal number: `unscaled * 10^-scale`, with its declared precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decimal {
    pub unscaled: i128,
    pub precision: u8,
    pub scale: u8,
}

impl fmt::Display for Decimal {
    /// Plain notation with exactly `scale` fraction digits (`12.30`), as ksqlDB prints decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.unscaled < 0;
        let digits = self.unscaled.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let (int, frac) = if digits.len() > scale {
            digits.split_at(digits.len() - scale)
        } else {
            ("0", "")
        };
        if neg {
            f.write_str("-")?;
        }
        if scale == 0 {
            return f.write_str(int);
        }
        if digits.len() > scale {
            write!(f, "{int}.{frac}")
        } else {
            write!(f, "0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

/// One SQL value. `Null` is a value of every type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Value {
    Null,
    Boolean(bool),
    Int(i32),
    BigInt(i64),
    Double(f64),
    Decimal(Decimal),
    String(String),
    Bytes(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Milliseconds since midnight.
    Time(i32),
    /// Milliseconds since the epoch.
    Timestamp(i64),
    Array(Vec<Value>),
    /// Entries in insertion order, keys unique.
    Map(Vec<(Value, Value)>),
    /// Fields in the order of the struct type.
    Struct(Vec<(String, Value)>),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// SQL comparison of two values of the same type; `None` when unordered (a NaN DOUBLE).
    /// Expressions and functions (`GREATEST`, `ARRAY_MAX`, ...) compare with it.
    pub(crate) fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Double(x), Value::Double(y)) => x.partial_cmp(y),
            _ => Some(self.total_cmp(other)),
        }
    }

    /// Total order used for keys, `MIN`/`MAX`, sorting and range scans: `Null` first, then by
    /// variant, then by value (doubles by `f64::total_cmp`).
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Boolean(a), Boolean(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (BigInt(a), BigInt(b)) => a.cmp(b),
            (Double(a), Double(b)) => a.total_cmp(b),
            (Decimal(a), Decimal(b)) => cmp_decimal(a, b),
            (String(a), String(b)) => a.cmp(b),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (Date(a), Date(b)) => a.cmp(b),
            (Time(a), Time(b)) => a.cmp(b),
            (Timestamp(a), Timestamp(b)) => a.cmp(b),
            (Array(a), Array(b)) => cmp_seq(a.iter(), b.iter()),
            (Map(a), Map(b)) => {
                let ord = a.len().cmp(&b.len());
                if ord != Ordering::Equal {
                    return ord;
                }
                for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                    let ord = ka.total_cmp(kb).then_with(|| va.total_cmp(vb));
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                Ordering::Equal
            }
            (Struct(a), Struct(b)) => cmp_seq(a.iter().map(|(_, v)| v), b.iter().map(|(_, v)| v)),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Boolean(_) => 1,
            Value::Int(_) => 2,
            Value::BigInt(_) => 3,
            Value::Double(_) => 4,
            Value::Decimal(_) => 5,
            Value::String(_) => 6,
            Value::Bytes(_) => 7,
            Value::Date(_) => 8,
            Value::Time(_) => 9,
            Value::Timestamp(_) => 10,
            Value::Array(_) => 11,
            Value::Map(_) => 12,
            Value::Struct(_) => 13,
        }
    }
}

fn cmp_seq<'a>(a: impl Iterator<Item = &'a Value>, b: impl Iterator<Item = &'a Value>) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = x.total_cmp(y);
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

fn cmp_decimal(a: &Decimal, b: &Decimal) -> Ordering {
    let scale = a.scale.max(b.scale);
    let rescale = |d: &Decimal| d.unscaled.checked_mul(10i128.pow(u32::from(scale - d.scale)));
    match (rescale(a), rescale(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        // Out of i128 range only for absurd scales; fall back to the float view.
        _ => (a.unscaled as f64 / 10f64.powi(a.scale.into())).total_cmp(&(b.unscaled as f64 / 10f64.powi(b.scale.into()))),
    }
}

impl PartialEq for Value {
    /// Structural equality for keys and grouping (`Double` by bits, `NaN == NaN`). SQL's `=`
    /// (null-aware, with numeric widening) lives in the expression evaluator, not here.
    fn eq(&self, other: &Value) -> bool {
        self.total_cmp(other) == Ordering::Equal && self.rank() == other.rank()
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.total_cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Value) -> Ordering {
        self.total_cmp(other)
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Value::Null => {}
            Value::Boolean(v) => v.hash(state),
            Value::Int(v) => v.hash(state),
            Value::BigInt(v) => v.hash(state),
            Value::Double(v) => v.to_bits().hash(state),
            // Equal decimals of different scales compare equal; hash the normalised form.
            Value::Decimal(d) => {
                let (mut u, mut s) = (d.unscaled, d.scale);
                while s > 0 && u % 10 == 0 {
                    u /= 10;
                    s -= 1;
                }
                (u, s).hash(state)
            }
            Value::String(v) => v.hash(state),
            Value::Bytes(v) => v.hash(state),
            Value::Date(v) => v.hash(state),
            Value::Time(v) => v.hash(state),
            Value::Timestamp(v) => v.hash(state),
            Value::Array(v) => v.hash(state),
            Value::Map(v) => v.hash(state),
            Value::Struct(v) => {
                for (_, f) in v {
                    f.hash(state)
                }
            }
        }
    }
}

/// The columns of one side of a record (its key or its value), in schema order.
pub type Row = Vec<Value>;

/// Which part of a record a column lives in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColumnNamespace {
    /// `KEY` / `PRIMARY KEY` column: serialized with the key format.
    Key,
    /// An ordinary column: serialized with the value format.
    Value,
    /// `HEADERS` (all headers, `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`) when `None`, or one
    /// header's last value (`BYTES`) for `HEADER('k')`.
    Header(Option<String>),
}

/// One column of a source or of a query's output.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub namespace: ColumnNamespace,
}

impl fmt::Display for Column {
    /// ksqlDB's column text: `` `ID` BIGINT KEY ``, `` `H` BYTES HEADER('k') ``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.name, self.ty)?;
        match &self.namespace {
            ColumnNamespace::Key => f.write_str(" KEY"),
            ColumnNamespace::Value => Ok(()),
            ColumnNamespace::Header(None) => f.write_str(" HEADERS"),
            ColumnNamespace::Header(Some(k)) => write!(f, " HEADER('{k}')"),
        }
    }
}

/// A source's columns: key columns, then value and header columns, each in declaration order.
/// Pseudo-columns (ROWTIME, ...) and window bounds are not listed; the analyzer adds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogicalSchema {
    pub columns: Vec<Column>,
}

impl LogicalSchema {
    /// Key columns in order.
    pub fn key(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.namespace == ColumnNamespace::Key)
    }

    /// Value and header columns in order.
    pub fn value(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.namespace != ColumnNamespace::Key)
    }

    /// The column called `name` (names are case-normalised before lookup).
    pub fn find(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_display() {
        let d = |u, s| Decimal { unscaled: u, precision: 10, scale: s }.to_string();
        assert_eq!(d(1230, 2), "12.30");
        assert_eq!(d(-5, 2), "-0.05");
        assert_eq!(d(7, 0), "7");
        assert_eq!(d(0, 3), "0.000");
    }

    #[test]
    fn equal_decimals_of_other_scales_hash_alike() {
        use std::collections::hash_map::DefaultHasher;
        let h = |v: &Value| {
            let mut s = DefaultHasher::new();
            v.hash(&mut s);
            s.finish()
        };
        let a = Value::Decimal(Decimal { unscaled: 120, precision: 4, scale: 2 });
        let b = Value::Decimal(Decimal { unscaled: 12, precision: 3, scale: 1 });
        assert_eq!(a, b);
        assert_eq!(h(&a), h(&b));
    }

    #[test]
    fn type_display_matches_ksqldb() {
        let t = SqlType::Struct(vec![("A".into(), SqlType::Int), ("B".into(), SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Decimal { precision: 4, scale: 2 })))]);
        assert_eq!(t.to_string(), "STRUCT<`A` INTEGER, `B` MAP<STRING, DECIMAL(4, 2)>>");
    }
}
