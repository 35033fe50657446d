//! Type rules: implicit widening (`INT` -> `BIGINT` -> `DECIMAL` -> `DOUBLE`), the common type
//! of two types (for `CASE`, `IN`, `COALESCE`, array literals, comparisons) and the result type
//! of arithmetic.

use super::decimal;
use crate::value::SqlType;

/// Whether the type is one of the numeric types.
pub(crate) fn is_numeric(t: &SqlType) -> bool {
    matches!(t, SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal { .. })
}

/// The decimal type an integer or decimal type widens to.
pub(crate) fn as_decimal(t: &SqlType) -> Option<(u8, u8)> {
    match t {
        SqlType::Int => Some((decimal::int_precision(false), 0)),
        SqlType::BigInt => Some((decimal::int_precision(true), 0)),
        SqlType::Decimal { precision, scale } => Some((*precision, *scale)),
        _ => None,
    }
}

/// The cost of converting `from` to `to` implicitly, `None` if it is not allowed.
pub(crate) fn widening_cost(from: &SqlType, to: &SqlType) -> Option<u32> {
    use SqlType as T;
    if from == to {
        return Some(0);
    }
    match (from, to) {
        (T::Int, T::BigInt) => Some(1),
        (T::Int, T::Decimal { .. }) => Some(2),
        (T::Int, T::Double) => Some(3),
        (T::BigInt, T::Decimal { .. }) => Some(1),
        (T::BigInt, T::Double) => Some(2),
        (T::Decimal { .. }, T::Decimal { .. }) => Some(1),
        (T::Decimal { .. }, T::Double) => Some(1),
        (T::Array(a), T::Array(b)) => widening_cost(a, b),
        (T::Map(k1, v1), T::Map(k2, v2)) => Some(widening_cost(k1, k2)? + widening_cost(v1, v2)?),
        _ => None,
    }
}

/// The narrowest type both `a` and `b` convert to implicitly.
pub(crate) fn common_type(a: &SqlType, b: &SqlType) -> Option<SqlType> {
    use SqlType as T;
    if a == b {
        return Some(a.clone());
    }
    Some(match (a, b) {
        (T::Double, x) | (x, T::Double) if is_numeric(x) => T::Double,
        (T::Int, T::BigInt) | (T::BigInt, T::Int) => T::BigInt,
        (x, y) if is_numeric(x) && is_numeric(y) => {
            let ((p1, s1), (p2, s2)) = (as_decimal(x)?, as_decimal(y)?);
            let scale = s1.max(s2);
            let precision = p1.saturating_sub(s1).max(p2.saturating_sub(s2)).saturating_add(scale).min(decimal::MAX_PRECISION);
            T::Decimal { precision, scale }
        }
        (T::Array(x), T::Array(y)) => T::Array(Box::new(common_type(x, y)?)),
        (T::Map(k1, v1), T::Map(k2, v2)) => T::Map(Box::new(common_type(k1, k2)?), Box::new(common_type(v1, v2)?)),
        _ => return None,
    })
}

/// The common type of all `types` (`None` entries are untyped `NULL`s): `Ok(None)` when all
/// are `NULL`, `Err((a, b))` naming the first two types that do not mix.
pub(crate) fn common_of<'a>(types: impl IntoIterator<Item = Option<&'a SqlType>>) -> Result<Option<SqlType>, (SqlType, SqlType)> {
    let mut acc: Option<SqlType> = None;
    for t in types.into_iter().flatten() {
        acc = Some(match acc {
            None => t.clone(),
            Some(a) => common_type(&a, t).ok_or_else(|| (a.clone(), t.clone()))?,
        });
    }
    Ok(acc)
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl ArithOp {
    pub(crate) fn symbol(self) -> char {
        match self {
            ArithOp::Add => '+',
            ArithOp::Sub => '-',
            ArithOp::Mul => '*',
            ArithOp::Div => '/',
            ArithOp::Mod => '%',
        }
    }
}

/// The result type of `a op b` for numeric operands.
pub(crate) fn arith_type(op: ArithOp, a: &SqlType, b: &SqlType) -> Option<SqlType> {
    use SqlType as T;
    Some(match (a, b) {
        (T::Double, x) | (x, T::Double) if is_numeric(x) => T::Double,
        (T::Int, T::Int) => T::Int,
        (T::Int | T::BigInt, T::Int | T::BigInt) => T::BigInt,
        (x, y) if is_numeric(x) && is_numeric(y) => {
            let ((p1, s1), (p2, s2)) = (as_decimal(x)?, as_decimal(y)?);
            let (precision, scale) = match op {
                ArithOp::Add | ArithOp::Sub => decimal::add_type(p1, s1, p2, s2),
                ArithOp::Mul => decimal::mul_type(p1, s1, p2, s2),
                ArithOp::Div => decimal::div_type(p1, s1, p2, s2),
                ArithOp::Mod => decimal::mod_type(p1, s1, p2, s2),
            };
            T::Decimal { precision, scale }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_types() {
        let dec = |p, s| SqlType::Decimal { precision: p, scale: s };
        assert_eq!(common_type(&SqlType::Int, &SqlType::BigInt), Some(SqlType::BigInt));
        assert_eq!(common_type(&SqlType::Int, &dec(4, 2)), Some(dec(12, 2)));
        assert_eq!(common_type(&dec(4, 2), &SqlType::Double), Some(SqlType::Double));
        assert_eq!(common_type(&SqlType::String, &SqlType::Int), None);
        assert_eq!(arith_type(ArithOp::Add, &SqlType::Int, &SqlType::Int), Some(SqlType::Int));
        assert_eq!(arith_type(ArithOp::Mul, &SqlType::Int, &dec(4, 2)), Some(dec(15, 2)));
        assert_eq!(arith_type(ArithOp::Add, &SqlType::String, &SqlType::Int), None);
    }
}
