//! The `DELIMITED` format: one CSV line per record, as ksqlDB writes it with Apache Commons
//! CSV's `CSVFormat.DEFAULT` and the configured delimiter (one character, or `TAB` / `SPACE`).
//!
//! Writing quotes a field only where Commons CSV's minimal quoting does (a delimiter, quote,
//! CR or LF inside; a leading character up to `#`; a trailing space or control character; an
//! empty first field), doubling quotes inside. `NULL` is an empty field. `DECIMAL` is written in
//! plain notation, `DOUBLE` as Java prints it, `TIMESTAMP`/`TIME` as milliseconds, `DATE` as
//! days since the epoch, `BYTES` as base64.
//!
//! Reading takes the first CSV record (blank lines before it are skipped); an empty field is
//! `NULL`; `BOOLEAN` is `true` for any case of "true" and `false` for anything else (Java's
//! `Boolean.parseBoolean`). Bytes that are not UTF-8 are decoded lossily, as Java's `new
//! String(bytes, UTF_8)` does. Only primitive types and `DECIMAL` are supported.

use std::sync::Arc;

use super::api::{check_count, Format, FormatInfo, RowSerde, SerdeContext, DELIMITER};
use super::scalar::{self, java_double};
use crate::error::{Error, Result};
use crate::value::{Column, Row, SqlType, Value};

/// The `DELIMITED` format with its delimiter.
#[derive(Debug)]
pub(crate) struct DelimitedFormat {
    delimiter: char,
}

impl DelimitedFormat {
    pub(crate) fn new(info: &FormatInfo) -> Result<Self> {
        let delimiter = match info.properties.get(DELIMITER) {
            None => ',',
            Some(d) => parse_delimiter(d)?,
        };
        Ok(DelimitedFormat { delimiter })
    }

    /// The serde for `columns` (unchecked: see [`Format::validate`]).
    pub(crate) fn serde(&self, columns: &[Column]) -> DelimitedRowSerde {
        DelimitedRowSerde::new(columns, self.delimiter)
    }
}

/// ksqlDB's `Delimiter.parse`, plus Commons CSV's checks of the delimiter.
pub(crate) fn parse_delimiter(s: &str) -> Result<char> {
    if s.trim().is_empty() {
        return Err(Error::Analysis(
            "Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'\nExample valid value: ';'".into(),
        ));
    }
    let mut chars = s.chars();
    let c = match (chars.next(), chars.next(), s) {
        (Some(c), None, _) => c,
        (_, _, "TAB") => '\t',
        (_, _, "SPACE") => ' ',
        _ => {
            return Err(Error::Analysis(format!(
                "Invalid delimiter value: '{s}'. Delimiter must be a single character or TAB,SPACE\nExample valid value: ';'"
            )))
        }
    };
    match c {
        '"' => Err(Error::Analysis("The quoteChar character and the delimiter cannot be the same ('\"')".into())),
        '\r' | '\n' => Err(Error::Analysis("The delimiter cannot be a line break".into())),
        c => Ok(c),
    }
}

impl Format for DelimitedFormat {
    fn name(&self) -> &'static str {
        "DELIMITED"
    }

    fn supports_wrapping(&self, wrap: bool) -> bool {
        !wrap
    }

    fn validate(&self, columns: &[Column]) -> Result<()> {
        match columns.iter().find(|c| matches!(c.ty, SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_))) {
            None => Ok(()),
            Some(c) => Err(Error::Analysis(format!(
                "The 'DELIMITED' format does not support type '{}', column: `{}`",
                super::api::base_type(&c.ty),
                c.name
            ))),
        }
    }

    fn row_serde(&self, columns: &[Column], _is_key: bool) -> Result<Arc<dyn RowSerde>> {
        self.validate(columns)?;
        Ok(Arc::new(self.serde(columns)))
    }
}

/// Serde for one side of a record as a CSV line.
#[derive(Debug)]
pub(crate) struct DelimitedRowSerde {
    types: Vec<SqlType>,
    delimiter: char,
}

impl DelimitedRowSerde {
    pub(crate) fn new(columns: &[Column], delimiter: char) -> Self {
        DelimitedRowSerde { types: columns.iter().map(|c| c.ty.clone()).collect(), delimiter }
    }

