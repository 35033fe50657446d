//! Function signatures as written in the registry (`"(ARRAY<T>, INT) -> T"`, `"(STRING...) ->
//! STRING"`) and the overload resolution over them: exact matches first, then ksqlDB's implicit
//! numeric widening (`INT` -> `BIGINT` -> `DECIMAL` -> `DOUBLE`), generics bound to the common
//! type of their arguments.

use std::collections::HashMap;

use crate::expr::types::{common_type, widening_cost};
use crate::value::SqlType;
use crate::{analysis_err, Result};

/// One parameter or return type pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pat {
    Exact(SqlType),
    /// `DECIMAL`: any precision and scale.
    AnyDecimal,
    /// A type variable: `T`, `U`, `K`, `V`, `S`.
    Generic(char),
    Array(Box<Pat>),
    Map(Box<Pat>, Box<Pat>),
    /// `STRUCT`: any struct.
    AnyStruct,
    /// `ANY`: any type, not bound.
    Any,
}

/// A parsed signature: parameters (the last repeating when `variadic`) and the return type.
#[derive(Debug, Clone)]
pub(crate) struct Signature {
    pub(crate) params: Vec<Pat>,
    pub(crate) variadic: bool,
    pub(crate) ret: Pat,
    pub(crate) text: String,
}

/// How one call matched a signature: what each argument converts to, and the bound return type.
#[derive(Debug, Clone)]
pub(crate) struct Matched {
    pub(crate) arg_types: Vec<Option<SqlType>>,
    pub(crate) ret: Option<SqlType>,
    pub(crate) cost: u32,
}

impl Signature {
    /// Parses `"(P1, P2...) -> R"`.
    pub(crate) fn parse(text: &str) -> Result<Signature> {
        let Some((params, ret)) = text.split_once("->") else {
            return analysis_err!("bad signature \"{text}\": missing \"->\"");
        };
        let params = params.trim().strip_prefix('(').and_then(|p| p.strip_suffix(')')).map(str::trim);
        let Some(params) = params else {
            return analysis_err!("bad signature \"{text}\": parameters must be in parentheses");
        };
        let mut variadic = false;
        let mut pats = Vec::new();
        for (i, p) in split_top(params).into_iter().enumerate() {
            let p = p.trim();
            let p = match p.strip_suffix("...") {
                Some(p) if !variadic => {
                    variadic = true;
                    p
                }
                _ if variadic => return analysis_err!("bad signature \"{text}\": only the last parameter {i} may repeat"),
                _ => p,
            };
            pats.push(parse_pat(p.trim()).ok_or_else(|| crate::Error::Analysis(format!("bad type \"{p}\" in signature \"{text}\"")))?);
        }
        let ret = parse_pat(ret.trim()).ok_or_else(|| crate::Error::Analysis(format!("bad return type in signature \"{text}\"")))?;
        Ok(Signature { params: pats, variadic, ret, text: text.to_string() })
    }

    /// The parameter list as shown by `DESCRIBE FUNCTION`.
    pub(crate) fn params_text(&self) -> String {
        let t = self.text.split_once("->").map_or("", |(p, _)| p).trim();
        t.to_string()
    }

    /// The return type as shown by `DESCRIBE FUNCTION`.
    pub(crate) fn ret_text(&self) -> String {
        self.text.split_once("->").map_or("", |(_, r)| r).trim().to_string()
    }

    /// How many parameters mention a type variable (ksqlDB prefers fewer).
    pub(crate) fn generic_count(&self) -> usize {
        fn generic(p: &Pat) -> bool {
            match p {
                Pat::Generic(_) | Pat::Any => true,
                Pat::Array(e) => generic(e),
                Pat::Map(k, v) => generic(k) || generic(v),
                _ => false,
            }
        }
        self.params.iter().filter(|p| generic(p)).count()
    }

    /// Matches argument types (`None` for an untyped `NULL`).
    pub(crate) fn matches(&self, args: &[Option<SqlType>]) -> Option<Matched> {
        let n = self.params.len();
        let arity_ok = if self.variadic { args.len() + 1 >= n } else { args.len() == n };
        if !arity_ok {
            return None;
        }
        let mut binds: HashMap<char, SqlType> = HashMap::new();
        let mut cost = 0;
        let pat_of = |i: usize| &self.params[i.min(n - 1)];
        for (i, arg) in args.iter().enumerate() {
            if let Some(t) = arg {
                cost += bind(pat_of(i), t, &mut binds)?;
            }
        }
        let arg_types = args.iter().enumerate().map(|(i, a)| target(pat_of(i), a.as_ref(), &binds)).collect();
        let ret = substitute(&self.ret, &binds);
        Some(Matched { arg_types, ret, cost })
    }
}

