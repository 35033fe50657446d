//! COUNT, SUM, AVG, MIN, MAX, STDDEV_SAMP, CORRELATION.

use std::sync::Arc;

use crate::expr::decimal;
use crate::function::api::AggregateFunction;
use crate::function::args::{arg, first_type};
use crate::value::{SqlType, Value};
use crate::{analysis_err, eval_err, Result};

fn big(acc: &Value) -> i64 {
    match acc {
        Value::BigInt(n) => *n,
        Value::Int(n) => i64::from(*n),
        _ => 0,
    }
}

struct Count {
    star: bool,
}

impl AggregateFunction for Count {
    fn return_type(&self) -> SqlType {
        SqlType::BigInt
    }
    fn init(&self) -> Value {
        Value::BigInt(0)
    }
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value> {
        let counts = self.star || !arg(args, 0).is_null();
        Ok(Value::BigInt(big(&acc) + i64::from(counts)))
    }
    fn undo(&self, acc: Value, args: &[Value]) -> Option<Result<Value>> {
        let counts = self.star || !arg(args, 0).is_null();
        Some(Ok(Value::BigInt(big(&acc) - i64::from(counts))))
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value> {
        Ok(Value::BigInt(big(&a) + big(&b)))
    }
    fn result(&self, acc: &Value) -> Result<Value> {
        Ok(Value::BigInt(big(acc)))
    }
}

/// `COUNT(*)` is planned with no arguments or the single type-less star; `COUNT(col)` with one.
pub(crate) fn count(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    Ok(Arc::new(Count { star: types.is_empty() }))
}

struct Sum {
    ty: SqlType,
}

impl Sum {
    fn plus(&self, a: &Value, b: &Value, negate: bool) -> Result<Value> {
        Ok(match (a, b) {
            (a, Value::Null) => a.clone(),
            (Value::Int(x), Value::Int(y)) => Value::Int(if negate { x.wrapping_sub(*y) } else { x.wrapping_add(*y) }),
            (Value::BigInt(x), Value::BigInt(y)) => Value::BigInt(if negate { x.wrapping_sub(*y) } else { x.wrapping_add(*y) }),
            (Value::Double(x), Value::Double(y)) => Value::Double(if negate { x - y } else { x + y }),
            (Value::Decimal(x), Value::Decimal(y)) => Value::Decimal(decimal::arith(if negate { '-' } else { '+' }, x, y, x.precision, x.scale)?),
            (a, b) => return eval_err!("SUM cannot add {a:?} and {b:?}"),
        })
    }
}

impl AggregateFunction for Sum {
    fn return_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn init(&self) -> Value {
        match &self.ty {
            SqlType::Int => Value::Int(0),
            SqlType::BigInt => Value::BigInt(0),
            SqlType::Double => Value::Double(0.0),
            SqlType::Decimal { precision, scale } => Value::Decimal(crate::Decimal { unscaled: 0, precision: *precision, scale: *scale }),
            _ => Value::Null,
        }
    }
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value> {
        self.plus(&acc, arg(args, 0), false)
    }
    fn undo(&self, acc: Value, args: &[Value]) -> Option<Result<Value>> {
        Some(self.plus(&acc, arg(args, 0), true))
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value> {
        self.plus(&a, &b, false)
    }
    fn result(&self, acc: &Value) -> Result<Value> {
        Ok(acc.clone())
    }
}

pub(crate) fn sum(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    match first_type("SUM", types)? {
        t @ (SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal { .. }) => Ok(Arc::new(Sum { ty: t.clone() })),
        t => analysis_err!("Function 'sum' does not accept parameters ({t})"),
    }
}

/// `SUM_LIST(array)`: the running total of every non-null element of every array.
struct SumList {
    sum: Sum,
}

impl SumList {
    fn fold(&self, acc: Value, list: &Value, negate: bool) -> Result<Value> {
        let Value::Array(items) = list else { return Ok(acc) };
        items.iter().try_fold(acc, |acc, v| self.sum.plus(&acc, v, negate))
    }
}

impl AggregateFunction for SumList {
    fn return_type(&self) -> SqlType {
        self.sum.return_type()
    }
    fn init(&self) -> Value {
        self.sum.init()
    }
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value> {
        self.fold(acc, arg(args, 0), false)
    }
    fn undo(&self, acc: Value, args: &[Value]) -> Option<Result<Value>> {
        Some(self.fold(acc, arg(args, 0), true))
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value> {
        self.sum.merge(a, b)
    }
    fn result(&self, acc: &Value) -> Result<Value> {
        Ok(acc.clone())
    }
}

pub(crate) fn sum_list(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    match first_type("SUM_LIST", types)? {
        SqlType::Array(e) if matches!(**e, SqlType::Int | SqlType::BigInt | SqlType::Double) => Ok(Arc::new(SumList { sum: Sum { ty: (**e).clone() } })),
        t => analysis_err!("Function 'sum_list' does not accept parameters ({t})"),
    }
}

/// Accumulators over doubles kept as `ARRAY<DOUBLE>` of running sums (`[count, s1, s2, ...]`).
fn sums(acc: &Value, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n];
    if let Value::Array(items) = acc {
        for (o, v) in out.iter_mut().zip(items) {
            if let Value::Double(d) = v {
                *o = *d;
            }
        }
    }
    out
}

fn pack(v: &[f64]) -> Value {
    Value::Array(v.iter().map(|d| Value::Double(*d)).collect())
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(f64::from(*i)),
        Value::BigInt(i) => Some(*i as f64),
        Value::Double(d) => Some(*d),
        Value::Decimal(d) => Some(decimal::to_f64(d)),
        _ => None,
    }
}

/// AVG, STDDEV_SAMP and CORRELATION: running sums of doubles.
struct Moments {
    kind: MomentKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MomentKind {
    Avg,
    Correlation,
}

impl Moments {
    /// `[count, sum_x, sum_xx, sum_y, sum_yy, sum_xy]`.
    const WIDTH: usize = 6;

