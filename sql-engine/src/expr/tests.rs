//! Expression tests over hand-built ASTs: columns and scopes, arithmetic, logic, CASE, CAST,
//! subscripts, constructors, lambdas, and the analysis errors.

use super::*;
use crate::parser::ast::{AstType, BinaryOp, Literal, UnaryOp};
use crate::value::Decimal;

fn col(name: &str) -> Expr {
    Expr::Column { source: None, name: name.into() }
}
fn qcol(source: &str, name: &str) -> Expr {
    Expr::Column { source: Some(source.into()), name: name.into() }
}
fn int(i: i32) -> Expr {
    Expr::Literal(Literal::Int(i))
}
fn big(i: i64) -> Expr {
    Expr::Literal(Literal::BigInt(i))
}
fn dec(s: &str) -> Expr {
    Expr::Literal(Literal::Decimal(s.into()))
}
fn dbl(d: f64) -> Expr {
    Expr::Literal(Literal::Double(d))
}
fn s(v: &str) -> Expr {
    Expr::Literal(Literal::String(v.into()))
}
fn null() -> Expr {
    Expr::Literal(Literal::Null)
}
fn boolean(b: bool) -> Expr {
    Expr::Literal(Literal::Boolean(b))
}
fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary { op, left: Box::new(l), right: Box::new(r) }
}
fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function { name: name.into(), args, distinct: false }
}
fn cast(e: Expr, ty: AstType) -> Expr {
    Expr::Cast { expr: Box::new(e), ty }
}
fn lambda(params: &[&str], body: Expr) -> Expr {
    Expr::Lambda { params: params.iter().map(|p| p.to_string()).collect(), body: Box::new(body) }
}
fn sv(v: &str) -> Value {
    Value::String(v.into())
}
fn decv(u: i128, p: u8, sc: u8) -> Value {
    Value::Decimal(Decimal { unscaled: u, precision: p, scale: sc })
}

/// Columns: A INT, B BIGINT, S STRING, D DOUBLE, ARR ARRAY<INT>, M MAP<STRING, INT>,
/// ST STRUCT<X INT, Y STRING>, N INT (always null), T.ID INT, U.ID INT.
fn scope() -> Scope {
    let c = |q: Option<&str>, n: &str, ty: SqlType| ScopeColumn { qualifier: q.map(String::from), name: n.into(), ty };
    Scope::new(vec![
        c(Some("T"), "A", SqlType::Int),
        c(Some("T"), "B", SqlType::BigInt),
        c(Some("T"), "S", SqlType::String),
        c(Some("T"), "D", SqlType::Double),
        c(Some("T"), "ARR", SqlType::Array(Box::new(SqlType::Int))),
        c(Some("T"), "M", SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int))),
        c(Some("T"), "ST", SqlType::Struct(vec![("X".into(), SqlType::Int), ("Y".into(), SqlType::String)])),
        c(Some("T"), "N", SqlType::Int),
        c(Some("T"), "ID", SqlType::Int),
        c(Some("U"), "ID", SqlType::Int),
    ])
}

fn row() -> Vec<Value> {
    vec![
        Value::Int(7),
        Value::BigInt(10),
        sv("hello"),
        Value::Double(2.5),
        Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
        Value::Map(vec![(sv("k"), Value::Int(5))]),
        Value::Struct(vec![("X".into(), Value::Int(9)), ("Y".into(), sv("why"))]),
        Value::Null,
        Value::Int(100),
        Value::Int(200),
    ]
}

fn compiled(e: &Expr) -> CompiledExpr {
    compile(e, &scope(), &FunctionRegistry::new(), &|_| None).unwrap_or_else(|err| panic!("{e:?}: {err}"))
}

fn eval(e: &Expr) -> Value {
    compiled(e).eval(&row()).unwrap_or_else(|err| panic!("{e:?}: {err}"))
}

fn analysis_error(e: &Expr) -> String {
    match compile(e, &scope(), &FunctionRegistry::new(), &|_| None) {
        Err(crate::Error::Analysis(m)) => m,
        other => panic!("expected an analysis error for {e:?}, got {other:?}"),
    }
}

