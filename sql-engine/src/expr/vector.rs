//! Vectorized evaluation over Arrow record batches, for stateless `WHERE` filters and
//! projections over many rows at once. Columns, literals, integer and double arithmetic,
//! comparisons, `AND`/`OR`/`NOT`, `IS [NOT] NULL` and numeric widening run as column
//! kernels; an expression with any other node is evaluated row by row over the batch, with
//! the same results.
//!
//! A batch whose evaluation fails on any row (`/ by zero`) fails as a whole: callers that must
//! keep the other rows (queries log the bad record and go on) then evaluate that batch with
//! [`CompiledExpr::eval`] row by row.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, PrimitiveArray, RecordBatch, StringArray, Time32MillisecondArray, TimestampMillisecondArray};
use arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::node::{CmpOp, Node};
use super::types::ArithOp;
use super::{CompiledExpr, Scope};
use crate::value::{Decimal, Row, SqlType, Value};
use crate::{eval_err, Error, Result};

/// The Arrow type of a primitive SQL type; `None` for `ARRAY`, `MAP`, `STRUCT`.
pub fn arrow_type(t: &SqlType) -> Option<DataType> {
    Some(match t {
        SqlType::Boolean => DataType::Boolean,
        SqlType::Int => DataType::Int32,
        SqlType::BigInt => DataType::Int64,
        SqlType::Double => DataType::Float64,
        SqlType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale as i8),
        SqlType::String => DataType::Utf8,
        SqlType::Bytes => DataType::Binary,
        SqlType::Date => DataType::Date32,
        SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
        SqlType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
        SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_) => return None,
    })
}

fn unsupported(t: &SqlType) -> Error {
    Error::Unsupported(format!("columnar evaluation of {t} columns"))
}

/// One column of values of type `t` as an Arrow array.
///
/// # Errors
/// [`Error::Unsupported`] for complex types, [`Error::Eval`] for a value of another type.
pub fn values_to_array(t: &SqlType, values: impl ExactSizeIterator<Item = Value>) -> Result<ArrayRef> {
    let wrong = |v: &Value| Error::Eval(format!("value {v:?} in a {t} column"));
    macro_rules! collect {
        ($array:ty, $variant:ident) => {{
            let items = values.map(|v| match v {
                Value::Null => Ok(None),
                Value::$variant(x) => Ok(Some(x)),
                other => Err(wrong(&other)),
            });
            Arc::new(items.collect::<Result<$array>>()?) as ArrayRef
        }};
    }
    Ok(match t {
        SqlType::Boolean => collect!(BooleanArray, Boolean),
        SqlType::Int => collect!(Int32Array, Int),
        SqlType::BigInt => collect!(Int64Array, BigInt),
        SqlType::Double => collect!(Float64Array, Double),
        SqlType::String => collect!(StringArray, String),
        SqlType::Bytes => collect!(BinaryArray, Bytes),
        SqlType::Date => collect!(Date32Array, Date),
        SqlType::Time => collect!(Time32MillisecondArray, Time),
        SqlType::Timestamp => collect!(TimestampMillisecondArray, Timestamp),
        SqlType::Decimal { precision, scale } => {
            let items = values.map(|v| match v {
                Value::Null => Ok(None),
                Value::Decimal(d) => Ok(Some(d.unscaled)),
                other => Err(wrong(&other)),
            });
            let array = items.collect::<Result<Decimal128Array>>()?;
            Arc::new(array.with_precision_and_scale(*precision, *scale as i8).map_err(|e| Error::Eval(e.to_string()))?)
        }
        other => return Err(unsupported(other)),
    })
}

