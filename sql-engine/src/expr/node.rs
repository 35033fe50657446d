//! The compiled expression tree and its evaluation. Every column, struct field, function and
//! conversion is resolved by [`super::compile`]; evaluation only walks the tree.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use regex::Regex;

use super::decimal;
use super::lambda::{self, LambdaKind};
use super::types::ArithOp;
use crate::function::{Nulls, ScalarImpl};
use crate::value::{SqlType, Value};
use crate::{eval_err, Result};

/// Stack left below which recursion moves to a new segment, and that segment's size.
pub(crate) const STACK_RED_ZONE: usize = 64 * 1024;
pub(crate) const STACK_SEGMENT: usize = 1024 * 1024;

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CmpOp {
    /// The operator's name in ksqlDB's messages (`ComparisonExpression.Type`).
    pub(crate) fn ksql_name(self) -> &'static str {
        match self {
            CmpOp::Eq => "EQUAL",
            CmpOp::NotEq => "NOT_EQUAL",
            CmpOp::Lt => "LESS_THAN",
            CmpOp::LtEq => "LESS_THAN_OR_EQUAL",
            CmpOp::Gt => "GREATER_THAN",
            CmpOp::GtEq => "GREATER_THAN_OR_EQUAL",
        }
    }

    /// The operator as written in SQL.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "<>",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        }
    }

    /// Whether the comparison holds for an ordering (`None`: unordered, NaN).
    pub(crate) fn holds(self, ord: Option<Ordering>) -> bool {
        match self {
            CmpOp::Eq => ord == Some(Ordering::Equal),
            CmpOp::NotEq => ord != Some(Ordering::Equal),
            CmpOp::Lt => ord == Some(Ordering::Less),
            CmpOp::LtEq => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
            CmpOp::Gt => ord == Some(Ordering::Greater),
            CmpOp::GtEq => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        }
    }
}

/// A compiled expression node.
#[derive(Clone)]
pub(crate) enum Node {
    Literal(Value),
    /// `row[i]`.
    Column(usize),
    /// A lambda parameter: `vars[i]`.
    Var(usize),
    /// Struct field by position.
    Field { base: Box<Node>, index: usize },
    /// `array[i]`: 1-based, negative from the end, out of range is `NULL`.
    Index { base: Box<Node>, index: Box<Node> },
    /// `map[key]`.
    Key { base: Box<Node>, key: Box<Node> },
    Neg(Box<Node>),
    Not(Box<Node>),
    /// Operands already converted to the operation's type (`Decimal` operands keep theirs).
    Arith { op: ArithOp, ty: SqlType, left: Box<Node>, right: Box<Node> },
    /// Operands already converted to a common type.
    Compare { op: CmpOp, left: Box<Node>, right: Box<Node> },
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Concat(Box<Node>, Box<Node>),
    IsNull { expr: Box<Node>, negated: bool },
    Distinct { left: Box<Node>, right: Box<Node>, negated: bool },
    /// `LIKE` with a literal pattern compiled once, or a pattern evaluated per row.
    Like { expr: Box<Node>, pattern: LikePattern, negated: bool },
    InList { expr: Box<Node>, list: Vec<Node>, negated: bool },
    Case { whens: Vec<(Node, Node)>, otherwise: Box<Node> },
    Cast { expr: Box<Node>, to: SqlType },
    Call { name: Arc<str>, imp: ScalarImpl, nulls: Nulls, ret: SqlType, args: Vec<Node> },
    MakeArray(Vec<Node>),
    MakeMap(Vec<(Node, Node)>),
    MakeStruct(Vec<(String, Node)>),
    /// A lambda function: the collection, an initial state for `REDUCE`, lambda bodies whose
    /// parameters are `vars[depth..]`.
    Lambda { kind: LambdaKind, base: Box<Node>, init: Option<Box<Node>>, bodies: Vec<Node>, depth: usize },
}

