//! Row-at-a-time versus columnar (Arrow) evaluation of a stateless filter and projection over
//! 10,000 rows: `A * 2 + B > 100 AND D < 500.0` and `A * 2 + B`.

use brook_sql_engine::expr::vector::rows_to_batch;
use brook_sql_engine::expr::{compile, Scope, ScopeColumn};
use brook_sql_engine::function::FunctionRegistry;
use brook_sql_engine::parser::ast::{BinaryOp, Expr, Literal};
use brook_sql_engine::{Row, SqlType, Value};
use criterion::{criterion_group, criterion_main, Criterion};

fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary { op, left: Box::new(l), right: Box::new(r) }
}

fn col(n: &str) -> Expr {
    Expr::Column { source: None, name: n.into() }
}

fn bench(c: &mut Criterion) {
    let column = |n: &str, ty| ScopeColumn { qualifier: None, name: n.into(), ty };
    let scope = Scope::new(vec![column("A", SqlType::Int), column("B", SqlType::BigInt), column("D", SqlType::Double)]);
    let rows: Vec<Row> = (0..10_000i32).map(|i| vec![Value::Int(i % 97), Value::BigInt(i64::from(i) % 31), Value::Double(f64::from(i) / 10.0)]).collect();
    let batch = rows_to_batch(&scope, &rows).expect("batch");
    let registry = FunctionRegistry::new();
    let projection = bin(BinaryOp::Add, bin(BinaryOp::Mul, col("A"), Expr::Literal(Literal::Int(2))), col("B"));
    let predicate = bin(BinaryOp::And, bin(BinaryOp::Gt, projection.clone(), Expr::Literal(Literal::Int(100))), bin(BinaryOp::Lt, col("D"), Expr::Literal(Literal::Double(500.0))));
    let filter = compile(&predicate, &scope, &registry, &|_| None).expect("compile");
    let project = compile(&projection, &scope, &registry, &|_| None).expect("compile");

    let mut g = c.benchmark_group("filter_10k");
    g.bench_function("rows", |b| b.iter(|| rows.iter().filter(|r| matches!(filter.eval(r), Ok(Value::Boolean(true)))).count()));
    g.bench_function("arrow_batch", |b| b.iter(|| filter.filter_batch(&batch).expect("filter").len()));
    g.bench_function("arrow_batch_with_conversion", |b| b.iter(|| filter.filter_batch(&rows_to_batch(&scope, &rows).expect("batch")).expect("filter").len()));
    g.finish();

    let mut g = c.benchmark_group("project_10k");
    g.bench_function("rows", |b| b.iter(|| rows.iter().map(|r| project.eval(r).expect("eval")).collect::<Vec<_>>()));
    g.bench_function("arrow_batch", |b| b.iter(|| project.eval_batch(&batch).expect("eval")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