#[test]
fn columns_resolve_by_qualifier_or_unique_name() {
    assert_eq!(eval(&col("A")), Value::Int(7));
    assert_eq!(eval(&qcol("U", "ID")), Value::Int(200));
    assert_eq!(analysis_error(&col("ID")), "Column 'ID' is ambiguous. Could be any of: T.ID, U.ID");
    assert_eq!(analysis_error(&col("NOPE")), "Column 'NOPE' cannot be resolved.");
    assert_eq!(analysis_error(&qcol("U", "A")), "Column 'U.A' cannot be resolved.");
}

#[test]
fn arithmetic_types_and_java_overflow() {
    let e = bin(BinaryOp::Add, col("A"), col("B"));
    assert_eq!(compiled(&e).ty(), &SqlType::BigInt);
    assert_eq!(eval(&e), Value::BigInt(17));
    assert_eq!(eval(&bin(BinaryOp::Add, int(i32::MAX), int(1))), Value::Int(i32::MIN));
    assert_eq!(eval(&bin(BinaryOp::Mul, big(i64::MAX), big(2))), Value::BigInt(-2));
    assert_eq!(eval(&bin(BinaryOp::Div, col("A"), int(2))), Value::Int(3));
    assert_eq!(eval(&bin(BinaryOp::Mod, col("A"), int(4))), Value::Int(3));
    assert_eq!(eval(&bin(BinaryOp::Mul, col("A"), col("D"))), Value::Double(17.5));
    assert_eq!(eval(&bin(BinaryOp::Add, col("N"), int(1))), Value::Null);
    let zero = compiled(&bin(BinaryOp::Div, col("A"), int(0))).eval(&row());
    assert!(matches!(zero, Err(crate::Error::Eval(m)) if m == "/ by zero"));
    assert!(matches!(eval(&bin(BinaryOp::Div, col("D"), dbl(0.0))), Value::Double(d) if d.is_infinite()));
    assert_eq!(eval(&Expr::Unary { op: UnaryOp::Neg, expr: Box::new(col("A")) }), Value::Int(-7));
    assert!(analysis_error(&bin(BinaryOp::Add, col("S"), col("A"))).contains("Unsupported arithmetic types. STRING INTEGER"));
}

#[test]
fn decimal_arithmetic_uses_ksqldb_result_types() {
    let e = bin(BinaryOp::Add, dec("1.25"), dec("10.5"));
    assert_eq!(compiled(&e).ty(), &SqlType::Decimal { precision: 5, scale: 2 });
    assert_eq!(eval(&e), decv(1175, 5, 2));
    let e = bin(BinaryOp::Div, dec("1.0"), int(4));
    assert_eq!(compiled(&e).ty(), &SqlType::Decimal { precision: 13, scale: 12 });
    assert_eq!(eval(&e), decv(250_000_000_000, 13, 12));
    assert!(compiled(&bin(BinaryOp::Div, dec("1.0"), int(3))).eval(&row()).is_err(), "inexact decimal division fails as in ksqlDB");
    let e = bin(BinaryOp::Mul, col("A"), dec("0.5"));
    assert_eq!(compiled(&e).ty(), &SqlType::Decimal { precision: 12, scale: 1 });
    assert_eq!(eval(&e), decv(35, 12, 1));
    assert_eq!(eval(&bin(BinaryOp::Add, dec("1.5"), col("D"))), Value::Double(4.0));
    assert!(compiled(&bin(BinaryOp::Div, dec("1.0"), dec("0.0"))).eval(&row()).is_err());
}

#[test]
fn comparisons_widen_and_treat_null_as_false() {
    assert_eq!(eval(&bin(BinaryOp::Lt, col("A"), col("B"))), Value::Boolean(true));
    assert_eq!(eval(&bin(BinaryOp::Eq, col("A"), dec("7.00"))), Value::Boolean(true));
    assert_eq!(eval(&bin(BinaryOp::GtEq, col("D"), int(3))), Value::Boolean(false));
    // ksqlDB: a comparison with a NULL operand is FALSE, not NULL.
    assert_eq!(eval(&bin(BinaryOp::Eq, col("N"), int(3))), Value::Boolean(false));
    assert_eq!(eval(&bin(BinaryOp::Gt, col("S"), s("goodbye"))), Value::Boolean(true));
    assert!(analysis_error(&bin(BinaryOp::Eq, col("S"), col("A"))).starts_with("Cannot compare S (STRING) to A (INTEGER) with EQUAL."));
    let ts_scope = Scope::new(vec![ScopeColumn { qualifier: None, name: "TS".into(), ty: SqlType::Timestamp }]);
    let e = bin(BinaryOp::Gt, col("TS"), s("2020-01-01T00:00:00"));
    let c = compile(&e, &ts_scope, &FunctionRegistry::new(), &|_| None).unwrap();
    assert_eq!(c.eval(&[Value::Timestamp(1_600_000_000_000)]).unwrap(), Value::Boolean(true));
}

