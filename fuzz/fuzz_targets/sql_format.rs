//! Fuzzes the record formats: arbitrary bytes decoded as JSON, DELIMITED, KAFKA or NONE with a
//! schema chosen by the first bytes; decoding yields a row or an error, never a panic, and every
//! decoded row round-trips through the internal serde (`brook_sql_engine::format::fuzz_one`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| brook_sql_engine::format::fuzz_one(data));
