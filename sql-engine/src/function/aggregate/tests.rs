//! Aggregate behaviour: accumulate, undo, merge and result for each built-in.

use super::*;
use crate::value::Decimal;

fn agg(name: &str, types: &[SqlType], literals: &[Value]) -> Arc<dyn AggregateFunction> {
    FunctionRegistry::new().aggregate(name, types, literals).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Folds single-argument rows into an accumulator.
fn fold(f: &dyn AggregateFunction, values: &[Value]) -> Value {
    values.iter().fold(f.init(), |acc, v| f.add(acc, std::slice::from_ref(v)).unwrap())
}

fn ints(v: &[i32]) -> Vec<Value> {
    v.iter().map(|i| Value::Int(*i)).collect()
}

#[test]
fn count_star_and_column() {
    let star = agg("COUNT", &[], &[]);
    let acc = star.add(star.init(), &[]).unwrap();
    let acc = star.add(acc, &[]).unwrap();
    assert_eq!(star.result(&acc).unwrap(), Value::BigInt(2));
    assert_eq!(star.result(&star.undo(acc, &[]).unwrap().unwrap()).unwrap(), Value::BigInt(1));
    let col = agg("COUNT", &[SqlType::Int], &[]);
    let acc = fold(col.as_ref(), &[Value::Int(1), Value::Null, Value::Int(3)]);
    assert_eq!(col.result(&acc).unwrap(), Value::BigInt(2));
    assert_eq!(col.result(&col.undo(acc.clone(), &[Value::Null]).unwrap().unwrap()).unwrap(), Value::BigInt(2));
    assert_eq!(col.result(&col.merge(acc.clone(), acc).unwrap()).unwrap(), Value::BigInt(4));
}

#[test]
fn sum_keeps_type_skips_nulls_and_undoes() {
    let f = agg("SUM", &[SqlType::Int], &[]);
    assert_eq!(f.return_type(), SqlType::Int);
    let acc = fold(f.as_ref(), &[Value::Int(5), Value::Null, Value::Int(7)]);
    assert_eq!(f.result(&acc).unwrap(), Value::Int(12));
    assert_eq!(f.result(&f.undo(acc, &[Value::Int(5)]).unwrap().unwrap()).unwrap(), Value::Int(7));
    assert_eq!(f.result(&f.init()).unwrap(), Value::Int(0));
    let d = |u| Value::Decimal(Decimal { unscaled: u, precision: 4, scale: 2 });
    let f = agg("SUM", &[SqlType::Decimal { precision: 4, scale: 2 }], &[]);
    assert_eq!(f.result(&fold(f.as_ref(), &[d(150), d(275)])).unwrap(), d(425));
    assert!(f.add(d(9999), &[d(1)]).is_err(), "DECIMAL(4, 2) overflow must fail");
    assert!(FunctionRegistry::new().aggregate("SUM", &[SqlType::String], &[]).is_err());
}

#[test]
fn sum_list_adds_every_element_of_every_array() {
    let f = agg("SUM_LIST", &[SqlType::Array(Box::new(SqlType::BigInt))], &[]);
    assert_eq!(f.return_type(), SqlType::BigInt);
    let list = |xs: &[Option<i64>]| Value::Array(xs.iter().map(|x| x.map_or(Value::Null, Value::BigInt)).collect());
    let acc = fold(f.as_ref(), &[list(&[Some(3), Some(4)]), Value::Null, list(&[Some(10), None])]);
    assert_eq!(f.result(&acc).unwrap(), Value::BigInt(17));
    assert_eq!(f.result(&f.undo(acc, &[list(&[Some(3), Some(4)])]).unwrap().unwrap()).unwrap(), Value::BigInt(10));
    assert!(FunctionRegistry::new().aggregate("SUM_LIST", &[SqlType::Array(Box::new(SqlType::String))], &[]).is_err());
}

#[test]
fn avg_stddev_correlation() {
    let avg = agg("AVG", &[SqlType::Int], &[]);
    assert_eq!(avg.result(&avg.init()).unwrap(), Value::Double(0.0));
    let acc = fold(avg.as_ref(), &ints(&[1, 2, 6]));
    assert_eq!(avg.result(&acc).unwrap(), Value::Double(3.0));
    assert_eq!(avg.result(&avg.undo(acc, &[Value::Int(6)]).unwrap().unwrap()).unwrap(), Value::Double(1.5));
    let sd = agg("STDDEV_SAMP", &[SqlType::Double], &[]);
    let acc = fold(sd.as_ref(), &[Value::Double(2.0), Value::Double(4.0), Value::Double(6.0)]);
    assert_eq!(sd.result(&acc).unwrap(), Value::Double(4.0));
    assert_eq!(sd.result(&fold(sd.as_ref(), &[Value::Double(2.0)])).unwrap(), Value::Double(0.0));
    let corr = agg("CORRELATION", &[SqlType::Double, SqlType::Double], &[]);
    let acc = [(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)].iter().fold(corr.init(), |acc, (x, y)| corr.add(acc, &[Value::Double(*x), Value::Double(*y)]).unwrap());
    assert!(matches!(corr.result(&acc).unwrap(), Value::Double(c) if (c - 1.0).abs() < 1e-12));
}

#[test]
fn min_max_are_not_undoable() {
    let min = agg("MIN", &[SqlType::String], &[]);
    let max = agg("MAX", &[SqlType::Int], &[]);
    let s = |v: &str| Value::String(v.into());
    assert_eq!(min.result(&fold(min.as_ref(), &[s("b"), Value::Null, s("a")])).unwrap(), s("a"));
    assert_eq!(max.result(&fold(max.as_ref(), &ints(&[3, 9, 2]))).unwrap(), Value::Int(9));
    assert_eq!(max.result(&max.init()).unwrap(), Value::Null);
    assert!(!max.supports_undo());
    assert_eq!(max.result(&max.merge(Value::Int(4), Value::Null).unwrap()).unwrap(), Value::Int(4));
}

#[test]
fn collections_and_topk() {
    let list = agg("COLLECT_LIST", &[SqlType::Int], &[]);
    let acc = fold(list.as_ref(), &ints(&[3, 1, 3]));
    assert_eq!(list.result(&acc).unwrap(), Value::Array(ints(&[3, 1, 3])));
    assert_eq!(list.result(&list.undo(acc, &[Value::Int(3)]).unwrap().unwrap()).unwrap(), Value::Array(ints(&[3, 1])));
    let set = agg("COLLECT_SET", &[SqlType::Int], &[]);
    assert_eq!(set.result(&fold(set.as_ref(), &ints(&[3, 1, 3]))).unwrap(), Value::Array(ints(&[3, 1])));
    let top = agg("TOPK", &[SqlType::Int, SqlType::Int], &[Value::Null, Value::Int(2)]);
    assert_eq!(top.return_type(), SqlType::Array(Box::new(SqlType::Int)));
    assert_eq!(top.result(&fold(top.as_ref(), &ints(&[5, 9, 9, 1]))).unwrap(), Value::Array(ints(&[9, 9])));
    let topd = agg("TOPKDISTINCT", &[SqlType::Int, SqlType::Int], &[Value::Null, Value::Int(2)]);
    assert_eq!(topd.result(&fold(topd.as_ref(), &ints(&[5, 9, 9, 1]))).unwrap(), Value::Array(ints(&[9, 5])));
    assert!(FunctionRegistry::new().aggregate("TOPK", &[SqlType::Int, SqlType::Int], &[]).is_err());
    let cd = agg("COUNT_DISTINCT", &[SqlType::Int], &[]);
    assert_eq!(cd.result(&fold(cd.as_ref(), &[Value::Int(1), Value::Int(1), Value::Null, Value::Int(2)])).unwrap(), Value::BigInt(2));
}

#[test]
fn histogram_counts_and_undoes() {
    let h = agg("HISTOGRAM", &[SqlType::String], &[]);
    let s = |v: &str| Value::String(v.into());
    let acc = fold(h.as_ref(), &[s("a"), s("b"), s("a")]);
    assert_eq!(h.result(&acc).unwrap(), Value::Map(vec![(s("a"), Value::BigInt(2)), (s("b"), Value::BigInt(1))]));
    let acc = h.undo(acc, &[s("b")]).unwrap().unwrap();
    assert_eq!(h.result(&acc).unwrap(), Value::Map(vec![(s("a"), Value::BigInt(2))]));
}

#[test]
fn earliest_and_latest_by_offset() {
    let e = agg("EARLIEST_BY_OFFSET", &[SqlType::Int], &[]);
    let l = agg("LATEST_BY_OFFSET", &[SqlType::Int], &[]);
    let rows = [Value::Null, Value::Int(1), Value::Int(2), Value::Null];
    assert_eq!(e.result(&fold(e.as_ref(), &rows)).unwrap(), Value::Int(1));
    assert_eq!(l.result(&fold(l.as_ref(), &rows)).unwrap(), Value::Int(2));
    let keep_nulls = rows.iter().fold(l.init(), |acc, v| l.add(acc, &[v.clone(), Value::Boolean(false)]).unwrap());
    assert_eq!(l.result(&keep_nulls).unwrap(), Value::Null);
    assert!(!l.supports_undo());
    assert_eq!(l.result(&l.merge(fold(l.as_ref(), &ints(&[1])), fold(l.as_ref(), &ints(&[2]))).unwrap()).unwrap(), Value::Int(2));
}
