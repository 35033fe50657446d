//! The `NONE` format: no columns; writes null records and ignores the bytes it reads (ksqlDB's
//! `KsqlVoidSerde`).

use std::sync::Arc;

use super::api::{column_list, Format, RowSerde, SerdeContext};
use crate::error::{Error, Result};
use crate::value::{Column, Row, Value};

/// The `NONE` format.
#[derive(Debug)]
pub(crate) struct NoneFormat;

impl Format for NoneFormat {
    fn name(&self) -> &'static str {
        "NONE"
    }

    fn supports_wrapping(&self, _wrap: bool) -> bool {
        false
    }

    fn validate(&self, columns: &[Column]) -> Result<()> {
        if columns.is_empty() {
            Ok(())
        } else {
            Err(Error::Analysis(format!(
                "The 'NONE' format can only be used when no columns are defined. Got: {}",
                column_list(columns)
            )))
        }
    }

    fn row_serde(&self, columns: &[Column], _is_key: bool) -> Result<Arc<dyn RowSerde>> {
        self.validate(columns)?;
        Ok(Arc::new(NoneRowSerde))
    }
}

/// Serde of the empty row.
#[derive(Debug)]
pub(crate) struct NoneRowSerde;

impl RowSerde for NoneRowSerde {
    fn serialize(&self, row: &[Value], ctx: &SerdeContext<'_>) -> Result<Option<Vec<u8>>> {
        super::api::check_count(0, row.len(), true, ctx.topic)?;
        Ok(None)
    }

    fn deserialize(&self, bytes: Option<&[u8]>, _ctx: &SerdeContext<'_>) -> Result<Option<Row>> {
        Ok(bytes.map(|_| Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::test_util::{cols, key_cols};
    use crate::value::SqlType;

    #[test]
    fn columns_are_rejected_with_ksqldb_message() {
        let e = NoneFormat.validate(&key_cols(&[("K", SqlType::String)])).unwrap_err();
        assert_eq!(e.to_string(), "The 'NONE' format can only be used when no columns are defined. Got: [`K` STRING KEY]");
        let e = NoneFormat.row_serde(&cols(&[("FOO", SqlType::Int)]), false).unwrap_err();
        assert_eq!(e.to_string(), "The 'NONE' format can only be used when no columns are defined. Got: [`FOO` INTEGER]");
    }

    #[test]
    fn writes_null_and_ignores_bytes() {
        let s = NoneFormat.row_serde(&[], true).unwrap();
        let ctx = SerdeContext::key("t");
        assert_eq!(s.serialize(&[], &ctx).unwrap(), None);
        assert_eq!(s.deserialize(Some(b"\xff\x00anything"), &ctx).unwrap(), Some(vec![]));
        assert_eq!(s.deserialize(None, &ctx).unwrap(), None);
        assert!(s.serialize(&[Value::Int(1)], &ctx).is_err());
    }
}