/// A `LIKE` pattern.
#[derive(Clone)]
pub(crate) enum LikePattern {
    Fixed(Arc<Regex>),
    Dynamic { pattern: Box<Node>, escape: Option<char> },
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Literal(v) => write!(f, "Literal({v:?})"),
            Node::Column(i) => write!(f, "Column({i})"),
            Node::Call { name, args, .. } => f.debug_struct("Call").field("name", name).field("args", args).finish(),
            _ => f.write_str("Node(..)"),
        }
    }
}

/// `LIKE` pattern text to an anchored regex: `%` any run, `_` one character, `escape` quotes.
pub(crate) fn like_regex(pattern: &str, escape: Option<char>) -> Result<Regex> {
    let mut re = String::from("(?s)^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(n) => re.push_str(&regex::escape(&n.to_string())),
                None => return eval_err!("LIKE pattern must not end with escape character"),
            }
        } else if c == '%' {
            re.push_str(".*");
        } else if c == '_' {
            re.push('.');
        } else {
            re.push_str(&regex::escape(&c.to_string()));
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| crate::Error::Eval(format!("bad LIKE pattern: {e}")))
}

fn boolean(v: Value) -> Result<Option<bool>> {
    match v {
        Value::Null => Ok(None),
        Value::Boolean(b) => Ok(Some(b)),
        other => eval_err!("expected a BOOLEAN, got {}", super::cast::value_kind(&other)),
    }
}

fn opt_bool(b: Option<bool>) -> Value {
    b.map_or(Value::Null, Value::Boolean)
}

/// SQL comparison of two values of the same type; `None` when unordered (NaN).
pub(crate) fn sql_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x.partial_cmp(y),
        _ => Some(a.total_cmp(b)),
    }
}

/// At most this many failed calls are kept per evaluation (the rest are counted out).
const MAX_CALL_ERRORS: usize = 8;

