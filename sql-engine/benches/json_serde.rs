//! The `JSON` value format on a Nexmark bid (`{"AUCTION":..,"BIDDER":..,"PRICE":..}`, three
//! `BIGINT` columns): deserializing and serializing 10,000 rows, what every record of the
//! Nexmark SQL queries (`benches/nexmark_sql.rs`) pays on its way in and out.
//!
//! ```text
//! CARGO_TARGET_DIR=$HOME/.cache/brook-target-dsl cargo bench -p brook-sql-engine --bench json_serde
//! ```

use brook_sql_engine::format::{format_for, FormatInfo, SerdeContext};
use brook_sql_engine::{Column, ColumnNamespace, Row, SqlType, Value};
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let column = |n: &str| Column { name: n.into(), ty: SqlType::BigInt, namespace: ColumnNamespace::Value };
    let columns = [column("AUCTION"), column("BIDDER"), column("PRICE")];
    let serde = format_for(&FormatInfo::of("JSON")).expect("format").row_serde(&columns, false).expect("serde");
    let records: Vec<Vec<u8>> =
        (0..10_000i64).map(|i| format!(r#"{{"AUCTION":{},"BIDDER":{},"PRICE":{}}}"#, 1000 + i % 97, i % 1000, 1 + i * 7919 % 10_000).into_bytes()).collect();
    let rows: Vec<Row> = (0..10_000i64).map(|i| vec![Value::BigInt(1000 + i % 97), Value::BigInt(i % 1000), Value::BigInt(1 + i * 7919 % 10_000)]).collect();
    let ctx = SerdeContext::value("bid");
    let mut g = c.benchmark_group("json_bid_10k");
    g.bench_function("deserialize", |b| {
        b.iter(|| records.iter().map(|r| serde.deserialize(Some(r), &ctx).expect("row").map_or(0, |r| r.len())).sum::<usize>())
    });
    g.bench_function("serialize", |b| {
        b.iter(|| rows.iter().map(|r| serde.serialize(r, &ctx).expect("bytes").map_or(0, |b| b.len())).sum::<usize>())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
