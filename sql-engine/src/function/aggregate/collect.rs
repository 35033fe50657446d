//! COUNT_DISTINCT, COLLECT_LIST, COLLECT_SET, TOPK, TOPKDISTINCT, HISTOGRAM,
//! EARLIEST_BY_OFFSET, LATEST_BY_OFFSET.

use std::sync::Arc;

use crate::function::api::AggregateFunction;
use crate::function::args::{arg, first_type, literal_int};
use crate::value::{SqlType, Value};
use crate::{analysis_err, Result};

/// ksqlDB's default `ksql.functions.collect_list.limit` / `collect_set.limit` / histogram cap.
const COLLECT_LIMIT: usize = 1000;

fn items(acc: Value) -> Vec<Value> {
    match acc {
        Value::Array(v) => v,
        _ => Vec::new(),
    }
}

/// The collecting aggregates: an `ARRAY` accumulator.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Set,
    TopK(usize),
    TopKDistinct(usize),
    CountDistinct,
}

struct Collect {
    kind: Kind,
    ty: SqlType,
}

impl Collect {
    fn insert(&self, mut acc: Vec<Value>, v: Value) -> Vec<Value> {
        match self.kind {
            Kind::List => {
                if acc.len() < COLLECT_LIMIT {
                    acc.push(v);
                }
            }
            Kind::Set | Kind::CountDistinct => {
                if !v.is_null() && !acc.contains(&v) && (self.kind == Kind::CountDistinct || acc.len() < COLLECT_LIMIT) {
                    acc.push(v);
                }
            }
            Kind::TopK(k) | Kind::TopKDistinct(k) => {
                if v.is_null() || (matches!(self.kind, Kind::TopKDistinct(_)) && acc.contains(&v)) {
                    return acc;
                }
                let at = acc.iter().position(|x| v.total_cmp(x).is_gt()).unwrap_or(acc.len());
                acc.insert(at, v);
                acc.truncate(k);
            }
        }
        acc
    }
}

impl AggregateFunction for Collect {
    fn return_type(&self) -> SqlType {
        match self.kind {
            Kind::CountDistinct => SqlType::BigInt,
            _ => SqlType::Array(Box::new(self.ty.clone())),
        }
    }
    fn init(&self) -> Value {
        Value::Array(Vec::new())
    }
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value> {
        Ok(Value::Array(self.insert(items(acc), arg(args, 0).clone())))
    }
    fn undo(&self, acc: Value, args: &[Value]) -> Option<Result<Value>> {
        match self.kind {
            Kind::List | Kind::Set => {
                let mut acc = items(acc);
                let v = arg(args, 0);
                if let Some(i) = acc.iter().rposition(|x| x == v) {
                    acc.remove(i);
                }
                Some(Ok(Value::Array(acc)))
            }
            _ => None,
        }
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value> {
        Ok(Value::Array(items(b).into_iter().fold(items(a), |acc, v| self.insert(acc, v))))
    }
    fn result(&self, acc: &Value) -> Result<Value> {
        Ok(match (self.kind, acc) {
            (Kind::CountDistinct, Value::Array(v)) => Value::BigInt(v.len() as i64),
            (Kind::CountDistinct, _) => Value::BigInt(0),
            (_, acc) => acc.clone(),
        })
    }
}

fn collect(name: &str, types: &[SqlType], kind: Kind) -> Result<Arc<dyn AggregateFunction>> {
    Ok(Arc::new(Collect { kind, ty: first_type(name, types)?.clone() }))
}

pub(crate) fn count_distinct(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    collect("COUNT_DISTINCT", types, Kind::CountDistinct)
}

pub(crate) fn collect_list(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    collect("COLLECT_LIST", types, Kind::List)
}

pub(crate) fn collect_set(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    collect("COLLECT_SET", types, Kind::Set)
}

fn orderable(name: &str, types: &[SqlType]) -> Result<()> {
    match first_type(name, types)? {
        SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal { .. } | SqlType::String | SqlType::Date | SqlType::Time | SqlType::Timestamp => Ok(()),
        t => analysis_err!("Function '{name}' does not accept parameters ({t}, INTEGER)"),
    }
}

pub(crate) fn topk(types: &[SqlType], literals: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    orderable("TOPK", types)?;
    collect("TOPK", types, Kind::TopK(literal_int("TOPK", literals, 1)?))
}

pub(crate) fn topk_distinct(types: &[SqlType], literals: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    orderable("TOPKDISTINCT", types)?;
    collect("TOPKDISTINCT", types, Kind::TopKDistinct(literal_int("TOPKDISTINCT", literals, 1)?))
}

struct Histogram;

fn entries(acc: Value) -> Vec<(Value, Value)> {
    match acc {
        Value::Map(m) => m,
        _ => Vec::new(),
    }
}

fn bump(mut m: Vec<(Value, Value)>, k: &Value, by: i64) -> Vec<(Value, Value)> {
    if k.is_null() {
        return m;
    }
    match m.iter().position(|(x, _)| x == k) {
        Some(i) => {
            let n = match m[i].1 {
                Value::BigInt(n) => n + by,
                _ => by,
            };
            if n <= 0 {
                m.remove(i);
            } else {
                m[i].1 = Value::BigInt(n);
            }
        }
        None if by > 0 && m.len() < COLLECT_LIMIT => m.push((k.clone(), Value::BigInt(by))),
        None => {}
    }
    m
}

impl AggregateFunction for Histogram {
    fn return_type(&self) -> SqlType {
        SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::BigInt))
    }
    fn init(&self) -> Value {
        Value::Map(Vec::new())
    }
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value> {
        Ok(Value::Map(bump(entries(acc), arg(args, 0), 1)))
    }
    fn undo(&self, acc: Value, args: &[Value]) -> Option<Result<Value>> {
        Some(Ok(Value::Map(bump(entries(acc), arg(args, 0), -1))))
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value> {
        let merged = entries(b).into_iter().fold(entries(a), |m, (k, v)| match v {
            Value::BigInt(n) => bump(m, &k, n),
            _ => m,
        });
        Ok(Value::Map(merged))
    }
    fn result(&self, acc: &Value) -> Result<Value> {
        Ok(acc.clone())
    }
}