thread_local! {
    /// Failed function calls of the current evaluation ([`take_call_errors`]).
    static CALL_ERRORS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn report_call_error(message: String) {
    CALL_ERRORS.with(|e| {
        let mut e = e.borrow_mut();
        if e.len() < MAX_CALL_ERRORS {
            e.push(message);
        }
    });
}

/// Forgets the failed calls reported so far on this thread.
pub(crate) fn clear_call_errors() {
    CALL_ERRORS.with(|e| e.borrow_mut().clear());
}

/// The failed function calls reported on this thread since [`clear_call_errors`].
pub(crate) fn take_call_errors() -> Vec<String> {
    CALL_ERRORS.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

impl Node {
    /// Evaluates against a row and the current lambda variables.
    pub(crate) fn eval(&self, row: &[Value], vars: &[Value]) -> Result<Value> {
        match self {
            Node::Literal(_) | Node::Column(_) => self.eval_ref(row, vars).map(Cow::into_owned),
            // Trees may be 1,000 deep (the parser's limit): grow the stack instead of overflowing it.
            _ => stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.eval_inner(row, vars)),
        }
    }

    /// [`Self::eval`] without copying a column's or literal's value.
    fn eval_ref<'a>(&'a self, row: &'a [Value], vars: &[Value]) -> Result<Cow<'a, Value>> {
        match self {
            Node::Literal(v) => Ok(Cow::Borrowed(v)),
            Node::Column(i) => match row.get(*i) {
                Some(v) => Ok(Cow::Borrowed(v)),
                None => eval_err!("row has {} columns, expression reads column {i}", row.len()),
            },
            _ => self.eval(row, vars).map(Cow::Owned),
        }
    }

    fn eval_inner(&self, row: &[Value], vars: &[Value]) -> Result<Value> {
        Ok(match self {
            Node::Literal(v) => v.clone(),
            Node::Column(i) => match row.get(*i) {
                Some(v) => v.clone(),
                None => return eval_err!("row has {} columns, expression reads column {i}", row.len()),
            },
            Node::Var(i) => vars.get(*i).cloned().unwrap_or(Value::Null),
            Node::Field { base, index } => match base.eval_ref(row, vars)?.as_ref() {
                Value::Struct(fields) => fields.get(*index).map_or(Value::Null, |(_, v)| v.clone()),
                _ => Value::Null,
            },
            Node::Index { base, index } => match (base.eval(row, vars)?, index.eval(row, vars)?) {
                (Value::Array(mut items), Value::Int(i)) => match array_position(items.len(), i64::from(i)) {
                    Some(p) => items.swap_remove(p),
                    None => Value::Null,
                },
                _ => Value::Null,
            },
            Node::Key { base, key } => match (base.eval(row, vars)?, key.eval(row, vars)?) {
                (Value::Map(entries), k) if !k.is_null() => entries.into_iter().find(|(ek, _)| *ek == k).map_or(Value::Null, |(_, v)| v),
                _ => Value::Null,
            },
            Node::Neg(e) => match e.eval(row, vars)? {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::BigInt(i) => Value::BigInt(i.wrapping_neg()),
                Value::Double(d) => Value::Double(-d),
                Value::Decimal(d) => Value::Decimal(crate::Decimal { unscaled: d.unscaled.wrapping_neg(), ..d }),
                other => other,
            },
            Node::Not(e) => opt_bool(boolean(e.eval(row, vars)?)?.map(|b| !b)),
            Node::Arith { op, ty, left, right } => {
                let l = left.eval(row, vars)?;
                if l.is_null() {
                    return Ok(Value::Null);
                }
                let r = right.eval(row, vars)?;
                arith(*op, ty, l, r)?
            }
            Node::Compare { op, left, right } => {
                let (l, r) = (left.eval_ref(row, vars)?, right.eval_ref(row, vars)?);
                // ksqlDB: a comparison with a NULL operand is FALSE, not NULL.
                if l.is_null() || r.is_null() {
                    return Ok(Value::Boolean(false));
                }
                Value::Boolean(op.holds(sql_cmp(&l, &r)))
            }
            Node::And(a, b) => match boolean(a.eval(row, vars)?)? {
                Some(false) => Value::Boolean(false),
                l => match (l, boolean(b.eval(row, vars)?)?) {
                    (_, Some(false)) => Value::Boolean(false),
                    (Some(true), Some(true)) => Value::Boolean(true),
                    _ => Value::Null,
                },
            },
            Node::Or(a, b) => match boolean(a.eval(row, vars)?)? {
                Some(true) => Value::Boolean(true),
                l => match (l, boolean(b.eval(row, vars)?)?) {
                    (_, Some(true)) => Value::Boolean(true),
                    (Some(false), Some(false)) => Value::Boolean(false),
                    _ => Value::Null,
                },
            },
            Node::Concat(a, b) => match (a.eval(row, vars)?, b.eval(row, vars)?) {
                (Value::String(x), Value::String(y)) => Value::String(x + &y),
                (Value::Bytes(mut x), Value::Bytes(y)) => {
                    x.extend(y);
                    Value::Bytes(x)
                }
                _ => Value::Null,
            },
            Node::IsNull { expr, negated } => Value::Boolean(expr.eval_ref(row, vars)?.is_null() != *negated),
            Node::Distinct { left, right, negated } => {
                let (l, r) = (left.eval_ref(row, vars)?, right.eval_ref(row, vars)?);
                let same = match (l.is_null(), r.is_null()) {
                    (true, true) => true,
                    (false, false) => sql_cmp(&l, &r) == Some(Ordering::Equal),
                    _ => false,
                };
                Value::Boolean(same == *negated)
            }
            Node::Like { expr, pattern, negated } => {
                let v = expr.eval_ref(row, vars)?;
                let Value::String(s) = v.as_ref() else { return Ok(Value::Null) };
                let matched = match pattern {
                    LikePattern::Fixed(re) => re.is_match(s),
                    LikePattern::Dynamic { pattern, escape } => match pattern.eval(row, vars)? {
                        Value::String(p) => like_regex(&p, *escape)?.is_match(s),
                        _ => return Ok(Value::Null),
                    },
                };
                Value::Boolean(matched != *negated)
            }
            Node::InList { expr, list, negated } => {
                let v = expr.eval(row, vars)?;
                let mut found = false;
                if !v.is_null() {
                    for item in list {
                        let c = item.eval(row, vars)?;
                        if !c.is_null() && sql_cmp(&v, &c) == Some(Ordering::Equal) {
                            found = true;
                            break;
                        }
                    }
                }
                Value::Boolean(found != *negated)
            }
            Node::Case { whens, otherwise } => {
                for (cond, then) in whens {
                    if boolean(cond.eval(row, vars)?)? == Some(true) {
                        return then.eval(row, vars);
                    }
                }
                otherwise.eval(row, vars)?
            }
            Node::Cast { expr, to } => super::cast::cast(expr.eval(row, vars)?, to)?,
            Node::Call { name, imp, nulls, ret, args } => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    let v = a.eval(row, vars)?;
                    if v.is_null() && *nulls == Nulls::Strict {
                        return Ok(Value::Null);
                    }
                    values.push(v);
                }
                // ksqlDB: a function that fails returns `NULL` from that call only (an
                // enclosing `IFNULL` or `COALESCE` still applies); the failure is reported.
                match imp(&values, ret) {
                    Ok(v) => v,
                    Err(crate::Error::Eval(m)) => {
                        report_call_error(format!("Error computing {name}: {m}"));
                        Value::Null
                    }
                    Err(other) => return Err(other),
                }
            }
            Node::MakeArray(items) => Value::Array(items.iter().map(|n| n.eval(row, vars)).collect::<Result<_>>()?),
            Node::MakeMap(entries) => {
                let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let (k, v) = (k.eval(row, vars)?, v.eval(row, vars)?);
                    match out.iter_mut().find(|(ek, _)| *ek == k) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k, v)),
                    }
                }
                Value::Map(out)
            }
            Node::MakeStruct(fields) => Value::Struct(fields.iter().map(|(n, e)| Ok((n.clone(), e.eval(row, vars)?))).collect::<Result<_>>()?),
            Node::Lambda { kind, base, init, bodies, depth } => {
                let base = base.eval(row, vars)?;
                let init = match init {
                    Some(i) => i.eval(row, vars)?,
                    None => Value::Null,
                };
                lambda::apply(*kind, base, init, bodies, &vars[..(*depth).min(vars.len())], |body, vars| body.eval(row, vars))?
            }
        })
    }
}