/// Value `i` of an Arrow array of a primitive SQL type.
pub(crate) fn array_value(a: &dyn Array, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Boolean => Value::Boolean(a.as_boolean().value(i)),
        DataType::Int32 => Value::Int(a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Value::BigInt(a.as_primitive::<Int64Type>().value(i)),
        DataType::Float64 => Value::Double(a.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => Value::String(a.as_string::<i32>().value(i).to_string()),
        DataType::Binary => Value::Bytes(a.as_binary::<i32>().value(i).to_vec()),
        DataType::Date32 => Value::Date(a.as_primitive::<Date32Type>().value(i)),
        DataType::Time32(_) => Value::Time(a.as_primitive::<Time32MillisecondType>().value(i)),
        DataType::Timestamp(..) => Value::Timestamp(a.as_primitive::<TimestampMillisecondType>().value(i)),
        DataType::Decimal128(p, s) => Value::Decimal(Decimal { unscaled: a.as_primitive::<arrow_array::types::Decimal128Type>().value(i), precision: *p, scale: *s as u8 }),
        _ => Value::Null,
    }
}

/// Rows over `scope`'s columns as a record batch.
///
/// # Errors
/// [`Error::Unsupported`] when a column is an `ARRAY`, `MAP` or `STRUCT`.
pub fn rows_to_batch(scope: &Scope, rows: &[Row]) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(scope.columns().len());
    let mut columns = Vec::with_capacity(scope.columns().len());
    for (i, c) in scope.columns().iter().enumerate() {
        let dt = arrow_type(&c.ty).ok_or_else(|| unsupported(&c.ty))?;
        fields.push(Field::new(format!("c{i}"), dt, true));
        columns.push(values_to_array(&c.ty, rows.iter().map(|r| r.get(i).cloned().unwrap_or(Value::Null)))?);
    }
    let schema = Arc::new(Schema::new(fields));
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows.len()));
    RecordBatch::try_new_with_options(schema, columns, &options).map_err(|e| Error::Eval(e.to_string()))
}

/// The rows of a record batch built by [`rows_to_batch`].
pub fn batch_to_rows(batch: &RecordBatch) -> Vec<Row> {
    (0..batch.num_rows()).map(|i| batch.columns().iter().map(|c| array_value(c.as_ref(), i)).collect()).collect()
}

impl CompiledExpr {
    /// Evaluates on every row of a batch (column `i` of the batch is scope column `i`),
    /// giving one array of [`Self::ty`] values.
    ///
    /// # Errors
    /// [`Error::Eval`] when the expression fails on any row; [`Error::Unsupported`] when the
    /// result type is an `ARRAY`, `MAP` or `STRUCT`.
    pub fn eval_batch(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        if columnar(&self.node) {
            return kernel(&self.node, batch);
        }
        let rows = batch_to_rows(batch);
        let values = rows.iter().map(|r| self.node.eval(r, &[])).collect::<Result<Vec<_>>>()?;
        values_to_array(&self.ty, values.into_iter())
    }

    /// The rows of a batch for which a `BOOLEAN` expression is true (`NULL` counts as false).
    ///
    /// # Errors
    /// As [`Self::eval_batch`], and [`Error::Eval`] for a non-boolean expression.
    pub fn filter_batch(&self, batch: &RecordBatch) -> Result<Vec<usize>> {
        let mask = self.eval_batch(batch)?;
        let Some(mask) = mask.as_boolean_opt() else {
            return eval_err!("a filter must be BOOLEAN, got {}", self.ty);
        };
        Ok((0..mask.len()).filter(|&i| mask.is_valid(i) && mask.value(i)).collect())
    }
}

/// Whether every node of the tree has a column kernel.
fn columnar(n: &Node) -> bool {
    match n {
        Node::Column(_) => true,
        Node::Literal(v) => !v.is_null() && !matches!(v, Value::Array(_) | Value::Map(_) | Value::Struct(_)),
        Node::Arith { ty, left, right, .. } => {
            matches!(ty, SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal { .. }) && columnar(left) && columnar(right)
        }
        Node::Compare { left, right, .. } | Node::And(left, right) | Node::Or(left, right) => columnar(left) && columnar(right),
        Node::Not(e) | Node::IsNull { expr: e, .. } => columnar(e),
        Node::Cast { expr, to } => arrow_type(to).is_some() && columnar(expr),
        _ => false,
    }
}