#[test]
fn three_valued_logic() {
    let n = || Expr::Cast { expr: Box::new(null()), ty: AstType::Boolean };
    assert_eq!(eval(&bin(BinaryOp::And, n(), boolean(false))), Value::Boolean(false));
    assert_eq!(eval(&bin(BinaryOp::And, n(), boolean(true))), Value::Null);
    assert_eq!(eval(&bin(BinaryOp::Or, n(), boolean(true))), Value::Boolean(true));
    assert_eq!(eval(&bin(BinaryOp::Or, n(), boolean(false))), Value::Null);
    assert_eq!(eval(&Expr::Unary { op: UnaryOp::Not, expr: Box::new(n()) }), Value::Null);
    assert_eq!(eval(&Expr::IsNull { expr: Box::new(col("N")), negated: false }), Value::Boolean(true));
    assert_eq!(eval(&Expr::IsNull { expr: Box::new(col("A")), negated: true }), Value::Boolean(true));
    let distinct = |l, r, negated| Expr::IsDistinctFrom { left: Box::new(l), right: Box::new(r), negated };
    assert_eq!(eval(&distinct(col("N"), null(), false)), Value::Boolean(false));
    assert_eq!(eval(&distinct(col("N"), int(1), false)), Value::Boolean(true));
    assert_eq!(eval(&distinct(col("A"), big(7), true)), Value::Boolean(true));
    assert!(analysis_error(&bin(BinaryOp::And, col("A"), boolean(true))).contains("BOOLEAN"));
}

#[test]
fn like_between_in() {
    let like = |p: &str, escape| Expr::Like { expr: Box::new(col("S")), pattern: Box::new(s(p)), escape, negated: false };
    assert_eq!(eval(&like("h%o", None)), Value::Boolean(true));
    assert_eq!(eval(&like("h_llo", None)), Value::Boolean(true));
    assert_eq!(eval(&like("H%", None)), Value::Boolean(false));
    assert_eq!(eval(&like("hello!%", Some('!'))), Value::Boolean(false));
    let between = |low, high, negated| Expr::Between { expr: Box::new(col("A")), low: Box::new(low), high: Box::new(high), negated };
    assert_eq!(eval(&between(int(1), dec("7.0"), false)), Value::Boolean(true));
    assert_eq!(eval(&between(int(8), int(9), true)), Value::Boolean(true));
    assert_eq!(eval(&between(null(), int(9), false)), Value::Boolean(false));
    let in_list = |e, list, negated| Expr::InList { expr: Box::new(e), list, negated };
    assert_eq!(eval(&in_list(col("A"), vec![int(1), big(7)], false)), Value::Boolean(true));
    assert_eq!(eval(&in_list(col("A"), vec![int(1), null()], false)), Value::Boolean(false));
    assert_eq!(eval(&in_list(col("N"), vec![int(1)], false)), Value::Boolean(false));
    assert_eq!(eval(&in_list(col("S"), vec![s("x")], true)), Value::Boolean(true));
}

#[test]
fn case_expressions() {
    let searched = Expr::Case {
        operand: None,
        when_then: vec![(bin(BinaryOp::Gt, col("A"), int(10)), s("big")), (bin(BinaryOp::Gt, col("A"), int(5)), s("medium"))],
        else_result: Some(Box::new(s("small"))),
    };
    assert_eq!(eval(&searched), sv("medium"));
    let simple = Expr::Case { operand: Some(Box::new(col("A"))), when_then: vec![(int(1), int(10)), (int(7), big(70))], else_result: None };
    assert_eq!(compiled(&simple).ty(), &SqlType::BigInt);
    assert_eq!(eval(&simple), Value::BigInt(70));
    let no_match = Expr::Case { operand: Some(Box::new(col("A"))), when_then: vec![(int(1), int(10))], else_result: None };
    assert_eq!(eval(&no_match), Value::Null);
    let mixed = Expr::Case { operand: None, when_then: vec![(boolean(true), int(1))], else_result: Some(Box::new(s("x"))) };
    assert!(analysis_error(&mixed).starts_with("Invalid Case expression"));
}