    fn step(&self, acc: Value, args: &[Value], sign: f64) -> Value {
        let x = num(arg(args, 0));
        let y = if self.kind == MomentKind::Correlation { num(arg(args, 1)) } else { Some(0.0) };
        let (Some(x), Some(y)) = (x, y) else { return acc };
        let mut s = sums(&acc, Self::WIDTH);
        for (i, d) in [1.0, x, x * x, y, y * y, x * y].into_iter().enumerate() {
            s[i] += sign * d;
        }
        pack(&s)
    }
}

impl AggregateFunction for Moments {
    fn return_type(&self) -> SqlType {
        SqlType::Double
    }
    fn init(&self) -> Value {
        pack(&[0.0; Self::WIDTH])
    }
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value> {
        Ok(self.step(acc, args, 1.0))
    }
    fn undo(&self, acc: Value, args: &[Value]) -> Option<Result<Value>> {
        Some(Ok(self.step(acc, args, -1.0)))
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value> {
        let (x, y) = (sums(&a, Self::WIDTH), sums(&b, Self::WIDTH));
        Ok(pack(&x.iter().zip(&y).map(|(a, b)| a + b).collect::<Vec<_>>()))
    }
    fn intermediate_is_struct(&self) -> bool {
        true
    }
    fn result(&self, acc: &Value) -> Result<Value> {
        let s = sums(acc, Self::WIDTH);
        let (n, sx, sxx, sy, syy, sxy) = (s[0], s[1], s[2], s[3], s[4], s[5]);
        Ok(Value::Double(match self.kind {
            MomentKind::Avg if n == 0.0 => 0.0,
            MomentKind::Avg => sx / n,
            MomentKind::Correlation => (n * sxy - sx * sy) / ((n * sxx - sx * sx) * (n * syy - sy * sy)).sqrt(),
        }))
    }
}

pub(crate) fn avg(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    numeric_only("AVG", types)?;
    Ok(Arc::new(Moments { kind: MomentKind::Avg }))
}

pub(crate) fn correlation(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    if types.len() != 2 {
        return analysis_err!("Function 'CORRELATION' requires two arguments");
    }
    numeric_only("CORRELATION", &types[1..])?;
    numeric_only("CORRELATION", types)?;
    Ok(Arc::new(Moments { kind: MomentKind::Correlation }))
}

fn numeric_only(name: &str, types: &[SqlType]) -> Result<()> {
    let t = first_type(name, types)?;
    if crate::expr::types::is_numeric(t) {
        Ok(())
    } else {
        analysis_err!("Function '{name}' does not accept parameters ({t})")
    }
}

struct Extreme {
    ty: SqlType,
    max: bool,
}

impl Extreme {
    fn pick(&self, a: Value, b: Value) -> Value {
        match (a.is_null(), b.is_null()) {
            (true, _) => b,
            (_, true) => a,
            _ => {
                let b_wins = if self.max { b.total_cmp(&a).is_gt() } else { b.total_cmp(&a).is_lt() };
                if b_wins {
                    b
                } else {
                    a
                }
            }
        }
    }
}

impl AggregateFunction for Extreme {
    fn return_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn init(&self) -> Value {
        Value::Null
    }
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value> {
        Ok(self.pick(acc, arg(args, 0).clone()))
    }
    fn undo(&self, _: Value, _: &[Value]) -> Option<Result<Value>> {
        None
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value> {
        Ok(self.pick(a, b))
    }
    fn result(&self, acc: &Value) -> Result<Value> {
        Ok(acc.clone())
    }
}

fn extreme(name: &str, types: &[SqlType], max: bool) -> Result<Arc<dyn AggregateFunction>> {
    match first_type(name, types)? {
        t @ (SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal { .. } | SqlType::String | SqlType::Bytes | SqlType::Date | SqlType::Time | SqlType::Timestamp) => Ok(Arc::new(Extreme { ty: t.clone(), max })),
        t => analysis_err!("Function '{name}' does not accept parameters ({t})"),
    }
}

pub(crate) fn min(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    extreme("MIN", types, false)
}

pub(crate) fn max(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    extreme("MAX", types, true)
}
