//! Unit tests for the parser's tricky bits; the statement corpus is in `tests/it/parser.rs`.

use super::ast::*;
use super::{parse, parse_expression};

fn one(sql: &str) -> Statement {
    let mut v = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(v.len(), 1, "{sql}");
    v.remove(0).statement
}

fn query(sql: &str) -> Query {
    match one(sql) {
        Statement::Query(q) => *q,
        other => panic!("not a query: {other:?}"),
    }
}

fn expr(sql: &str) -> Expr {
    parse_expression(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn err(sql: &str) -> String {
    match parse(sql) {
        Ok(v) => panic!("{sql} parsed: {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn col(name: &str) -> Expr {
    Expr::Column { source: None, name: name.into() }
}

fn lit(l: Literal) -> Expr {
    Expr::Literal(l)
}

#[test]
fn statement_positions_and_texts() {
    let sql = "-- header\nSHOW STREAMS;\n  /* c */ SELECT *\n  FROM s EMIT CHANGES ;DESCRIBE s\n;;\nLIST TABLES";
    let v = parse(sql).unwrap();
    let got: Vec<(&str, u32, u32)> = v.iter().map(|s| (s.text.as_str(), s.position.line, s.position.column)).collect();
    assert_eq!(
        got,
        vec![
            ("SHOW STREAMS", 2, 1),
            ("SELECT *\n  FROM s EMIT CHANGES", 3, 11),
            ("DESCRIBE s", 4, 24),
            ("LIST TABLES", 6, 1),
        ]
    );
}

#[test]
fn semicolons_inside_quotes_and_comments_do_not_split() {
    let sql = "SELECT 'a;b' AS `x;y`, \"c;d\" FROM s /* ; */ -- ;\n EMIT CHANGES; SHOW TOPICS;";
    let v = parse(sql).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].text, "SELECT 'a;b' AS `x;y`, \"c;d\" FROM s /* ; */ -- ;\n EMIT CHANGES");
    let Statement::Query(q) = &v[0].statement else { panic!() };
    assert_eq!(
        q.select,
        vec![
            SelectItem::Expr { expr: lit(Literal::String("a;b".into())), alias: Some("x;y".into()) },
            SelectItem::Expr { expr: col("c;d"), alias: None },
        ]
    );
}

#[test]
fn empty_script() {
    assert!(parse("").unwrap().is_empty());
    assert!(parse("  -- nothing\n ; ;").unwrap().is_empty());
}

#[test]
fn identifier_case() {
    let q = query("select price, `price`, \"Price\", s.amount, `S`.`a b` from s emit changes");
    let names: Vec<Expr> = q
        .select
        .into_iter()
        .map(|i| match i {
            SelectItem::Expr { expr, .. } => expr,
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        names,
        vec![
            col("PRICE"),
            col("price"),
            col("Price"),
            Expr::Column { source: Some("S".into()), name: "AMOUNT".into() },
            Expr::Column { source: Some("S".into()), name: "a b".into() },
        ]
    );
    assert_eq!(q.from.source, AliasedSource { name: "S".into(), alias: None });
}

#[test]
fn strings_escape_quotes() {
    assert_eq!(expr("'it''s'"), lit(Literal::String("it's".into())));
    assert_eq!(expr("''"), lit(Literal::String(String::new())));
    assert_eq!(expr("'yyyy-MM-dd''T''HH:mm:ssX'"), lit(Literal::String("yyyy-MM-dd'T'HH:mm:ssX".into())));
}

#[test]
fn literal_typing() {
    assert_eq!(expr("1"), lit(Literal::Int(1)));
    assert_eq!(expr("2147483647"), lit(Literal::Int(i32::MAX)));
    assert_eq!(expr("-2147483648"), lit(Literal::Int(i32::MIN)));
    assert_eq!(expr("2147483648"), lit(Literal::BigInt(2_147_483_648)));
    assert_eq!(expr("-2147483649"), lit(Literal::BigInt(-2_147_483_649)));
    assert_eq!(expr("-9223372036854775808"), lit(Literal::BigInt(i64::MIN)));
    assert_eq!(expr("12.30"), lit(Literal::Decimal("12.30".into())));
    assert_eq!(expr("-0.5"), lit(Literal::Decimal("-0.5".into())));
    assert_eq!(expr(".5"), lit(Literal::Decimal(".5".into())));
    assert_eq!(expr("1e3"), lit(Literal::Double(1000.0)));
    assert_eq!(expr("1.5E-2"), lit(Literal::Double(0.015)));
    assert_eq!(expr("-.5e1"), lit(Literal::Double(-5.0)));
    assert_eq!(expr("1.e2"), lit(Literal::Double(100.0)));
    assert_eq!(expr("true"), lit(Literal::Boolean(true)));
    assert_eq!(expr("NULL"), lit(Literal::Null));
    assert_eq!(expr("DECIMAL '1.20'"), lit(Literal::Decimal("1.20".into())));
    // A minus before a non-literal is an operator; `1 -5` is a subtraction.
    assert_eq!(expr("-x"), Expr::Unary { op: UnaryOp::Neg, expr: Box::new(col("X")) });
    assert_eq!(
        expr("1 -5"),
        Expr::Binary { op: BinaryOp::Sub, left: Box::new(lit(Literal::Int(1))), right: Box::new(lit(Literal::Int(5))) }
    );
    assert_eq!(
        parse_expression("9223372036854775808").unwrap_err().to_string(),
        "line 1:1: Invalid numeric literal: 9223372036854775808"
    );
    assert_eq!(parse_expression("1e999").unwrap_err().to_string(), "line 1:1: Number overflows DOUBLE: 1e999");
}

#[test]
fn precedence() {
    // a OR (b AND (NOT c))
    let e = expr("a OR b AND NOT c");
    let Expr::Binary { op: BinaryOp::Or, right, .. } = e else { panic!() };
    let Expr::Binary { op: BinaryOp::And, right, .. } = *right else { panic!() };
    assert!(matches!(*right, Expr::Unary { op: UnaryOp::Not, .. }));
    // 1 + (2 * 3)
    let e = expr("1 + 2 * 3");
    let Expr::Binary { op: BinaryOp::Add, right, .. } = e else { panic!() };
    assert!(matches!(*right, Expr::Binary { op: BinaryOp::Mul, .. }));
    // 'a' || (b + 1) = 'c'
    let e = expr("'a' || b + 1 = 'c'");
    let Expr::Binary { op: BinaryOp::Eq, left, .. } = e else { panic!() };
    let Expr::Binary { op: BinaryOp::Concat, right, .. } = *left else { panic!() };
    assert!(matches!(*right, Expr::Binary { op: BinaryOp::Add, .. }));
    // Left-associative: (a - b) - c
    let e = expr("a - b - c");
    let Expr::Binary { op: BinaryOp::Sub, left, .. } = e else { panic!() };
    assert!(matches!(*left, Expr::Binary { op: BinaryOp::Sub, .. }));
    // Comparisons do not chain.
    assert!(parse_expression("a = b = c").is_err());
}

#[test]
fn predicates() {
    assert_eq!(
        expr("x NOT BETWEEN 1 AND 10"),
        Expr::Between {
            expr: Box::new(col("X")),
            low: Box::new(lit(Literal::Int(1))),
            high: Box::new(lit(Literal::Int(10))),
            negated: true
        }
    );
    assert_eq!(
        expr("name LIKE '%a\\_%' ESCAPE '\\'"),
        Expr::Like {
            expr: Box::new(col("NAME")),
            pattern: Box::new(lit(Literal::String("%a\\_%".into()))),
            escape: Some('\\'),
            negated: false
        }
    );
    assert_eq!(
        expr("a IS NOT DISTINCT FROM b"),
        Expr::IsDistinctFrom { left: Box::new(col("A")), right: Box::new(col("B")), negated: true }
    );
    assert_eq!(expr("a IS NULL"), Expr::IsNull { expr: Box::new(col("A")), negated: false });
    assert_eq!(
        expr("a NOT IN (1, 2)"),
        Expr::InList { expr: Box::new(col("A")), list: vec![lit(Literal::Int(1)), lit(Literal::Int(2))], negated: true }
    );
    assert!(parse_expression("a LIKE 'x' ESCAPE 'ab'").unwrap_err().to_string().contains("Expected single character escape"));
}

#[test]
fn ksql_constructs() {
    assert_eq!(
        expr("s->a->b[1]['k']"),
        Expr::Subscript {
            base: Box::new(Expr::Subscript {
                base: Box::new(Expr::Dereference {
                    base: Box::new(Expr::Dereference { base: Box::new(col("S")), field: "A".into() }),
                    field: "B".into()
                }),
                index: Box::new(lit(Literal::Int(1)))
            }),
            index: Box::new(lit(Literal::String("k".into())))
        }
    );
    assert_eq!(
        expr("TRANSFORM(arr, x => x + 1)"),
        Expr::Function {
            name: "TRANSFORM".into(),
            args: vec![
                col("ARR"),
                Expr::Lambda {
                    params: vec!["X".into()],
                    body: Box::new(Expr::Binary {
                        op: BinaryOp::Add,
                        left: Box::new(col("X")),
                        right: Box::new(lit(Literal::Int(1)))
                    })
                }
            ],
            distinct: false
        }
    );
    let Expr::Function { args, .. } = expr("REDUCE(m, 0, (s, k, v) => s + v)") else { panic!() };
    assert!(matches!(&args[2], Expr::Lambda { params, .. } if params == &["S", "K", "V"]));
    // A parenthesised expression is not a lambda.
    let Expr::Function { args, .. } = expr("ABS((x))") else { panic!() };
    assert_eq!(args, vec![col("X")]);
    assert_eq!(expr("ARRAY[1, 2]"), Expr::Array(vec![lit(Literal::Int(1)), lit(Literal::Int(2))]));
    assert_eq!(expr("ARRAY[]"), Expr::Array(vec![]));
    assert_eq!(
        expr("MAP('a' := 1)"),
        Expr::Map(vec![(lit(Literal::String("a".into())), lit(Literal::Int(1)))])
    );
    assert_eq!(
        expr("STRUCT(a := 1, `b` := 'x')"),
        Expr::Struct(vec![("A".into(), lit(Literal::Int(1))), ("b".into(), lit(Literal::String("x".into())))])
    );
    assert_eq!(expr("count(*)"), Expr::Function { name: "COUNT".into(), args: vec![Expr::Star], distinct: false });
    assert_eq!(
        expr("TIMESTAMPADD(SECONDS, 5, ts)"),
        Expr::Function { name: "TIMESTAMPADD".into(), args: vec![col("SECONDS"), lit(Literal::Int(5)), col("TS")], distinct: false }
    );
    assert_eq!(
        expr("CAST(x AS DECIMAL(10, 2))"),
        Expr::Cast { expr: Box::new(col("X")), ty: AstType::Decimal { precision: 10, scale: 2 } }
    );
    assert_eq!(
        expr("CAST(x AS MAP<STRING, ARRAY<STRUCT<a INT, `B` my_type>>>)"),
        Expr::Cast {
            expr: Box::new(col("X")),
            ty: AstType::Map(
                Box::new(AstType::String),
                Box::new(AstType::Array(Box::new(AstType::Struct(vec![
                    ("A".into(), AstType::Int),
                    ("B".into(), AstType::Named("MY_TYPE".into()))
                ]))))
            )
        }
    );
    assert!(matches!(expr("CASE WHEN a THEN 1 ELSE 2 END"), Expr::Case { operand: None, .. }));
    assert!(matches!(expr("CASE a WHEN 1 THEN 'x' END"), Expr::Case { operand: Some(_), else_result: None, .. }));
}

#[test]
fn within_is_not_an_alias() {
    let q = query("SELECT * FROM a JOIN b WITHIN 1 HOUR ON a.id = b.id EMIT CHANGES");
    assert_eq!(q.from.joins[0].right, AliasedSource { name: "B".into(), alias: None });
    assert_eq!(q.from.joins[0].within, Some(Within { before_ms: 3_600_000, after_ms: 3_600_000, grace_ms: None }));
    let q = query("SELECT * FROM a x LEFT OUTER JOIN b y WITHIN (10 SECONDS, 2 MINUTES) GRACE PERIOD 5 MILLISECONDS ON x.id = y.id EMIT CHANGES");
    assert_eq!(q.from.source.alias.as_deref(), Some("X"));
    assert_eq!(q.from.joins[0].kind, JoinKind::Left);
    assert_eq!(q.from.joins[0].right.alias.as_deref(), Some("Y"));
    assert_eq!(q.from.joins[0].within, Some(Within { before_ms: 10_000, after_ms: 120_000, grace_ms: Some(5) }));
}

#[test]
fn clause_words_are_not_aliases() {
    let q = query("SELECT * FROM s PARTITION BY a EMIT CHANGES");
    assert_eq!(q.from.source.alias, None);
    assert_eq!(q.partition_by, vec![col("A")]);
    let q = query("SELECT * FROM s emit CHANGES");
    assert_eq!(q.from.source.alias, None);
    // ... but they are aliases where no clause follows.
    let q = query("SELECT * FROM s partition");
    assert_eq!(q.from.source.alias.as_deref(), Some("PARTITION"));
}

#[test]
fn emit_and_limit_order() {
    let q = query("SELECT * FROM s EMIT CHANGES LIMIT 5");
    assert_eq!((q.emit, q.limit), (Some(Emit::Changes), Some(5)));
    // ksqlDB's grammar has LIMIT after EMIT only.
    assert_eq!(err("SELECT * FROM s LIMIT 5 EMIT CHANGES;"), "line 1:25: Syntax Error\nmismatched input 'EMIT' expecting ';'");
    // Pull query: no EMIT.
    assert_eq!(query("SELECT * FROM t WHERE k = 1").emit, None);
    // Persistent queries emit changes by default.
    let Statement::CreateAsSelect(c) = one("CREATE TABLE t AS SELECT k, COUNT(*) FROM s GROUP BY k") else { panic!() };
    assert_eq!(c.query.emit, Some(Emit::Changes));
    let Statement::CreateAsSelect(c) = one("CREATE TABLE t AS SELECT k, COUNT(*) FROM s WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY k EMIT FINAL") else {
        panic!()
    };
    assert_eq!(c.query.emit, Some(Emit::Final));
}

#[test]
fn windows() {
    let q = query("SELECT k, COUNT(*) FROM s WINDOW TUMBLING (SIZE 30 SECONDS, RETENTION 2 DAYS, GRACE PERIOD 10 MINUTES) GROUP BY k EMIT CHANGES");
    assert_eq!(
        q.window,
        Some(WindowExpr::Tumbling { size_ms: 30_000, retention_ms: Some(172_800_000), grace_ms: Some(600_000) })
    );
    let q = query("SELECT k, COUNT(*) FROM s WINDOW HOPPING (SIZE 1 HOUR, ADVANCE BY 1 MINUTE, GRACE PERIOD 1 SECOND) GROUP BY k EMIT CHANGES");
    assert_eq!(
        q.window,
        Some(WindowExpr::Hopping { size_ms: 3_600_000, advance_ms: 60_000, retention_ms: None, grace_ms: Some(1000) })
    );
    let q = query("SELECT k, COUNT(*) FROM s WINDOW SESSION (5 MINUTES) GROUP BY k EMIT CHANGES");
    assert_eq!(q.window, Some(WindowExpr::Session { gap_ms: 300_000, retention_ms: None, grace_ms: None }));
    // Retention must come before grace.
    assert!(parse("SELECT k FROM s WINDOW TUMBLING (SIZE 1 HOUR, GRACE PERIOD 1 SECOND, RETENTION 1 DAY) GROUP BY k EMIT CHANGES").is_err());
}

#[test]
fn group_by_forms() {
    assert_eq!(query("SELECT a FROM s GROUP BY a, b EMIT CHANGES").group_by, vec![col("A"), col("B")]);
    assert_eq!(query("SELECT a FROM s GROUP BY (a, b) EMIT CHANGES").group_by, vec![col("A"), col("B")]);
    let g = query("SELECT a FROM s GROUP BY (a + 1) * 2 EMIT CHANGES").group_by;
    assert!(matches!(&g[..], [Expr::Binary { op: BinaryOp::Mul, .. }]));
}

#[test]
fn create_source() {
    let Statement::CreateSource(c) = one(
        "CREATE OR REPLACE SOURCE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, h BYTES HEADER('k'), hs ARRAY<STRUCT<key STRING, value BYTES>> HEADERS, v VARCHAR) \
         WITH (kafka_topic='t', 'value_format'='JSON', partitions=-1, wrap_single_value=false, x=1.5)",
    ) else {
        panic!()
    };
    assert_eq!((c.kind, c.or_replace, c.if_not_exists, c.is_source), (SourceKind::Table, true, true, true));
    assert_eq!(
        c.elements.iter().map(|e| e.constraint.clone()).collect::<Vec<_>>(),
        vec![ColumnConstraint::PrimaryKey, ColumnConstraint::Header("k".into()), ColumnConstraint::Headers, ColumnConstraint::None]
    );
    assert_eq!(
        c.properties,
        vec![
            ("KAFKA_TOPIC".into(), Literal::String("t".into())),
            ("VALUE_FORMAT".into(), Literal::String("JSON".into())),
            ("PARTITIONS".into(), Literal::Int(-1)),
            ("WRAP_SINGLE_VALUE".into(), Literal::Boolean(false)),
            ("X".into(), Literal::Decimal("1.5".into())),
        ]
    );
    // Source names must be valid store names.
    assert_eq!(
        err("CREATE STREAM `a.b` (x INT) WITH (kafka_topic='t');"),
        "line 1:15: Illegal argument at line 1:15. Source names may only contain alphanumeric values, '_' or '-'. Got: 'a.b'"
    );
    // A column list and AS SELECT do not mix.
    assert!(err("CREATE STREAM s (a INT) AS SELECT * FROM x;").contains("mismatched input 'AS'"));
}

#[test]
fn show_describe_and_friends() {
    assert_eq!(one("SHOW ALL TOPICS EXTENDED"), Statement::Show(Show::Topics { all: true, extended: true }));
    assert_eq!(one("list queries"), Statement::Show(Show::Queries { extended: false }));
    assert_eq!(one("DESCRIBE TABLES EXTENDED"), Statement::Show(Show::Tables { extended: true }));
    assert_eq!(one("DESCRIBE `TABLES`"), Statement::Describe { name: "TABLES".into(), extended: false });
    assert_eq!(one("DESCRIBE STREAMS"), Statement::Show(Show::Streams { extended: false }));
    assert_eq!(one("DESCRIBE EXTENDED pageviews"), Statement::Describe { name: "PAGEVIEWS".into(), extended: true });
    assert_eq!(one("DESCRIBE pageviews EXTENDED"), Statement::Describe { name: "PAGEVIEWS".into(), extended: true });
    assert_eq!(one("DESCRIBE FUNCTION substring"), Statement::DescribeFunction { name: "SUBSTRING".into() });
    assert_eq!(one("DESCRIBE function"), Statement::Describe { name: "FUNCTION".into(), extended: false });
    assert_eq!(one("EXPLAIN CSAS_X_1"), Statement::Explain(ExplainTarget::QueryId("CSAS_X_1".into())));
    assert!(matches!(one("EXPLAIN SELECT * FROM s EMIT CHANGES"), Statement::Explain(ExplainTarget::Statement(_))));
    assert_eq!(one("TERMINATE csas_x_1"), Statement::Terminate(TerminateTarget::Query("CSAS_X_1".into())));
    assert_eq!(
        one("PRINT 'my-topic' FROM BEGINNING INTERVAL 3 LIMIT 10"),
        Statement::Print { topic: "my-topic".into(), from_beginning: true, interval: Some(3), limit: Some(10) }
    );
    assert_eq!(
        one("PRINT pageviews SAMPLE 2"),
        Statement::Print { topic: "pageviews".into(), from_beginning: false, interval: Some(2), limit: None }
    );
    assert_eq!(one("DEFINE myVar = 'x'"), Statement::DefineVariable { name: "myVar".into(), value: "x".into() });
    assert_eq!(one("set 'auto.offset.reset'='earliest'"), Statement::SetProperty { name: "auto.offset.reset".into(), value: "earliest".into() });
}

#[test]
fn error_messages() {
    assert_eq!(err("SELEC * FROM s;"), "line 1:1: Syntax Error\nUnknown statement 'SELEC'\nDid you mean 'SELECT'?");
    assert_eq!(err("FOO;"), "line 1:1: Syntax Error\nUnknown statement 'FOO'");
    assert_eq!(err("SELECT * FROM s\nWHERE ;"), "line 2:7: Syntax Error\nmismatched input ';' expecting {'NOT', <expression>}");
    assert_eq!(
        err("CREATE STREAM select (a INT) WITH (kafka_topic='x');"),
        "line 1:15: Syntax Error\n\"select\" is a reserved keyword and it can't be used as an identifier. You can use it as an identifier by escaping it as `select`"
    );
    assert_eq!(err("SELECT 'abc FROM s;"), "line 1:8: Syntax Error\nunterminated string literal: missing closing '");
}

#[test]
fn connector_statements() {
    use crate::parser::ast::{ConnectorKind, Show};
    let one = |sql: &str| parse(sql).unwrap().remove(0).statement;
    assert_eq!(
        one("CREATE SOURCE CONNECTOR IF NOT EXISTS lines WITH ('connector.class'='FileStreamSource', \"tasks.max\"=1, 'topic'='t');"),
        Statement::CreateConnector {
            name: "LINES".into(),
            kind: ConnectorKind::Source,
            if_not_exists: true,
            config: vec![("connector.class".into(), "FileStreamSource".into()), ("tasks.max".into(), "1".into()), ("topic".into(), "t".into())],
        }
    );
    assert!(matches!(one("CREATE SINK CONNECTOR `out` WITH ('topics'='t');"), Statement::CreateConnector { ref name, kind: ConnectorKind::Sink, if_not_exists: false, .. } if name == "out"));
    assert_eq!(one("DROP CONNECTOR IF EXISTS lines;"), Statement::DropConnector { name: "LINES".into(), if_exists: true });
    assert_eq!(one("DESCRIBE CONNECTOR lines;"), Statement::DescribeConnector { name: "LINES".into() });
    assert_eq!(one("SHOW CONNECTORS;"), Statement::Show(Show::Connectors { kind: None }));
    assert_eq!(one("LIST SINK CONNECTORS;"), Statement::Show(Show::Connectors { kind: Some(ConnectorKind::Sink) }));
    assert!(err("CREATE SOURCE CONNECTOR c WITH ('a'='1', 'a'='2');").contains("Duplicate property: a"));
    assert!(err("CREATE SOURCE CONNECTOR c;").contains("Syntax Error"));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse_expression(&deep).unwrap_err().to_string().contains("Statement is too large to parse"));
    let long = vec!["a"; 5000].join(" OR ");
    assert!(parse_expression(&long).unwrap_err().to_string().contains("Statement is too large to parse"));
    let ok = vec!["a"; 500].join(" + ");
    assert!(parse_expression(&ok).is_ok());
    let unary = format!("{}1", "- ".repeat(10_000));
    assert!(parse_expression(&unary).is_err());
    let nots = format!("{}a", "NOT ".repeat(10_000));
    assert!(parse_expression(&nots).is_err());
    let derefs = format!("a{}", "->b".repeat(5_000));
    assert!(parse_expression(&derefs).is_err());
    let ty = format!("CAST(x AS {}INT{})", "ARRAY<".repeat(5_000), ">".repeat(5_000));
    assert!(parse_expression(&ty).is_err());
}

#[test]
fn substitution_then_parse() {
    let vars: std::collections::HashMap<String, String> = [("format", "AVRO"), ("replicas", "3"), ("name", "orders"), ("min", "10")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sql = super::substitute_variables(
        "CREATE STREAM ${name} (id INT KEY) WITH (kafka_topic='${name}_topic', value_format='${format}', replicas=${replicas});\n\
         SELECT * FROM ${name} WHERE id > ${min} EMIT CHANGES;",
        &vars,
    )
    .unwrap();
    let v = parse(&sql).unwrap();
    let Statement::CreateSource(c) = &v[0].statement else { panic!() };
    assert_eq!(c.name, "ORDERS");
    assert_eq!(
        c.properties,
        vec![
            ("KAFKA_TOPIC".into(), Literal::String("orders_topic".into())),
            ("VALUE_FORMAT".into(), Literal::String("AVRO".into())),
            ("REPLICAS".into(), Literal::Int(3)),
        ]
    );
    let Statement::Query(q) = &v[1].statement else { panic!() };
    assert_eq!(
        q.where_clause,
        Some(Expr::Binary { op: BinaryOp::Gt, left: Box::new(col("ID")), right: Box::new(lit(Literal::Int(10))) })
    );
    // Without substitution a reference is an error, not an identifier.
    assert_eq!(
        err("SELECT * FROM s WHERE id > ${min};"),
        "line 1:28: Illegal argument at line 1:28. Variable '${min}' is not defined."
    );
}

#[test]
fn lexer_errors_have_positions() {
    assert_eq!(err("SHOW STREAMS;\nSELECT `x FROM s;"), "line 2:8: Syntax Error\nunterminated back-quoted identifier: missing closing `");
    assert_eq!(err("SHOW STREAMS;\r\n  /* open"), "line 2:3: Syntax Error\nunterminated comment: '/*' without '*/'");
}

#[test]
fn insert_values_take_value_expressions() {
    let Statement::InsertValues { target, columns, values } = one("INSERT INTO t (a, `B`) VALUES (-1, 'x' || 'y')") else { panic!() };
    assert_eq!(target, "T");
    assert_eq!(columns, vec!["A".to_string(), "B".to_string()]);
    assert_eq!(values[0], lit(Literal::Int(-1)));
    assert!(matches!(values[1], Expr::Binary { op: BinaryOp::Concat, .. }));
    let Statement::InsertValues { columns, values, .. } = one("INSERT INTO t VALUES ()") else { panic!() };
    assert!(columns.is_empty() && values.is_empty());
}

#[test]
fn create_as_select_with_properties() {
    let Statement::CreateAsSelect(c) = one("CREATE OR REPLACE TABLE IF NOT EXISTS t WITH (kafka_topic='t', partitions=2) AS SELECT * FROM s") else {
        panic!()
    };
    assert!(c.or_replace && c.if_not_exists);
    assert_eq!(c.kind, SourceKind::Table);
    assert_eq!(c.properties.len(), 2);
    let Statement::InsertInto { target, properties, query } = one("INSERT INTO t WITH (QUERY_ID='q1') SELECT * FROM s") else { panic!() };
    assert_eq!(target, "T");
    assert_eq!(properties, vec![("QUERY_ID".into(), Literal::String("q1".into()))]);
    assert_eq!(query.emit, Some(Emit::Changes));
}

#[test]
fn drop_alter_type() {
    assert_eq!(
        one("DROP TABLE IF EXISTS t DELETE TOPIC"),
        Statement::DropSource { kind: SourceKind::Table, name: "T".into(), if_exists: true, delete_topic: true }
    );
    assert_eq!(one("DROP TYPE IF EXISTS `Addr`"), Statement::DropType { name: "Addr".into(), if_exists: true });
    assert_eq!(
        one("CREATE TYPE IF NOT EXISTS addr AS STRUCT<street STRING>"),
        Statement::CreateType {
            name: "ADDR".into(),
            ty: AstType::Struct(vec![("STREET".into(), AstType::String)]),
            if_not_exists: true
        }
    );
    let Statement::AlterSource { kind, add_columns, .. } = one("ALTER TABLE t ADD COLUMN a INT, ADD b ARRAY<BIGINT>") else { panic!() };
    assert_eq!(kind, SourceKind::Table);
    assert_eq!(add_columns[1], TableElement { name: "B".into(), ty: AstType::Array(Box::new(AstType::BigInt)), constraint: ColumnConstraint::None });
    assert_eq!(one("TERMINATE ALL"), Statement::Terminate(TerminateTarget::All));
    assert_eq!(one("RUN SCRIPT '/tmp/x.sql'"), Statement::RunScript { path: "/tmp/x.sql".into() });
    assert_eq!(one("UNDEFINE v"), Statement::UndefineVariable { name: "v".into() });
    assert_eq!(one("UNSET 'a.b'"), Statement::UnsetProperty { name: "a.b".into() });
}

#[test]
fn select_items() {
    let q = query("SELECT *, s.*, s->*, a AS x, b y, `c` FROM s EMIT CHANGES");
    assert_eq!(
        q.select,
        vec![
            SelectItem::Star,
            SelectItem::QualifiedStar("S".into()),
            SelectItem::StructAll(col("S")),
            SelectItem::Expr { expr: col("A"), alias: Some("X".into()) },
            SelectItem::Expr { expr: col("B"), alias: Some("Y".into()) },
            SelectItem::Expr { expr: col("c"), alias: None },
        ]
    );
}

#[test]
fn large_inputs_parse_in_linear_time() {
    let start = std::time::Instant::now();
    let list: Vec<String> = (0..50_000).map(|i| i.to_string()).collect();
    let sql = format!("SELECT * FROM s WHERE id IN ({}) EMIT CHANGES;", list.join(", "));
    assert!(parse(&sql).is_ok());
    let script = "INSERT INTO t (a, b) VALUES (1, 'x');\n".repeat(20_000);
    assert_eq!(parse(&script).unwrap().len(), 20_000);
    let nested = format!("SELECT {}1{} FROM s;", "ABS(".repeat(100), ")".repeat(100));
    assert!(parse(&nested.repeat(200)).is_ok());
    assert!(start.elapsed() < std::time::Duration::from_secs(30), "{:?}", start.elapsed());
}
