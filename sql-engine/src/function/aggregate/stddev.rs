//! STDDEV_SAMPLE and STDDEV_SAMP with ksqlDB's arithmetic, so results agree to the last bit:
//! the Youngs-Cramer update over a running count, a sum kept in the input's own type (INT sums
//! wrap as Java `int`s do) and M2. STDDEV_SAMPLE is `sqrt(M2 / (n - 1))`; STDDEV_SAMP is
//! `M2 / (n - 1)` (ksqlDB 0.29 returns the sample variance under that name, and Brook matches
//! it). Both are 0.0 below two values and skip `NULL`s.

use std::sync::Arc;

use crate::function::api::AggregateFunction;
use crate::function::args::{arg, first_type};
use crate::value::{SqlType, Value};
use crate::{analysis_err, Result};

/// The running sum, in the input's type.
#[derive(Clone, Copy)]
enum Sum {
    Int(i32),
    Long(i64),
    Double(f64),
}

impl Sum {
    fn as_f64(self) -> f64 {
        match self {
            Sum::Int(s) => f64::from(s),
            Sum::Long(s) => s as f64,
            Sum::Double(s) => s,
        }
    }
}

/// One input value, in the input's type.
#[derive(Clone, Copy)]
enum Input {
    Int(i32),
    Long(i64),
    Double(f64),
}

struct State {
    count: i64,
    sum: Sum,
    m2: f64,
}

struct StdDev {
    input: SqlType,
    sqrt: bool,
}

impl StdDev {
    fn zero_sum(&self) -> Sum {
        match self.input {
            SqlType::Int => Sum::Int(0),
            SqlType::BigInt => Sum::Long(0),
            _ => Sum::Double(0.0),
        }
    }

    fn input(&self, v: &Value) -> Option<Input> {
        match (v, &self.input) {
            (Value::Int(i), SqlType::Int) => Some(Input::Int(*i)),
            (Value::Int(i), SqlType::BigInt) => Some(Input::Long(i64::from(*i))),
            (Value::BigInt(i), SqlType::BigInt) => Some(Input::Long(*i)),
            (Value::Int(i), _) => Some(Input::Double(f64::from(*i))),
            (Value::BigInt(i), _) => Some(Input::Double(*i as f64)),
            (Value::Double(d), _) => Some(Input::Double(*d)),
            (Value::Decimal(d), _) => d.to_string().parse().ok().map(Input::Double),
            _ => None,
        }
    }

    fn state(&self, acc: &Value) -> State {
        let items = match acc {
            Value::Array(items) => items.as_slice(),
            _ => &[],
        };
        let count = match items.first() {
            Some(Value::BigInt(c)) => *c,
            _ => 0,
        };
        let sum = match (items.get(1), self.zero_sum()) {
            (Some(Value::Int(s)), Sum::Int(_)) => Sum::Int(*s),
            (Some(Value::BigInt(s)), Sum::Long(_)) => Sum::Long(*s),
            (Some(Value::Double(s)), Sum::Double(_)) => Sum::Double(*s),
            (_, zero) => zero,
        };
        let m2 = match items.get(2) {
            Some(Value::Double(m)) => *m,
            _ => 0.0,
        };
        State { count, sum, m2 }
    }

    fn pack(s: &State) -> Value {
        let sum = match s.sum {
            Sum::Int(v) => Value::Int(v),
            Sum::Long(v) => Value::BigInt(v),
            Sum::Double(v) => Value::Double(v),
        };
        Value::Array(vec![Value::BigInt(s.count), sum, Value::Double(s.m2)])
    }

    /// `v * (count + 1) - (sum + v)`, in the input type's arithmetic, as ksqlDB computes it.
    fn delta(s: &State, v: Input) -> f64 {
        match (s.sum, v) {
            (Sum::Int(sum), Input::Int(v)) => i64::from(v).wrapping_mul(s.count + 1).wrapping_sub(i64::from(sum.wrapping_add(v))) as f64,
            (Sum::Long(sum), Input::Long(v)) => v.wrapping_mul(s.count + 1).wrapping_sub(sum.wrapping_add(v)) as f64,
            (sum, v) => {
                let v = match v {
                    Input::Int(i) => f64::from(i),
                    Input::Long(i) => i as f64,
                    Input::Double(d) => d,
                };
                v * (s.count + 1) as f64 - (sum.as_f64() + v)
            }
        }
    }

    fn plus(sum: Sum, v: Input, sign: i64) -> Sum {
        match (sum, v) {
            (Sum::Int(s), Input::Int(v)) => Sum::Int(if sign > 0 { s.wrapping_add(v) } else { s.wrapping_sub(v) }),
            (Sum::Long(s), Input::Long(v)) => Sum::Long(if sign > 0 { s.wrapping_add(v) } else { s.wrapping_sub(v) }),
            (s, Input::Double(v)) => Sum::Double(s.as_f64() + sign as f64 * v),
            (s, Input::Int(v)) => Sum::Double(s.as_f64() + (sign * i64::from(v)) as f64),
            (s, Input::Long(v)) => Sum::Double(s.as_f64() + (sign * v) as f64),
        }
    }
}