#[test]
fn casts_between_primitives_and_strings() {
    assert_eq!(eval(&cast(col("A"), AstType::String)), sv("7"));
    assert_eq!(eval(&cast(col("D"), AstType::String)), sv("2.5"));
    assert_eq!(eval(&cast(s("2020-01-01"), AstType::Date)), Value::Date(18262));
    assert_eq!(eval(&cast(cast(s("2020-01-01T10:00:00"), AstType::Timestamp), AstType::String)), sv("2020-01-01T10:00:00.000"));
    assert_eq!(eval(&cast(col("D"), AstType::Int)), Value::Int(2));
    assert_eq!(eval(&cast(s("12.345"), AstType::Decimal { precision: 4, scale: 2 })), decv(1235, 4, 2));
    assert_eq!(eval(&cast(col("ARR"), AstType::Array(Box::new(AstType::String)))), Value::Array(vec![sv("1"), sv("2"), sv("3")]));
    assert_eq!(eval(&cast(null(), AstType::Int)), Value::Null);
    assert!(compiled(&cast(col("S"), AstType::Int)).eval(&row()).is_err());
    assert_eq!(analysis_error(&cast(boolean(true), AstType::Int)), "Cast of BOOLEAN to INTEGER is not supported");
    let named = compile(&cast(col("A"), AstType::Named("MONEY".into())), &scope(), &FunctionRegistry::new(), &|n| (n == "MONEY").then_some(SqlType::BigInt)).unwrap();
    assert_eq!(named.eval(&row()).unwrap(), Value::BigInt(7));
}

#[test]
fn subscripts_and_dereference() {
    let idx = |i: i32| Expr::Subscript { base: Box::new(col("ARR")), index: Box::new(int(i)) };
    assert_eq!(eval(&idx(1)), Value::Int(1));
    assert_eq!(eval(&idx(-1)), Value::Int(3));
    assert_eq!(eval(&idx(4)), Value::Null);
    assert_eq!(eval(&idx(0)), Value::Null);
    assert_eq!(eval(&Expr::Subscript { base: Box::new(col("M")), index: Box::new(s("k")) }), Value::Int(5));
    assert_eq!(eval(&Expr::Subscript { base: Box::new(col("M")), index: Box::new(s("zz")) }), Value::Null);
    assert_eq!(eval(&Expr::Dereference { base: Box::new(col("ST")), field: "Y".into() }), sv("why"));
    assert!(analysis_error(&Expr::Dereference { base: Box::new(col("ST")), field: "Z".into() }).contains("'Z'"));
    assert!(analysis_error(&Expr::Subscript { base: Box::new(col("A")), index: Box::new(int(1)) }).contains("ARRAY or MAP"));
}

#[test]
fn constructors_and_concat() {
    let arr = Expr::Array(vec![int(1), big(2), null()]);
    assert_eq!(compiled(&arr).ty(), &SqlType::Array(Box::new(SqlType::BigInt)));
    assert_eq!(eval(&arr), Value::Array(vec![Value::BigInt(1), Value::BigInt(2), Value::Null]));
    let map = Expr::Map(vec![(s("a"), int(1)), (s("a"), int(2))]);
    assert_eq!(eval(&map), Value::Map(vec![(sv("a"), Value::Int(2))]));
    let st = Expr::Struct(vec![("F".into(), col("A"))]);
    assert_eq!(compiled(&st).ty(), &SqlType::Struct(vec![("F".into(), SqlType::Int)]));
    assert_eq!(eval(&bin(BinaryOp::Concat, col("S"), s("!"))), sv("hello!"));
    assert_eq!(eval(&bin(BinaryOp::Add, col("S"), s("?"))), sv("hello?"));
    assert_eq!(eval(&bin(BinaryOp::Concat, col("S"), null())), Value::Null);
}

