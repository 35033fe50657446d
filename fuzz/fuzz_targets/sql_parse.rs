//! Fuzzes the SQL front door: statement scripts, single expressions and `${var}` substitution
//! never panic (nor overflow the stack), and every statement the parser splits out re-parses on
//! its own, from its own text, to the same tree.
#![no_main]

use std::collections::HashMap;

use brook_sql_engine::parser::{parse, parse_expression, substitute_variables};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    if let Ok(statements) = parse(sql) {
        for s in statements {
            let again = parse(&s.text).unwrap_or_else(|e| panic!("{:?} re-parses with {e}", s.text));
            assert_eq!(again.len(), 1, "{:?}", s.text);
            assert_eq!(again[0].statement, s.statement, "{:?}", s.text);
        }
    }
    let _ = parse_expression(sql);
    let vars: HashMap<String, String> = [("a", "1"), ("b", "x"), ("c", "'it''s'"), ("d", "${a}")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Ok(substituted) = substitute_variables(sql, &vars) {
        let _ = parse(&substituted);
    }
});