fn kernel(n: &Node, batch: &RecordBatch) -> Result<ArrayRef> {
    let len = batch.num_rows();
    Ok(match n {
        Node::Column(i) => match batch.columns().get(*i) {
            Some(c) => c.clone(),
            None => return eval_err!("batch has {} columns, expression reads column {i}", batch.num_columns()),
        },
        Node::Literal(v) => broadcast(v, len)?,
        Node::Arith { op, ty, left, right } => {
            let (l, r) = (kernel(left, batch)?, kernel(right, batch)?);
            match ty {
                SqlType::Int => Arc::new(int_arith::<Int32Type>(*op, l.as_primitive(), r.as_primitive())?),
                SqlType::BigInt => Arc::new(int_arith::<Int64Type>(*op, l.as_primitive(), r.as_primitive())?),
                SqlType::Double => Arc::new(double_arith(*op, l.as_primitive(), r.as_primitive())),
                SqlType::Decimal { precision, scale } if *op == ArithOp::Mul && decimal_scale(&l) + decimal_scale(&r) == i16::from(*scale) => {
                    Arc::new(decimal_mul(l.as_primitive(), r.as_primitive(), *precision, *scale)?)
                }
                // Decimals element by element with the row path's arithmetic (no rows built).
                _ => elementwise(ty, len, |i| super::node::arith(*op, ty, array_value(l.as_ref(), i), array_value(r.as_ref(), i)))?,
            }
        }
        Node::Compare { op, left, right } => Arc::new(compare(*op, kernel(left, batch)?.as_ref(), kernel(right, batch)?.as_ref())?),
        Node::And(a, b) => Arc::new(kleene(kernel(a, batch)?.as_boolean(), kernel(b, batch)?.as_boolean(), true)),
        Node::Or(a, b) => Arc::new(kleene(kernel(a, batch)?.as_boolean(), kernel(b, batch)?.as_boolean(), false)),
        Node::Not(e) => {
            let e = kernel(e, batch)?;
            let b = e.as_boolean();
            Arc::new(BooleanArray::new(!b.values(), b.nulls().cloned()))
        }
        Node::IsNull { expr, negated } => {
            let e = kernel(expr, batch)?;
            Arc::new(BooleanArray::new(BooleanBuffer::collect_bool(len, |i| e.is_null(i) != *negated), None))
        }
        Node::Cast { expr, to } => {
            let e = kernel(expr, batch)?;
            match (e.data_type(), to) {
                (DataType::Int32, SqlType::BigInt) => Arc::new(e.as_primitive::<Int32Type>().unary::<_, Int64Type>(i64::from)),
                (DataType::Int32, SqlType::Double) => Arc::new(e.as_primitive::<Int32Type>().unary::<_, Float64Type>(f64::from)),
                (DataType::Int64, SqlType::Double) => Arc::new(e.as_primitive::<Int64Type>().unary::<_, Float64Type>(|v| v as f64)),
                (DataType::Int64, SqlType::BigInt) | (DataType::Float64, SqlType::Double) => e,
                (DataType::Int32 | DataType::Int64, SqlType::Decimal { precision, scale }) => int_to_decimal(&e, *precision, *scale)?,
                // Other casts element by element with the row path's cast.
                _ => elementwise(to, len, |i| super::cast::cast(array_value(e.as_ref(), i), to))?,
            }
        }
        _ => return eval_err!("no column kernel for {n:?}"),
    })
}

/// The scale of a `Decimal128` array (-1 for other arrays).
fn decimal_scale(a: &ArrayRef) -> i16 {
    match a.data_type() {
        DataType::Decimal128(_, s) => i16::from(*s),
        _ => -1,
    }
}

fn overflow() -> Error {
    Error::Eval("numeric overflow in decimal arithmetic".into())
}

/// `decimal::arith('*')` where the result scale is the sum of the scales (no rescaling): the
/// product must fit `precision` digits on every valid row, else the batch fails.
fn decimal_mul(l: &Decimal128Array, r: &Decimal128Array, precision: u8, scale: u8) -> Result<Decimal128Array> {
    let nulls = NullBuffer::union(l.nulls(), r.nulls());
    let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
    let mut out = Vec::with_capacity(l.len());
    for (i, (&a, &b)) in l.values().iter().zip(r.values().iter()).enumerate() {
        let u = match a.checked_mul(b) {
            Some(u) if u == 0 || super::decimal::fits(u, precision) => u,
            _ if !valid(i) => 0,
            _ => return Err(overflow()),
        };
        out.push(u);
    }
    Decimal128Array::new(ScalarBuffer::from(out), nulls).with_precision_and_scale(precision, scale as i8).map_err(|e| Error::Eval(e.to_string()))
}

