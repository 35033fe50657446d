//! Typed Rust functions as SQL scalar functions: each Rust argument and result type maps to a
//! SQL type ([`SqlArg`], [`SqlResult`]), so `|a: i64, b: i64| a + b` registers as
//! `(BIGINT, BIGINT) -> BIGINT`. A `NULL` argument gives a `NULL` result unless its parameter
//! is an `Option`.

use std::sync::Arc;

use super::api::{Nulls, ScalarImpl};
use crate::value::{SqlType, Value};
use crate::{eval_err, Result};

/// A Rust type usable as a UDF parameter.
pub trait SqlArg: Sized + 'static {
    /// The SQL type of the parameter.
    fn sql_type() -> SqlType;
    /// The argument from its value: `Ok(None)` for a `NULL` the type cannot hold.
    ///
    /// # Errors
    /// When the value is of another type.
    fn from_sql(v: &Value) -> Result<Option<Self>>;
}

/// A Rust type usable as a UDF result.
pub trait SqlResult: 'static {
    /// The SQL type of the result.
    fn sql_type() -> SqlType;
    /// The result as a value.
    ///
    /// # Errors
    /// When the function failed (a `Result::Err` result).
    fn into_sql(self) -> Result<Value>;
}

macro_rules! primitive {
    ($t:ty, $sql:expr, $variant:ident) => {
        impl SqlArg for $t {
            fn sql_type() -> SqlType {
                $sql
            }
            fn from_sql(v: &Value) -> Result<Option<Self>> {
                match v {
                    Value::Null => Ok(None),
                    Value::$variant(x) => Ok(Some(x.clone())),
                    other => eval_err!("expected {}, got {}", $sql, crate::expr::cast::value_kind(other)),
                }
            }
        }
        impl SqlResult for $t {
            fn sql_type() -> SqlType {
                $sql
            }
            fn into_sql(self) -> Result<Value> {
                Ok(Value::$variant(self))
            }
        }
    };
}

primitive!(bool, SqlType::Boolean, Boolean);
primitive!(i32, SqlType::Int, Int);
primitive!(i64, SqlType::BigInt, BigInt);
primitive!(f64, SqlType::Double, Double);
primitive!(String, SqlType::String, String);
primitive!(Vec<u8>, SqlType::Bytes, Bytes);

impl<T: SqlArg> SqlArg for Option<T> {
    fn sql_type() -> SqlType {
        T::sql_type()
    }
    fn from_sql(v: &Value) -> Result<Option<Self>> {
        Ok(Some(T::from_sql(v)?))
    }
}

impl<T: SqlResult> SqlResult for Option<T> {
    fn sql_type() -> SqlType {
        T::sql_type()
    }
    fn into_sql(self) -> Result<Value> {
        self.map_or(Ok(Value::Null), T::into_sql)
    }
}

impl<T: SqlResult, E: std::fmt::Display + 'static> SqlResult for std::result::Result<T, E> {
    fn sql_type() -> SqlType {
        T::sql_type()
    }
    fn into_sql(self) -> Result<Value> {
        match self {
            Ok(v) => v.into_sql(),
            Err(e) => eval_err!("{e}"),
        }
    }
}

/// A Rust closure that can become a scalar UDF; `Args` is the tuple of its argument types.
pub trait IntoUdf<Args> {
    /// The signature text, null handling and implementation.
    fn into_udf(self) -> (String, Nulls, ScalarImpl);
}

macro_rules! into_udf {
    ($($a:ident),*) => {
        impl<F, R, $($a),*> IntoUdf<($($a,)*)> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            R: SqlResult,
            $($a: SqlArg,)*
        {
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn into_udf(self) -> (String, Nulls, ScalarImpl) {
                let params: Vec<String> = vec![$($a::sql_type().to_string()),*];
                let signature = format!("({}) -> {}", params.join(", "), R::sql_type());
                let imp: ScalarImpl = Arc::new(move |args: &[Value], _: &SqlType| {
                    let mut it = args.iter();
                    $(
                        let Some($a) = $a::from_sql(it.next().unwrap_or(&Value::Null))? else {
                            return Ok(Value::Null);
                        };
                    )*
                    (self)($($a),*).into_sql()
                });
                (signature, Nulls::Handled, imp)
            }
        }
    };
}

into_udf!();
into_udf!(A);
into_udf!(A, B);
into_udf!(A, B, C);
into_udf!(A, B, C, D);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_udf_signature_and_nulls() {
        let (sig, _, imp) = (|a: i64, b: Option<String>| format!("{a}{}", b.unwrap_or_default())).into_udf();
        assert_eq!(sig, "(BIGINT, STRING) -> STRING");
        assert_eq!(imp(&[Value::BigInt(1), Value::Null], &SqlType::String).unwrap(), Value::String("1".into()));
        assert_eq!(imp(&[Value::Null, Value::String("x".into())], &SqlType::String).unwrap(), Value::Null);
        assert!(imp(&[Value::Int(1), Value::Null], &SqlType::String).is_err());
    }
}
