//! Regular expression functions (ksqlDB's `udf/regexp`). Patterns use the `regex` crate's
//! syntax, which matches Java's for everything but look-around and back-references; an
//! unsupported pattern fails the record. Compiled patterns are cached per thread.

use std::cell::RefCell;
use std::collections::HashMap;

use brook_common::javaregex::java_replacement;
use regex::Regex;

use super::api::Nulls;
use super::args::{int, string};
use super::registry::FunctionRegistry;
use crate::value::{SqlType, Value};
use crate::{Error, Result};

const CAT: &str = "REGULAR EXPRESSION";
const CACHE_LIMIT: usize = 256;

pub(crate) fn register(r: &mut FunctionRegistry) {
    use Nulls::*;
    r.scalar("REGEXP_EXTRACT", CAT, "The first match of a pattern (or of one of its groups): REGEXP_EXTRACT(pattern, input[, group]).", &["(STRING, STRING) -> STRING", "(STRING, STRING, INT) -> STRING"], Strict, extract);
    r.scalar("REGEXP_EXTRACT_ALL", CAT, "Every match of a pattern (or of one of its groups): REGEXP_EXTRACT_ALL(pattern, input[, group]).", &["(STRING, STRING) -> ARRAY<STRING>", "(STRING, STRING, INT) -> ARRAY<STRING>"], Strict, extract_all);
    r.scalar("REGEXP_REPLACE", CAT, "Replaces every match of a pattern: REGEXP_REPLACE(input, pattern, replacement); $1 refers to groups.", &["(STRING, STRING, STRING) -> STRING"], Strict, replace);
    r.scalar("REGEXP_SPLIT_TO_ARRAY", CAT, "Splits a string at the matches of a pattern.", &["(STRING, STRING) -> ARRAY<STRING>"], Strict, split);
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// The compiled pattern, from the per-thread cache.
pub(crate) fn compiled(pattern: &str) -> Result<Regex> {
    CACHE.with(|cache| {
        if let Some(re) = cache.borrow().get(pattern) {
            return Ok(re.clone());
        }
        let re = Regex::new(pattern).map_err(|e| Error::Eval(format!("invalid regular expression '{pattern}': {e}")))?;
        let mut c = cache.borrow_mut();
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
        Ok(re)
    })
}

fn group(a: &[Value]) -> Result<usize> {
    if a.len() < 3 {
        return Ok(0);
    }
    let g = int(a, 2)?;
    usize::try_from(g).map_err(|_| Error::Eval(format!("regular expression group {g} is negative")))
}

fn extract(a: &[Value], _: &SqlType) -> Result<Value> {
    let re = compiled(string(a, 0)?)?;
    let g = group(a)?;
    Ok(re.captures(string(a, 1)?).and_then(|c| c.get(g)).map_or(Value::Null, |m| Value::String(m.as_str().to_string())))
}

fn extract_all(a: &[Value], _: &SqlType) -> Result<Value> {
    let re = compiled(string(a, 0)?)?;
    let g = group(a)?;
    let found = re.captures_iter(string(a, 1)?).map(|c| c.get(g).map_or(Value::Null, |m| Value::String(m.as_str().to_string()))).collect();
    Ok(Value::Array(found))
}

fn replace(a: &[Value], _: &SqlType) -> Result<Value> {
    let re = compiled(string(a, 1)?)?;
    Ok(Value::String(re.replace_all(string(a, 0)?, java_replacement(string(a, 2)?).as_str()).into_owned()))
}

fn split(a: &[Value], _: &SqlType) -> Result<Value> {
    let (s, p) = (string(a, 0)?, string(a, 1)?);
    if p.is_empty() {
        return Ok(Value::Array(s.chars().map(|c| Value::String(c.to_string())).collect()));
    }
    let re = compiled(p)?;
    Ok(Value::Array(re.split(s).map(|x| Value::String(x.to_string())).collect()))
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_group_references() {
        assert_eq!(java_replacement("$1-$2x"), "${1}-${2}x");
        assert_eq!(java_replacement("\\$1"), "$$1");
    }
}