    /// The row as its CSV line.
    pub(crate) fn to_line(&self, row: &[Value], topic: &str) -> Result<String> {
        check_count(self.types.len(), row.len(), true, topic)?;
        let mut out = String::new();
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            let text = match v {
                Value::Null => continue,
                Value::Boolean(b) => b.to_string(),
                Value::Int(n) | Value::Date(n) | Value::Time(n) => n.to_string(),
                Value::BigInt(n) | Value::Timestamp(n) => n.to_string(),
                Value::Double(d) => java_double(*d),
                Value::Decimal(d) => d.to_string(),
                Value::String(s) => s.clone(),
                Value::Bytes(b) => scalar::base64_encode(b),
                Value::Array(_) | Value::Map(_) | Value::Struct(_) => {
                    return Err(Error::Serde(format!(
                        "Error serializing CSV message: the 'DELIMITED' format does not support type '{}'",
                        super::api::base_type(&self.types[i])
                    )))
                }
            };
            self.push_field(&mut out, &text, i == 0);
        }
        Ok(out)
    }

    /// Commons CSV's `MINIMAL` quote decision and quoting.
    fn push_field(&self, out: &mut String, value: &str, first: bool) {
        let quote = match value.chars().next() {
            None => first,
            Some(c) => {
                let cp = c as u32;
                (first && (cp < 0x20 || c == '"' || c == ',' || cp > 0x7e))
                    || c <= '#'
                    || value.chars().any(|c| c == '\n' || c == '\r' || c == '"' || c == self.delimiter)
                    || value.chars().next_back().is_some_and(|c| c <= ' ')
            }
        };
        if quote {
            out.push('"');
            out.push_str(&value.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(value);
        }
    }

    /// The fields of the first CSV record in `text` (`None` for an absent field: never produced,
    /// fields are strings, possibly empty).
    fn first_record(&self, text: &str) -> Result<Vec<String>, String> {
        let mut chars = text.chars().peekable();
        // ignoreEmptyLines: skip line breaks before the first record.
        while let Some('\r' | '\n') = chars.peek() {
            chars.next();
        }
        if chars.peek().is_none() {
            return Err("No fields in record".into());
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        loop {
            match chars.peek().copied() {
                Some('"') if field.is_empty() => {
                    chars.next();
                    loop {
                        match chars.next() {
                            None => return Err("EOF reached before encapsulated token finished".into()),
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            Some('"') => break,
                            Some(c) => field.push(c),
                        }
                    }
                    // Whitespace may follow the closing quote; anything else is Commons CSV's error.
                    loop {
                        match chars.peek() {
                            None | Some('\r' | '\n') => break,
                            Some(&c) if c == self.delimiter => break,
                            Some(&c) if c.is_whitespace() && c != '\u{a0}' => {
                                chars.next();
                            }
                            Some(_) => return Err("invalid char between encapsulated token and delimiter".into()),
                        }
                    }
                }
                None | Some('\r' | '\n') => {
                    fields.push(std::mem::take(&mut field));
                    return Ok(fields);
                }
                Some(c) if c == self.delimiter => {
                    chars.next();
                    fields.push(std::mem::take(&mut field));
                }
                Some(c) => {
                    chars.next();
                    field.push(c);
                }
            }
        }
    }

    /// Parses the first CSV line of `text` into a row.
    pub(crate) fn parse_line(&self, text: &str, topic: &str) -> Result<Row, String> {
        let fields = self.first_record(text)?;
        check_count(self.types.len(), fields.len(), false, topic).map_err(|e| e.to_string())?;
        fields.iter().zip(&self.types).map(|(f, ty)| parse_field(f, ty)).collect()
    }
}

fn parse_field(text: &str, ty: &SqlType) -> Result<Value, String> {
    if text.is_empty() {
        return Ok(Value::Null);
    }
    let bad = || format!("For input string: \"{text}\"");
    let int = || scalar::parse_java_long(text).and_then(|v| i32::try_from(v).ok()).ok_or_else(bad);
    Ok(match ty {
        SqlType::Boolean => Value::Boolean(text.eq_ignore_ascii_case("true")),
        SqlType::Int => Value::Int(int()?),
        SqlType::BigInt => Value::BigInt(scalar::parse_java_long(text).ok_or_else(bad)?),
        SqlType::Double => Value::Double(scalar::parse_java_double(text).ok_or_else(bad)?),
        SqlType::Decimal { precision, scale } => Value::Decimal(scalar::decimal_from_text(text, *precision, *scale)?),
        SqlType::String => Value::String(text.to_string()),
        SqlType::Bytes => Value::Bytes(
            scalar::base64_decode(text).ok_or_else(|| format!("Value is not a valid Base64 encoded string: {text}"))?,
        ),
        SqlType::Date => Value::Date(int()?),
        SqlType::Time => Value::Time(scalar::time_from_millis(i64::from(int()?))?),
        SqlType::Timestamp => Value::Timestamp(scalar::parse_java_long(text).ok_or_else(bad)?),
        SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_) => {
            return Err(format!("The 'DELIMITED' format does not support type '{}'", super::api::base_type(ty)))
        }
    })
}

impl RowSerde for DelimitedRowSerde {
    fn serialize(&self, row: &[Value], ctx: &SerdeContext<'_>) -> Result<Option<Vec<u8>>> {
        self.to_line(row, ctx.topic).map(|s| Some(s.into_bytes()))
    }

    fn deserialize(&self, bytes: Option<&[u8]>, ctx: &SerdeContext<'_>) -> Result<Option<Row>> {
        let Some(bytes) = bytes else { return Ok(None) };
        let text = String::from_utf8_lossy(bytes);
        self.parse_line(&text, ctx.topic)
            .map(Some)
            .map_err(|m| Error::Serde(format!("Error deserializing delimited. {m}")))
    }
}

#[cfg(test)]
#[path = "delimited_tests.rs"]
mod tests;
