//! The ksqlDB statement and expression tree the parser produces and the analyzer consumes.
//!
//! Identifiers are already case-normalised: unquoted ones upper-cased (`price` -> `PRICE`),
//! back-quoted ones kept as written (`` `price` `` -> `price`), as ksqlDB does. Every type here
//! is serializable: the server's command topic stores statements and plans.

use serde::{Deserialize, Serialize};

pub use super::position::Position;

/// One statement as submitted: its text (without the trailing `;`), where it starts, and its tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedStatement {
    pub text: String,
    pub position: Position,
    pub statement: Statement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceKind {
    Stream,
    Table,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Statement {
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name [(elements)] WITH (...)`.
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`.
    CreateAsSelect(CreateAsSelect),
    /// `INSERT INTO target [WITH (QUERY_ID='..')] SELECT ...`.
    InsertInto { target: String, query: Box<Query>, properties: Properties },
    /// `INSERT INTO target [(col, ...)] VALUES (expr, ...)`.
    InsertValues { target: String, columns: Vec<String>, values: Vec<Expr> },
    /// `CREATE TYPE [IF NOT EXISTS] name AS type`.
    CreateType { name: String, ty: AstType, if_not_exists: bool },
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`.
    DropSource { kind: SourceKind, name: String, if_exists: bool, delete_topic: bool },
    /// `DROP TYPE [IF EXISTS] name`.
    DropType { name: String, if_exists: bool },
    /// `ALTER STREAM|TABLE name ADD [COLUMN] c type [, ADD [COLUMN] c type ...]`.
    AlterSource { kind: SourceKind, name: String, add_columns: Vec<TableElement> },
    /// `TERMINATE query_id` / `TERMINATE ALL`.
    Terminate(TerminateTarget),
    /// A pull query (no `EMIT`) or a push query (`EMIT CHANGES` / `EMIT FINAL`).
    Query(Box<Query>),
    /// `SHOW ...` / `LIST ...`.
    Show(Show),
    /// `DESCRIBE [EXTENDED] source` (`DESCRIBE STREAMS|TABLES [EXTENDED]` is [`Show`]).
    Describe { name: String, extended: bool },
    /// `DESCRIBE FUNCTION name`.
    DescribeFunction { name: String },
    /// `EXPLAIN query_id` or `EXPLAIN statement`.
    Explain(ExplainTarget),
    /// `PRINT topic [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]`; the topic as written
    /// (quoted names keep their case, unquoted ones too: topics are case-sensitive).
    Print { topic: String, from_beginning: bool, interval: Option<u64>, limit: Option<u64> },
    /// `SET 'name' = 'value'`.
    SetProperty { name: String, value: String },
    /// `UNSET 'name'`.
    UnsetProperty { name: String },
    /// `DEFINE name = 'value'`.
    DefineVariable { name: String, value: String },
    /// `UNDEFINE name`.
    UndefineVariable { name: String },
    /// `RUN SCRIPT 'path'`.
    RunScript { path: String },
    /// `CREATE SOURCE|SINK CONNECTOR [IF NOT EXISTS] name WITH ('key'='value', ...)`; the
    /// keys as written (Connect's config names are case-sensitive), values as text.
    CreateConnector { name: String, kind: ConnectorKind, if_not_exists: bool, config: Vec<(String, String)> },
    /// `DROP CONNECTOR [IF EXISTS] name`.
    DropConnector { name: String, if_exists: bool },
    /// `DESCRIBE CONNECTOR name`.
    DescribeConnector { name: String },
}

/// A connector's kind in `CREATE SOURCE|SINK CONNECTOR` and `SHOW SOURCE|SINK CONNECTORS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectorKind {
    Source,
    Sink,
}

/// `WITH (...)` properties: names upper-cased, values as literals, in written order.
pub type Properties = Vec<(String, Literal)>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub name: String,
    pub or_replace: bool,
    pub if_not_exists: bool,
    /// `CREATE SOURCE STREAM|TABLE`: read-only, materialized for pull queries.
    pub is_source: bool,
    /// Empty when no column list was given (schema inferred from the format later).
    pub elements: Vec<TableElement>,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub name: String,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub properties: Properties,
    pub query: Box<Query>,
}

/// One column definition of `CREATE STREAM|TABLE (...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableElement {
    pub name: String,
    pub ty: AstType,
    pub constraint: ColumnConstraint,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnConstraint {
    None,
    /// `KEY` (streams).
    Key,
    /// `PRIMARY KEY` (tables).
    PrimaryKey,
    /// `HEADERS`.
    Headers,
    /// `HEADER('k')`.
    Header(String),
}

/// A type as written: like [`crate::SqlType`] plus references to named types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AstType {
    Boolean,
    Int,
    BigInt,
    Double,
    Decimal { precision: u8, scale: u8 },
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<AstType>),
    Map(Box<AstType>, Box<AstType>),
    Struct(Vec<(String, AstType)>),
    /// A type created with `CREATE TYPE`, resolved by the analyzer.
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TerminateTarget {
    Query(String),
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Show {
    Streams { extended: bool },
    Tables { extended: bool },
    Queries { extended: bool },
    /// `SHOW [ALL] TOPICS [EXTENDED]`.
    Topics { all: bool, extended: bool },
    Functions,
    Types,
    Properties,
    Variables,
    /// `SHOW [SOURCE|SINK] CONNECTORS`.
    Connectors { kind: Option<ConnectorKind> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExplainTarget {
    QueryId(String),
    Statement(Box<Statement>),
}

/// A `SELECT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: From,
    pub window: Option<WindowExpr>,
    pub where_clause: Option<Expr>,
    /// Several expressions: a multi-column key.
    pub group_by: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub having: Option<Expr>,
    /// `None` for a pull query.
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SelectItem {
    /// `expr [AS alias]`.
    Expr { expr: Expr, alias: Option<String> },
    /// `*`.
    Star,
    /// `source.*`.
    QualifiedStar(String),
    /// `struct_expr->*`: every field of a struct as its own column (added by the parser
    /// engineer: ksqlDB's `selectStructAll`).
    StructAll(Expr),
}

/// `FROM left [JOIN right ON cond [WITHIN ...]]...`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct From {
    pub source: AliasedSource,
    pub joins: Vec<Join>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasedSource {
    pub name: String,
    pub alias: Option<String>,
}

impl AliasedSource {
    /// The name other clauses qualify columns with: the alias, else the source name.
    pub fn qualifier(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Join {
    pub kind: JoinKind,
    pub right: AliasedSource,
    pub on: Expr,
    pub within: Option<Within>,
}

/// Stream-stream join window: `WITHIN n unit` (before = after) or `WITHIN (b unit, a unit)`,
/// with an optional `GRACE PERIOD`. Milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Within {
    pub before_ms: u64,
    pub after_ms: u64,
    pub grace_ms: Option<u64>,
}

/// `WINDOW TUMBLING|HOPPING|SESSION (...)`. Milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowExpr {
    Tumbling { size_ms: u64, retention_ms: Option<u64>, grace_ms: Option<u64> },
    Hopping { size_ms: u64, advance_ms: u64, retention_ms: Option<u64>, grace_ms: Option<u64> },
    Session { gap_ms: u64, retention_ms: Option<u64>, grace_ms: Option<u64> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Emit {
    Changes,
    Final,
}

/// A literal as written. Integer literals that fit an `i32` are `INT`, else `BIGINT`; literals
/// with a fraction are `DECIMAL` (ksqlDB), with an exponent `DOUBLE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Literal {
    Null,
    Boolean(bool),
    Int(i32),
    BigInt(i64),
    /// The digits as written, e.g. `"12.30"`.
    Decimal(String),
    Double(f64),
    String(String),
    /// `INTERVAL`-less duration words in functions are identifiers, not literals.
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnaryOp {
    Neg,
    Plus,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    /// `||` string concatenation.
    Concat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    Literal(Literal),
    /// `name` or `source.name`. Pseudo-columns (`ROWTIME`, `WINDOWSTART`, ...) are columns too.
    Column { source: Option<String>, name: String },
    /// `base->field`.
    Dereference { base: Box<Expr>, field: String },
    /// `base[index]` (arrays: 1-based, negative from the end) or `base['key']` (maps).
    Subscript { base: Box<Expr>, index: Box<Expr> },
    Unary { op: UnaryOp, expr: Box<Expr> },
    Binary { op: BinaryOp, left: Box<Expr>, right: Box<Expr> },
    /// `expr IS [NOT] NULL`.
    IsNull { expr: Box<Expr>, negated: bool },
    /// `left IS [NOT] DISTINCT FROM right`.
    IsDistinctFrom { left: Box<Expr>, right: Box<Expr>, negated: bool },
    /// `expr [NOT] LIKE pattern [ESCAPE 'c']`.
    Like { expr: Box<Expr>, pattern: Box<Expr>, escape: Option<char>, negated: bool },
    /// `expr [NOT] BETWEEN low AND high`.
    Between { expr: Box<Expr>, low: Box<Expr>, high: Box<Expr>, negated: bool },
    /// `expr [NOT] IN (a, b, ...)`.
    InList { expr: Box<Expr>, list: Vec<Expr>, negated: bool },
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`.
    Case { operand: Option<Box<Expr>>, when_then: Vec<(Expr, Expr)>, else_result: Option<Box<Expr>> },
    /// `CAST(expr AS type)`.
    Cast { expr: Box<Expr>, ty: AstType },
    /// `name(args)`; `COUNT(*)` has the single argument [`Expr::Star`]; the name upper-cased.
    Function { name: String, args: Vec<Expr>, distinct: bool },
    /// `*` as a function argument.
    Star,
    /// `x => body` or `(x, y) => body`.
    Lambda { params: Vec<String>, body: Box<Expr> },
    /// `ARRAY[a, b]`.
    Array(Vec<Expr>),
    /// `MAP(k := v, ...)`.
    Map(Vec<(Expr, Expr)>),
    /// `STRUCT(name := v, ...)`.
    Struct(Vec<(String, Expr)>),
}

impl AstType {
    /// The [`crate::SqlType`] this names, looking named types up with `named`.
    ///
    /// # Errors
    /// [`crate::Error::Analysis`] for an unknown named type or a decimal outside 1..=38 digits.
    pub fn resolve(&self, named: &dyn Fn(&str) -> Option<crate::SqlType>) -> crate::Result<crate::SqlType> {
        use crate::SqlType as T;
        Ok(match self {
            AstType::Boolean => T::Boolean,
            AstType::Int => T::Int,
            AstType::BigInt => T::BigInt,
            AstType::Double => T::Double,
            AstType::Decimal { precision, scale } => {
                if *precision == 0 || *precision > 38 {
                    return crate::analysis_err!("DECIMAL precision must be in [1, 38]: {precision}");
                }
                if scale > precision {
                    return crate::analysis_err!("DECIMAL scale must be equal to or less than precision. Precision: {precision}, scale: {scale}");
                }
                T::Decimal { precision: *precision, scale: *scale }
            }
            AstType::String => T::String,
            AstType::Bytes => T::Bytes,
            AstType::Date => T::Date,
            AstType::Time => T::Time,
            AstType::Timestamp => T::Timestamp,
            AstType::Array(t) => T::Array(Box::new(t.resolve(named)?)),
            AstType::Map(k, v) => T::Map(Box::new(k.resolve(named)?), Box::new(v.resolve(named)?)),
            AstType::Struct(fields) => T::Struct(fields.iter().map(|(n, t)| Ok((n.clone(), t.resolve(named)?))).collect::<crate::Result<_>>()?),
            AstType::Named(name) => match named(name) {
                Some(t) => t,
                None => return crate::analysis_err!("unknown type \"{name}\""),
            },
        })
    }
}
