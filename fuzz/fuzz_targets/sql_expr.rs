//! Fuzzes expression compilation and evaluation: any expression text parses, type-checks and
//! evaluates (on an empty row) to a value or an error, never a panic, overflow or stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = brook_sql_engine::expr::fuzz_eval_text(text);
});