impl AggregateFunction for StdDev {
    fn return_type(&self) -> SqlType {
        SqlType::Double
    }
    fn init(&self) -> Value {
        Self::pack(&State { count: 0, sum: self.zero_sum(), m2: 0.0 })
    }
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value> {
        let Some(v) = self.input(arg(args, 0)) else { return Ok(acc) };
        let s = self.state(&acc);
        let count = s.count + 1;
        let m2 = if s.count > 0 {
            let d = Self::delta(&s, v);
            d * d / (count * (count - 1)) as f64
        } else {
            0.0
        };
        Ok(Self::pack(&State { count, sum: Self::plus(s.sum, v, 1), m2: m2 + s.m2 }))
    }
    fn undo(&self, acc: Value, args: &[Value]) -> Option<Result<Value>> {
        let Some(v) = self.input(arg(args, 0)) else { return Some(Ok(acc)) };
        let s = self.state(&acc);
        let count = s.count - 1;
        let m2 = if count > 0 {
            let d = Self::delta(&s, v);
            d * d / (count * (count + 1)) as f64
        } else {
            0.0
        };
        Some(Ok(Self::pack(&State { count, sum: Self::plus(s.sum, v, -1), m2: s.m2 - m2 })))
    }
    fn merge(&self, a: Value, b: Value) -> Result<Value> {
        let (a, b) = (self.state(&a), self.state(&b));
        let count = a.count + b.count;
        let m2 = if a.count == 0 || b.count == 0 {
            a.m2 + b.m2
        } else {
            let inner = a.sum.as_f64() / a.count as f64 - b.sum.as_f64() / b.count as f64;
            a.m2 + b.m2 + (a.count * b.count) as f64 * inner * inner / count as f64
        };
        let sum = match (a.sum, b.sum) {
            (Sum::Int(x), Sum::Int(y)) => Sum::Int(x.wrapping_add(y)),
            (Sum::Long(x), Sum::Long(y)) => Sum::Long(x.wrapping_add(y)),
            (x, y) => Sum::Double(x.as_f64() + y.as_f64()),
        };
        Ok(Self::pack(&State { count, sum, m2 }))
    }
    fn result(&self, acc: &Value) -> Result<Value> {
        let s = self.state(acc);
        if s.count < 2 {
            return Ok(Value::Double(0.0));
        }
        let variance = s.m2 / (s.count - 1) as f64;
        Ok(Value::Double(if self.sqrt { variance.sqrt() } else { variance }))
    }
    fn intermediate_is_struct(&self) -> bool {
        true
    }
}

fn build(name: &str, types: &[SqlType], sqrt: bool) -> Result<Arc<dyn AggregateFunction>> {
    match first_type(name, types)? {
        t @ (SqlType::Int | SqlType::BigInt | SqlType::Double) => Ok(Arc::new(StdDev { input: t.clone(), sqrt })),
        t => analysis_err!("Function '{}' does not accept parameters ({t})", name.to_ascii_lowercase()),
    }
}

pub(crate) fn stddev_sample(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    build("STDDEV_SAMPLE", types, true)
}

pub(crate) fn stddev_samp(types: &[SqlType], _: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
    build("STDDEV_SAMP", types, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &dyn AggregateFunction, xs: &[Value]) -> Vec<f64> {
        let mut acc = f.init();
        xs.iter()
            .map(|x| {
                acc = f.add(acc.clone(), std::slice::from_ref(x)).unwrap();
                match f.result(&acc).unwrap() {
                    Value::Double(d) => d,
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn youngs_cramer_matches_java_bit_for_bit() {
        let samp = stddev_samp(&[SqlType::Int], &[]).unwrap();
        // 0, 10, 7: M2 = 50 + 16 / 6; the naive sum-of-squares formula gives ...336 instead.
        assert_eq!(run(samp.as_ref(), &[Value::Int(0), Value::Int(10), Value::Null, Value::Int(7)]), vec![0.0, 50.0, 50.0, 26.333333333333332]);
        let sample = stddev_sample(&[SqlType::Int], &[]).unwrap();
        assert_eq!(run(sample.as_ref(), &[Value::Int(50), Value::Int(10)]), vec![0.0, 28.284271247461902]);
        let sample = stddev_sample(&[SqlType::Double], &[]).unwrap();
        assert_eq!(run(sample.as_ref(), &[Value::Double(2.0), Value::Double(4.0)]), vec![0.0, 2.0f64.sqrt()]);
        assert!(stddev_sample(&[SqlType::String], &[]).is_err());
    }

    #[test]
    fn undo_and_merge_keep_the_moments() {
        let f = stddev_samp(&[SqlType::BigInt], &[]).unwrap();
        let mut acc = f.init();
        for v in [1, 2, 3] {
            acc = f.add(acc, &[Value::BigInt(v)]).unwrap();
        }
        assert_eq!(f.result(&acc).unwrap(), Value::Double(1.0));
        let undone = f.undo(acc.clone(), &[Value::BigInt(3)]).unwrap().unwrap();
        // Back to 1, 2: variance 0.5.
        assert_eq!(f.result(&undone).unwrap(), Value::Double(0.5));
        let one = f.add(f.init(), &[Value::BigInt(4)]).unwrap();
        let merged = f.merge(acc, one).unwrap();
        assert_eq!(f.result(&merged).unwrap(), Value::Double(5.0 / 3.0));
    }
}