#[test]
fn lambdas_over_arrays_and_maps() {
    let x = || col("X");
    let t = call("TRANSFORM", vec![col("ARR"), lambda(&["X"], bin(BinaryOp::Mul, x(), col("A")))]);
    assert_eq!(eval(&t), Value::Array(vec![Value::Int(7), Value::Int(14), Value::Int(21)]));
    let f = call("FILTER", vec![col("ARR"), lambda(&["X"], bin(BinaryOp::Gt, x(), int(1)))]);
    assert_eq!(eval(&f), Value::Array(vec![Value::Int(2), Value::Int(3)]));
    let r = call("REDUCE", vec![col("ARR"), big(0), lambda(&["S", "X"], bin(BinaryOp::Add, col("S"), x()))]);
    assert_eq!(compiled(&r).ty(), &SqlType::BigInt);
    assert_eq!(eval(&r), Value::BigInt(6));
    let tm = call("TRANSFORM", vec![col("M"), lambda(&["K", "V"], call("UCASE", vec![col("K")])), lambda(&["K", "V"], bin(BinaryOp::Add, col("V"), int(1)))]);
    assert_eq!(eval(&tm), Value::Map(vec![(sv("K"), Value::Int(6))]));
    let nested = call("TRANSFORM", vec![col("ARR"), lambda(&["X"], call("REDUCE", vec![col("ARR"), x(), lambda(&["S", "Y"], bin(BinaryOp::Add, col("S"), col("Y")))]))]);
    assert_eq!(eval(&nested), Value::Array(vec![Value::Int(7), Value::Int(8), Value::Int(9)]));
    assert!(analysis_error(&call("FILTER", vec![col("ARR"), lambda(&["X"], x())])).contains("BOOLEAN"));
    assert!(analysis_error(&call("TRANSFORM", vec![col("ARR"), lambda(&["X", "Y"], x())])).contains("Was expecting 1 arguments"));
}

#[test]
fn functions_dispatch_with_widening_and_nulls() {
    assert_eq!(eval(&call("UCASE", vec![col("S")])), sv("HELLO"));
    assert_eq!(eval(&call("UCASE", vec![null()])), Value::Null);
    assert_eq!(eval(&call("SQRT", vec![int(16)])), Value::Double(4.0));
    assert_eq!(eval(&call("ABS", vec![dec("-1.50")])), decv(150, 3, 2));
    assert_eq!(eval(&call("COALESCE", vec![col("N"), col("A"), big(3)])), Value::BigInt(7));
    assert_eq!(eval(&call("CONCAT", vec![col("S"), null(), s("!")])), sv("hello!"));
    assert!(analysis_error(&call("NOPE", vec![])).contains("Can't find any functions with the name 'NOPE'"));
    assert!(analysis_error(&call("UCASE", vec![col("A")])).contains("does not accept parameters (INTEGER)"));
}

#[test]
fn aggregates_are_rejected_and_collected() {
    let registry = FunctionRegistry::new();
    let agg = call("SUM", vec![col("A")]);
    assert!(analysis_error(&bin(BinaryOp::Gt, agg.clone(), int(1))).contains("Aggregate function 'SUM'"));
    let e = bin(BinaryOp::Add, agg.clone(), bin(BinaryOp::Mul, call("COUNT", vec![Expr::Star]), call("SUM", vec![col("A")])));
    assert_eq!(collect_aggregates(&e, &registry), vec![agg, call("COUNT", vec![Expr::Star])]);
    assert!(analysis_error(&call("EXPLODE", vec![col("ARR")])).contains("Table function 'EXPLODE'"));
    assert_eq!(collect_table_functions(&call("ABS", vec![call("EXPLODE", vec![col("ARR")])]), &registry).len(), 1);
}

#[test]
fn compile_as_converts_to_target() {
    let r = FunctionRegistry::new();
    let c = compile_as(&int(5), &SqlType::Decimal { precision: 4, scale: 1 }, false, &scope(), &r, &|_| None).unwrap();
    assert_eq!(c.eval_constant().unwrap(), decv(50, 4, 1));
    let n = compile_as(&null(), &SqlType::Int, false, &scope(), &r, &|_| None).unwrap();
    assert_eq!(n.eval_constant().unwrap(), Value::Null);
    assert!(compile_as(&s("x"), &SqlType::Int, false, &scope(), &r, &|_| None).is_err());
    assert!(compile(&null(), &scope(), &r, &|_| None).unwrap().is_untyped_null());
}