/// `decimal::from_i64` over a column of `INT` or `BIGINT`.
fn int_to_decimal(e: &ArrayRef, precision: u8, scale: u8) -> Result<ArrayRef> {
    let factor = super::decimal::pow10(u32::from(scale)).ok_or_else(overflow)?;
    let nulls = e.nulls().cloned();
    let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
    let convert = |i: usize, v: i64| match i128::from(v).checked_mul(factor) {
        Some(u) if u == 0 || super::decimal::fits(u, precision) => Ok(u),
        _ if !valid(i) => Ok(0),
        _ => Err(overflow()),
    };
    let values: Vec<i128> = match e.data_type() {
        DataType::Int32 => e.as_primitive::<Int32Type>().values().iter().enumerate().map(|(i, &v)| convert(i, i64::from(v))).collect::<Result<_>>()?,
        _ => e.as_primitive::<Int64Type>().values().iter().enumerate().map(|(i, &v)| convert(i, v)).collect::<Result<_>>()?,
    };
    let array = Decimal128Array::new(ScalarBuffer::from(values), nulls).with_precision_and_scale(precision, scale as i8);
    Ok(Arc::new(array.map_err(|e| Error::Eval(e.to_string()))?))
}

/// An array of type `ty` from `f` applied to each row (a failure fails the batch).
fn elementwise(ty: &SqlType, len: usize, f: impl Fn(usize) -> Result<Value>) -> Result<ArrayRef> {
    let values = (0..len).map(f).collect::<Result<Vec<_>>>()?;
    values_to_array(ty, values.into_iter())
}

/// A literal repeated `len` times.
fn broadcast(v: &Value, len: usize) -> Result<ArrayRef> {
    Ok(match v {
        Value::Int(x) => Arc::new(Int32Array::from_value(*x, len)),
        Value::BigInt(x) => Arc::new(Int64Array::from_value(*x, len)),
        Value::Double(x) => Arc::new(Float64Array::from_value(*x, len)),
        Value::Boolean(x) => Arc::new(BooleanArray::new(BooleanBuffer::collect_bool(len, |_| *x), None)),
        other => values_to_array(&super::value_type(other), std::iter::repeat_n(other.clone(), len))?,
    })
}

/// Java's integer arithmetic over two columns; `/ by zero` on any valid row fails the batch.
fn int_arith<T>(op: ArithOp, l: &PrimitiveArray<T>, r: &PrimitiveArray<T>) -> Result<PrimitiveArray<T>>
where
    T: ArrowPrimitiveType,
    T::Native: WrappingInt,
{
    let nulls = NullBuffer::union(l.nulls(), r.nulls());
    let (a, b) = (l.values(), r.values());
    if matches!(op, ArithOp::Div | ArithOp::Mod) && (0..b.len()).any(|i| b[i] == T::Native::ZERO && nulls.as_ref().is_none_or(|n| n.is_valid(i))) {
        return eval_err!("/ by zero");
    }
    let values: ScalarBuffer<T::Native> = a
        .iter()
        .zip(b.iter())
        .map(|(&x, &y)| match op {
            ArithOp::Add => x.w_add(y),
            ArithOp::Sub => x.w_sub(y),
            ArithOp::Mul => x.w_mul(y),
            ArithOp::Div => x.w_div(y),
            ArithOp::Mod => x.w_rem(y),
        })
        .collect();
    Ok(PrimitiveArray::new(values, nulls))
}

/// Wrapping integer operations (division by zero yields zero: such rows are nulls or the
/// batch already failed).
trait WrappingInt: Copy + PartialEq {
    const ZERO: Self;
    fn w_add(self, o: Self) -> Self;
    fn w_sub(self, o: Self) -> Self;
    fn w_mul(self, o: Self) -> Self;
    fn w_div(self, o: Self) -> Self;
    fn w_rem(self, o: Self) -> Self;
}

macro_rules! wrapping_int {
    ($t:ty) => {
        impl WrappingInt for $t {
            const ZERO: Self = 0;
            fn w_add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn w_sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn w_mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn w_div(self, o: Self) -> Self {
                self.checked_div(o).unwrap_or(if o == 0 { 0 } else { self.wrapping_div(o) })
            }
            fn w_rem(self, o: Self) -> Self {
                self.checked_rem(o).unwrap_or(0)
            }
        }
    };
}