/// Splits at commas outside `<...>`.
fn split_top(s: &str) -> Vec<&str> {
    if s.trim().is_empty() {
        return Vec::new();
    }
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_pat(p: &str) -> Option<Pat> {
    let exact = |t| Some(Pat::Exact(t));
    match p {
        "BOOLEAN" => exact(SqlType::Boolean),
        "INT" | "INTEGER" => exact(SqlType::Int),
        "BIGINT" => exact(SqlType::BigInt),
        "DOUBLE" => exact(SqlType::Double),
        "STRING" | "VARCHAR" => exact(SqlType::String),
        "BYTES" => exact(SqlType::Bytes),
        "DATE" => exact(SqlType::Date),
        "TIME" => exact(SqlType::Time),
        "TIMESTAMP" => exact(SqlType::Timestamp),
        "DECIMAL" => Some(Pat::AnyDecimal),
        "STRUCT" => Some(Pat::AnyStruct),
        "ANY" => Some(Pat::Any),
        _ if p.len() == 1 && p.chars().all(|c| c.is_ascii_uppercase()) => p.chars().next().map(Pat::Generic),
        _ => {
            let inner = |prefix: &str| p.strip_prefix(prefix).and_then(|r| r.strip_suffix('>'));
            if let Some(e) = inner("ARRAY<") {
                return Some(Pat::Array(Box::new(parse_pat(e.trim())?)));
            }
            let kv = inner("MAP<")?;
            let parts = split_top(kv);
            let [k, v] = parts.as_slice() else { return None };
            Some(Pat::Map(Box::new(parse_pat(k.trim())?), Box::new(parse_pat(v.trim())?)))
        }
    }
}

/// Binds `t` to `pat`; returns the conversion cost or `None` when it cannot match.
fn bind(pat: &Pat, t: &SqlType, binds: &mut HashMap<char, SqlType>) -> Option<u32> {
    match (pat, t) {
        (Pat::Any, _) => Some(0),
        // ksqlDB converts a string to a DATE, TIME or TIMESTAMP parameter implicitly.
        (Pat::Exact(SqlType::Date | SqlType::Time | SqlType::Timestamp), SqlType::String) => Some(10),
        (Pat::Exact(p), t) => widening_cost(t, p),
        (Pat::AnyDecimal, SqlType::Decimal { .. }) => Some(0),
        (Pat::AnyDecimal, SqlType::Int | SqlType::BigInt) => Some(1),
        (Pat::AnyDecimal, _) => None,
        (Pat::AnyStruct, SqlType::Struct(_)) => Some(0),
        (Pat::AnyStruct, _) => None,
        (Pat::Generic(c), t) => match binds.get(c) {
            None => {
                binds.insert(*c, t.clone());
                Some(0)
            }
            Some(b) if b == t => Some(0),
            Some(b) => {
                let common = common_type(b, t)?;
                binds.insert(*c, common);
                Some(1)
            }
        },
        (Pat::Array(p), SqlType::Array(e)) => bind(p, e, binds),
        (Pat::Map(pk, pv), SqlType::Map(k, v)) => Some(bind(pk, k, binds)? + bind(pv, v, binds)?),
        _ => None,
    }
}

/// The type an argument converts to once all generics are bound.
fn target(pat: &Pat, arg: Option<&SqlType>, binds: &HashMap<char, SqlType>) -> Option<SqlType> {
    match pat {
        Pat::Any | Pat::AnyStruct => arg.cloned(),
        Pat::AnyDecimal => match arg {
            Some(SqlType::Int) => Some(SqlType::Decimal { precision: 10, scale: 0 }),
            Some(SqlType::BigInt) => Some(SqlType::Decimal { precision: 19, scale: 0 }),
            other => other.cloned(),
        },
        _ => substitute(pat, binds),
    }
}

fn substitute(pat: &Pat, binds: &HashMap<char, SqlType>) -> Option<SqlType> {
    match pat {
        Pat::Exact(t) => Some(t.clone()),
        Pat::Generic(c) => binds.get(c).cloned(),
        Pat::Array(p) => Some(SqlType::Array(Box::new(substitute(p, binds)?))),
        Pat::Map(k, v) => Some(SqlType::Map(Box::new(substitute(k, binds)?), Box::new(substitute(v, binds)?))),
        Pat::AnyDecimal | Pat::AnyStruct | Pat::Any => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_binds_to_common_type() {
        let s = Signature::parse("(T...) -> T").unwrap();
        let m = s.matches(&[Some(SqlType::Int), Some(SqlType::BigInt), None]).unwrap();
        assert_eq!(m.ret, Some(SqlType::BigInt));
        assert_eq!(m.arg_types[0], Some(SqlType::BigInt));
        assert!(s.matches(&[Some(SqlType::Int), Some(SqlType::String)]).is_none());
    }

    #[test]
    fn widening_and_arity() {
        let s = Signature::parse("(ARRAY<T>, INT) -> T").unwrap();
        let m = s.matches(&[Some(SqlType::Array(Box::new(SqlType::String))), Some(SqlType::Int)]).unwrap();
        assert_eq!(m.ret, Some(SqlType::String));
        assert!(s.matches(&[Some(SqlType::Array(Box::new(SqlType::String)))]).is_none());
        let d = Signature::parse("(DOUBLE) -> DOUBLE").unwrap();
        assert_eq!(d.matches(&[Some(SqlType::Int)]).unwrap().cost, 3);
        assert!(d.matches(&[Some(SqlType::String)]).is_none());
        assert!(Signature::parse("(FOO) -> INT").is_err());
        assert!(Signature::parse("(INT..., INT) -> INT").is_err());
    }
}