#[test]
fn fuzz_entry_never_panics_on_odd_rows() {
    let odd = vec![Value::Array(vec![Value::Int(1), sv("x")]), Value::Null];
    let e = call("ARRAY_MAX", vec![col("C0")]);
    let _ = fuzz_eval(&e, &odd);
    let _ = fuzz_eval(&Expr::Subscript { base: Box::new(col("C0")), index: Box::new(int(i32::MIN)) }, &odd);
    assert!(fuzz_eval(&col("C9"), &odd).is_err());
}

#[test]
fn malformed_values_and_extreme_arguments_do_not_panic() {
    let weird = Value::Decimal(Decimal { unscaled: i128::MIN, precision: 3, scale: 200 });
    let row = vec![weird.clone(), Value::Decimal(Decimal { unscaled: -1, precision: 1, scale: 0 })];
    for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Mod] {
        let _ = fuzz_eval(&bin(op, col("C0"), col("C1")), &row);
    }
    let _ = fuzz_eval(&Expr::Unary { op: UnaryOp::Neg, expr: Box::new(col("C0")) }, &row);
    let _ = fuzz_eval(&call("ABS", vec![col("C0")]), &row);
    let _ = fuzz_eval(&call("ROUND", vec![dec("1.5"), int(i32::MIN)]), &[]);
    // Refused calls are NULL (and reported), never a panic or an unbounded allocation.
    assert_eq!(fuzz_eval(&call("LPAD", vec![s("x"), int(i32::MAX), s("y")]), &[]).unwrap(), Value::Null);
    assert_eq!(fuzz_eval(&call("GENERATE_SERIES", vec![big(i64::MIN), big(i64::MAX)]), &[]).unwrap(), Value::Null);
    let _ = fuzz_eval(&call("SLICE", vec![Expr::Array(vec![int(1)]), big(i64::MIN), big(i64::MIN)]), &[]);
}

#[test]
fn deep_trees_compile_and_evaluate_on_a_small_stack() {
    let mut e = int(1);
    for _ in 0..1000 {
        e = bin(BinaryOp::Add, e, Expr::Unary { op: UnaryOp::Neg, expr: Box::new(int(1)) });
    }
    let t = std::thread::Builder::new().stack_size(256 * 1024).spawn(move || {
        let registry = FunctionRegistry::new();
        assert_eq!(collect_aggregates(&e, &registry).len(), 0);
        compile(&e, &Scope::default(), &registry, &|_| None).unwrap().eval(&[]).unwrap()
    });
    assert_eq!(t.unwrap().join().unwrap(), Value::Int(-999));
}

#[test]
fn referenced_columns() {
    let e = call("TRANSFORM", vec![col("ARR"), lambda(&["X"], bin(BinaryOp::Add, col("X"), col("A")))]);
    assert_eq!(compiled(&e).columns(), vec![0, 4]);
    assert_eq!(compiled(&bin(BinaryOp::Add, col("B"), col("B"))).columns(), vec![1]);
    assert!(compiled(&int(1)).columns().is_empty());
}

#[test]
fn deterministic_calls_on_literals_fold() {
    let folded = compiled(&call("PARSE_TIMESTAMP", vec![s("2020-01-01"), s("yyyy-MM-dd")]));
    assert!(matches!(&*folded.node, Node::Literal(Value::Timestamp(1_577_836_800_000))), "{:?}", folded.node);
    assert!(matches!(&*compiled(&call("RANDOM", vec![])).node, Node::Call { .. }));
    assert!(matches!(&*compiled(&call("UUID", vec![])).node, Node::Call { .. }));
    let failing = compiled(&call("PARSE_DATE", vec![s("nope"), s("yyyy")]));
    assert!(matches!(&*failing.node, Node::Call { .. }));
    // A failing call is NULL (ksqlDB), reported to the caller.
    let mut reported = Vec::new();
    assert_eq!(failing.eval_reporting(&row(), |m| reported.push(m.to_owned())).unwrap(), Value::Null);
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert!(reported[0].starts_with("Error computing PARSE_DATE: "), "{reported:?}");
    let mut registry = FunctionRegistry::new();
    registry.register_udf("ONE", "", || 1i64).unwrap();
    let udf = compile(&call("ONE", vec![]), &scope(), &registry, &|_| None).unwrap();
    assert!(matches!(&*udf.node, Node::Call { .. }));
    assert_eq!(udf.eval(&row()).unwrap(), Value::BigInt(1));
}