wrapping_int!(i32);
wrapping_int!(i64);

fn double_arith(op: ArithOp, l: &Float64Array, r: &Float64Array) -> Float64Array {
    let nulls = NullBuffer::union(l.nulls(), r.nulls());
    let values: ScalarBuffer<f64> = l
        .values()
        .iter()
        .zip(r.values().iter())
        .map(|(&x, &y)| match op {
            ArithOp::Add => x + y,
            ArithOp::Sub => x - y,
            ArithOp::Mul => x * y,
            ArithOp::Div => x / y,
            ArithOp::Mod => x % y,
        })
        .collect();
    PrimitiveArray::new(values, nulls)
}

fn compare_primitive<T: ArrowPrimitiveType>(op: CmpOp, l: &dyn Array, r: &dyn Array) -> BooleanArray
where
    T::Native: PartialOrd,
{
    let (l, r) = (l.as_primitive::<T>(), r.as_primitive::<T>());
    let (a, b) = (l.values(), r.values());
    BooleanArray::new(BooleanBuffer::collect_bool(a.len(), |i| op.holds(a[i].partial_cmp(&b[i]))), NullBuffer::union(l.nulls(), r.nulls()))
}

/// ksqlDB's comparisons are FALSE, never NULL, when an operand is NULL.
fn null_as_false(a: BooleanArray) -> BooleanArray {
    match a.nulls() {
        Some(n) if n.null_count() > 0 => BooleanArray::new(a.values() & n.inner(), None),
        _ => a,
    }
}

fn compare(op: CmpOp, l: &dyn Array, r: &dyn Array) -> Result<BooleanArray> {
    Ok(null_as_false(match (l.data_type(), r.data_type()) {
        (DataType::Int32, DataType::Int32) => compare_primitive::<Int32Type>(op, l, r),
        (DataType::Int64, DataType::Int64) => compare_primitive::<Int64Type>(op, l, r),
        (DataType::Float64, DataType::Float64) => compare_primitive::<Float64Type>(op, l, r),
        (DataType::Date32, DataType::Date32) => compare_primitive::<Date32Type>(op, l, r),
        (DataType::Timestamp(..), DataType::Timestamp(..)) => compare_primitive::<TimestampMillisecondType>(op, l, r),
        (DataType::Utf8, DataType::Utf8) => {
            let (a, b) = (l.as_string::<i32>(), r.as_string::<i32>());
            BooleanArray::new(BooleanBuffer::collect_bool(a.len(), |i| op.holds(Some(a.value(i).cmp(b.value(i))))), NullBuffer::union(a.nulls(), b.nulls()))
        }
        (DataType::Boolean, DataType::Boolean) => {
            let (a, b) = (l.as_boolean(), r.as_boolean());
            BooleanArray::new(BooleanBuffer::collect_bool(a.len(), |i| op.holds(Some(a.value(i).cmp(&b.value(i))))), NullBuffer::union(a.nulls(), b.nulls()))
        }
        (x, y) => {
            let values = (0..l.len()).map(|i| {
                let (a, b) = (array_value(l, i), array_value(r, i));
                (!a.is_null() && !b.is_null()).then(|| op.holds(super::node::sql_cmp(&a, &b)))
            });
            let _ = (x, y);
            values.collect()
        }
    }))
}