impl Node {
    /// Calls `f` on this node and every node below it.
    pub(crate) fn visit(&self, f: &mut dyn FnMut(&Node)) {
        f(self);
        let mut go = |n: &Node| n.visit(f);
        match self {
            Node::Literal(_) | Node::Column(_) | Node::Var(_) => {}
            Node::Field { base, .. } | Node::Neg(base) | Node::Not(base) | Node::IsNull { expr: base, .. } | Node::Cast { expr: base, .. } => go(base),
            Node::Index { base, index: other } | Node::Key { base, key: other } => {
                go(base);
                go(other);
            }
            Node::Arith { left, right, .. } | Node::Compare { left, right, .. } | Node::Distinct { left, right, .. } | Node::And(left, right) | Node::Or(left, right) | Node::Concat(left, right) => {
                go(left);
                go(right);
            }
            Node::Like { expr, pattern, .. } => {
                go(expr);
                if let LikePattern::Dynamic { pattern, .. } = pattern {
                    go(pattern);
                }
            }
            Node::InList { expr, list, .. } => {
                go(expr);
                list.iter().for_each(go);
            }
            Node::Case { whens, otherwise } => {
                for (w, t) in whens {
                    go(w);
                    go(t);
                }
                go(otherwise);
            }
            Node::Call { args, .. } | Node::MakeArray(args) => args.iter().for_each(go),
            Node::MakeMap(entries) => entries.iter().for_each(|(k, v)| {
                go(k);
                go(v);
            }),
            Node::MakeStruct(fields) => fields.iter().for_each(|(_, v)| go(v)),
            Node::Lambda { base, init, bodies, .. } => {
                go(base);
                if let Some(i) = init {
                    go(i);
                }
                bodies.iter().for_each(go);
            }
        }
    }
}