pub(crate) fn histogram(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    match first_type("HISTOGRAM", types)? {
        SqlType::String => Ok(Arc::new(Histogram)),
        t => analysis_err!("Function 'histogram' does not accept parameters ({t})"),
    }
}

/// EARLIEST/LATEST_BY_OFFSET: the accumulator is `NULL` until a value is kept, then a
/// one-element array holding it (so a kept `NULL` differs from none).
struct ByOffset {
    ty: SqlType,
    latest: bool,
}

impl AggregateFunction for ByOffset {
    fn return_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn init(&self) -> Value {
        Value::Null
    }
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value> {
        let v = arg(args, 0);
        let ignore_nulls = !matches!(arg(args, 1), Value::Boolean(false));
        if v.is_null() && ignore_nulls || !self.latest && !acc.is_null() {
            return Ok(acc);
        }
        Ok(Value::Array(vec![v.clone()]))
    }
    fn undo(&self, _: Value, _: &[Value]) -> Option<Result<Value>> {
        None
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value> {
        Ok(match (a.is_null(), b.is_null(), self.latest) {
            (true, _, _) => b,
            (_, true, _) => a,
            (_, _, true) => b,
            _ => a,
        })
    }
    fn result(&self, acc: &Value) -> Result<Value> {
        Ok(match acc {
            Value::Array(v) => v.first().cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        })
    }
}

/// EARLIEST/LATEST_BY_OFFSET(x, n[, ignoreNulls]): the first (last) `n` values received, as
/// an array (empty until one is kept).
struct ByOffsetN {
    ty: SqlType,
    n: usize,
    latest: bool,
}

impl ByOffsetN {
    fn keep(&self, mut items: Vec<Value>) -> Value {
        if items.len() > self.n {
            if self.latest {
                items.drain(..items.len() - self.n);
            } else {
                items.truncate(self.n);
            }
        }
        Value::Array(items)
    }
}

impl AggregateFunction for ByOffsetN {
    fn return_type(&self) -> SqlType {
        SqlType::Array(Box::new(self.ty.clone()))
    }
    fn init(&self) -> Value {
        Value::Array(Vec::new())
    }
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value> {
        let v = arg(args, 0);
        let ignore_nulls = !matches!(arg(args, 2), Value::Boolean(false));
        let mut items = match acc {
            Value::Array(items) => items,
            _ => Vec::new(),
        };
        if v.is_null() && ignore_nulls || !self.latest && items.len() >= self.n {
            return Ok(Value::Array(items));
        }
        items.push(v.clone());
        Ok(self.keep(items))
    }
    fn undo(&self, _: Value, _: &[Value]) -> Option<Result<Value>> {
        None
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value> {
        let mut items = match a {
            Value::Array(items) => items,
            _ => Vec::new(),
        };
        if let Value::Array(more) = b {
            items.extend(more);
        }
        Ok(self.keep(items))
    }
    fn result(&self, acc: &Value) -> Result<Value> {
        Ok(match acc {
            Value::Array(_) => acc.clone(),
            _ => Value::Array(Vec::new()),
        })
    }
}

/// The single-value or the `n`-values form, by the type of the second argument.
fn by_offset(name: &str, types: &[SqlType], literals: &[Value], latest: bool) -> Result<Arc<dyn AggregateFunction>> {
    let ty = first_type(name, types)?.clone();
    match types.get(1) {
        Some(SqlType::Int | SqlType::BigInt) => Ok(Arc::new(ByOffsetN { ty, n: literal_int(name, literals, 1)?, latest })),
        _ => Ok(Arc::new(ByOffset { ty, latest })),
    }
}

pub(crate) fn earliest(types: &[SqlType], literals: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    by_offset("EARLIEST_BY_OFFSET", types, literals, false)
}

pub(crate) fn latest(types: &[SqlType], literals: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    by_offset("LATEST_BY_OFFSET", types, literals, true)
}