/// SQL's three-valued AND (`and == true`) or OR.
fn kleene(a: &BooleanArray, b: &BooleanArray, and: bool) -> BooleanArray {
    if a.null_count() == 0 && b.null_count() == 0 {
        let values = if and { a.values() & b.values() } else { a.values() | b.values() };
        return BooleanArray::new(values, None);
    }
    (0..a.len())
        .map(|i| {
            let x = a.is_valid(i).then(|| a.value(i));
            let y = b.is_valid(i).then(|| b.value(i));
            let dominant = !and;
            match (x, y) {
                (Some(v), _) | (_, Some(v)) if v == dominant => Some(dominant),
                (Some(_), Some(_)) => Some(!dominant),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{compile, ScopeColumn};
    use super::*;
    use crate::function::FunctionRegistry;
    use crate::parser::ast::{BinaryOp, Expr, Literal};

    fn scope() -> Scope {
        let c = |n: &str, ty| ScopeColumn { qualifier: None, name: n.into(), ty };
        Scope::new(vec![c("A", SqlType::Int), c("B", SqlType::BigInt), c("D", SqlType::Double), c("S", SqlType::String)])
    }

    fn rows() -> Vec<Row> {
        (0..50)
            .map(|i: i32| {
                let a = if i % 7 == 0 { Value::Null } else { Value::Int(i) };
                vec![a, Value::BigInt(i64::from(i) * 3), Value::Double(f64::from(i) / 4.0), if i % 5 == 0 { Value::Null } else { Value::String(format!("s{i}")) }]
            })
            .collect()
    }

    fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
        Expr::Binary { op, left: Box::new(l), right: Box::new(r) }
    }
    fn col(n: &str) -> Expr {
        Expr::Column { source: None, name: n.into() }
    }
    fn int(i: i32) -> Expr {
        Expr::Literal(Literal::Int(i))
    }

    /// Every expression gives the same values in batch and row form.
    #[test]
    fn batch_results_equal_row_results() {
        let exprs = vec![
            bin(BinaryOp::Add, bin(BinaryOp::Mul, col("A"), int(2)), col("B")),
            bin(BinaryOp::And, bin(BinaryOp::Gt, col("A"), int(10)), bin(BinaryOp::Lt, col("D"), Expr::Literal(Literal::Double(9.0)))),
            bin(BinaryOp::Or, bin(BinaryOp::Gt, col("A"), int(40)), Expr::IsNull { expr: Box::new(col("S")), negated: false }),
            bin(BinaryOp::Mul, col("A"), col("D")),
            bin(BinaryOp::GtEq, col("S"), Expr::Literal(Literal::String("s3".into()))),
            Expr::Function { name: "UCASE".into(), args: vec![col("S")], distinct: false },
            Expr::Unary { op: crate::parser::ast::UnaryOp::Not, expr: Box::new(bin(BinaryOp::Eq, col("A"), col("B"))) },
            // DECIMAL arithmetic (BIGINT widened to DECIMAL(19, 0)), element by element.
            bin(BinaryOp::Mul, col("B"), Expr::Literal(Literal::Decimal("0.908".into()))),
            bin(BinaryOp::Add, bin(BinaryOp::Mul, col("A"), Expr::Literal(Literal::Decimal("1.5".into()))), col("B")),
            bin(BinaryOp::Mul, bin(BinaryOp::Mul, col("A"), Expr::Literal(Literal::Decimal("0.25".into()))), Expr::Literal(Literal::Decimal("-3.5".into()))),
        ];
        let registry = FunctionRegistry::new();
        let rows = rows();
        let batch = rows_to_batch(&scope(), &rows).unwrap();
        assert_eq!(batch_to_rows(&batch), rows);
        for e in exprs {
            let c = compile(&e, &scope(), &registry, &|_| None).unwrap();
            assert!(columnar(&c.node) || matches!(e, Expr::Function { .. }), "{e:?} has column kernels");
            let batch_values = c.eval_batch(&batch).unwrap();
            let expected: Vec<Value> = rows.iter().map(|r| c.eval(r).unwrap()).collect();
            let got: Vec<Value> = (0..rows.len()).map(|i| array_value(batch_values.as_ref(), i)).collect();
            assert_eq!(got, expected, "{e:?}");
        }
    }

    #[test]
    fn filters_and_division_by_zero() {
        let registry = FunctionRegistry::new();
        let batch = rows_to_batch(&scope(), &rows()).unwrap();
        let c = compile(&bin(BinaryOp::Gt, col("A"), int(45)), &scope(), &registry, &|_| None).unwrap();
        assert_eq!(c.filter_batch(&batch).unwrap(), vec![46, 47, 48]);
        let div = compile(&bin(BinaryOp::Div, col("B"), bin(BinaryOp::Sub, col("A"), int(3))), &scope(), &registry, &|_| None).unwrap();
        assert!(matches!(div.eval_batch(&batch), Err(Error::Eval(m)) if m == "/ by zero"));
        let arr = Scope::new(vec![ScopeColumn { qualifier: None, name: "X".into(), ty: SqlType::Array(Box::new(SqlType::Int)) }]);
        assert!(matches!(rows_to_batch(&arr, &[]), Err(Error::Unsupported(_))));
    }
}