/// The 0-based position of SQL index `i` (1-based, negative from the end) in `len` items.
pub(crate) fn array_position(len: usize, i: i64) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let p = if i > 0 { i - 1 } else if i < 0 { len + i } else { return None };
    (0..len).contains(&p).then_some(p as usize)
}

/// Java's integer arithmetic: wrapping, `/ by zero` for division and remainder by zero.
macro_rules! int_op {
    ($op:expr, $a:expr, $b:expr) => {
        match $op {
            ArithOp::Add => $a.wrapping_add($b),
            ArithOp::Sub => $a.wrapping_sub($b),
            ArithOp::Mul => $a.wrapping_mul($b),
            ArithOp::Div | ArithOp::Mod if $b == 0 => return eval_err!("/ by zero"),
            ArithOp::Div => $a.wrapping_div($b),
            ArithOp::Mod => $a.wrapping_rem($b),
        }
    };
}

/// `l op r` for values already of the operation's type (Java semantics: integers wrap,
/// integer division by zero fails, doubles follow IEEE 754).
pub(crate) fn arith(op: ArithOp, ty: &SqlType, l: Value, r: Value) -> Result<Value> {
    Ok(match (l, r) {
        (Value::Null, _) | (_, Value::Null) => Value::Null,
        (Value::Int(a), Value::Int(b)) => Value::Int(int_op!(op, a, b)),
        (Value::BigInt(a), Value::BigInt(b)) => Value::BigInt(int_op!(op, a, b)),
        (Value::Double(a), Value::Double(b)) => Value::Double(match op {
            ArithOp::Add => a + b,
            ArithOp::Sub => a - b,
            ArithOp::Mul => a * b,
            ArithOp::Div => a / b,
            ArithOp::Mod => a % b,
        }),
        (Value::Decimal(a), Value::Decimal(b)) => match ty {
            SqlType::Decimal { precision, scale } => Value::Decimal(decimal::arith(op.symbol(), &a, &b, *precision, *scale)?),
            _ => return eval_err!("decimal arithmetic with result type {ty}"),
        },
        (l, r) => return eval_err!("cannot apply {} to {} and {}", op.symbol(), super::cast::value_kind(&l), super::cast::value_kind(&r)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_positions() {
        assert_eq!(array_position(3, 1), Some(0));
        assert_eq!(array_position(3, -1), Some(2));
        assert_eq!(array_position(3, 0), None);
        assert_eq!(array_position(3, 4), None);
        assert_eq!(array_position(3, -4), None);
    }

    #[test]
    fn like_patterns() {
        assert!(like_regex("a%c", None).unwrap().is_match("abbbc"));
        assert!(like_regex("a_c", None).unwrap().is_match("abc"));
        assert!(!like_regex("a_c", None).unwrap().is_match("abbc"));
        assert!(like_regex("100!%", Some('!')).unwrap().is_match("100%"));
        assert!(!like_regex("100!%", Some('!')).unwrap().is_match("1000"));
        assert!(like_regex("a.c", None).unwrap().is_match("a.c"));
        assert!(!like_regex("a.c", None).unwrap().is_match("abc"));
        assert!(like_regex("x!", Some('!')).is_err());
    }

    #[test]
    fn java_integer_semantics() {
        assert_eq!(arith(ArithOp::Add, &SqlType::Int, Value::Int(i32::MAX), Value::Int(1)).unwrap(), Value::Int(i32::MIN));
        assert!(arith(ArithOp::Div, &SqlType::BigInt, Value::BigInt(1), Value::BigInt(0)).is_err());
        assert_eq!(arith(ArithOp::Mod, &SqlType::Int, Value::Int(-7), Value::Int(3)).unwrap(), Value::Int(-1));
        assert_eq!(arith(ArithOp::Div, &SqlType::Int, Value::Int(i32::MIN), Value::Int(-1)).unwrap(), Value::Int(i32::MIN));
        assert!(matches!(arith(ArithOp::Div, &SqlType::Double, Value::Double(1.0), Value::Double(0.0)).unwrap(), Value::Double(d) if d.is_infinite()));
    }
}
