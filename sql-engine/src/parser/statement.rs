//! Statements and the `SELECT` body (SqlBase.g4's `statement`, `query`, `relation`, window and
//! join clauses).

use super::ast::{
    AliasedSource, ColumnConstraint, ConnectorKind, CreateAsSelect, CreateSource, Emit, ExplainTarget, From, Join, JoinKind,
    Properties, Query, SelectItem, Show, SourceKind, Statement, TableElement, TerminateTarget, WindowExpr, Within,
};
use super::cursor::{is_reserved, Parser};
use super::lexer::Tok;
use crate::{Error, Result};

/// The words a statement can start with, for "expecting" lists and "did you mean" hints.
const STATEMENT_STARTS: &[&str] = &[
    "ALTER", "CREATE", "DEFINE", "DESCRIBE", "DROP", "EXPLAIN", "INSERT", "LIST", "PRINT", "RUN", "SELECT", "SET", "SHOW",
    "TERMINATE", "UNDEFINE", "UNSET",
];

impl Parser<'_> {
    fn unsupported<T>(&self, what: &str) -> Result<T> {
        let pos = self.peek().pos;
        Err(Error::Unsupported(format!("line {}:{}: {what} is not supported", pos.line, pos.column)))
    }

    /// One statement, up to (not including) its `;`.
    pub(crate) fn statement(&mut self) -> Result<Statement> {
        let Tok::Word(first) = self.nth(0).clone() else {
            for s in STATEMENT_STARTS {
                self.expecting_kw(s);
            }
            return self.unexpected();
        };
        match first.to_ascii_uppercase().as_str() {
            "SELECT" => Ok(Statement::Query(Box::new(self.query(false)?))),
            "CREATE" => self.create(),
            "INSERT" => self.insert(),
            "DROP" => self.drop(),
            "ALTER" => self.alter(),
            "TERMINATE" => {
                self.advance();
                if self.eat_kw("ALL") {
                    Ok(Statement::Terminate(TerminateTarget::All))
                } else {
                    Ok(Statement::Terminate(TerminateTarget::Query(self.ident()?)))
                }
            }
            "SHOW" | "LIST" => self.show(),
            "DESCRIBE" => self.describe(),
            "EXPLAIN" => {
                self.advance();
                let query_id = self.nth_is_ident(0) && matches!(self.nth(1), Tok::Semicolon | Tok::Eof);
                if query_id {
                    Ok(Statement::Explain(ExplainTarget::QueryId(self.ident()?)))
                } else {
                    Ok(Statement::Explain(ExplainTarget::Statement(Box::new(self.statement()?))))
                }
            }
            "PRINT" => self.print(),
            "SET" => {
                self.advance();
                let name = self.string()?;
                self.expect(&Tok::Eq)?;
                let value = self.string()?;
                Ok(Statement::SetProperty { name, value })
            }
            "UNSET" => {
                self.advance();
                Ok(Statement::UnsetProperty { name: self.string()? })
            }
            "DEFINE" => {
                self.advance();
                let name = self.variable_name()?;
                self.expect(&Tok::Eq)?;
                let value = self.string()?;
                Ok(Statement::DefineVariable { name, value })
            }
            "UNDEFINE" => {
                self.advance();
                Ok(Statement::UndefineVariable { name: self.variable_name()? })
            }
            "RUN" => {
                self.advance();
                self.expect_kw("SCRIPT")?;
                Ok(Statement::RunScript { path: self.string()? })
            }
            "ASSERT" => self.unsupported("ASSERT"),
            _ => {
                let mut detail = format!("Unknown statement '{first}'");
                if let Some(s) = suggestion(&first) {
                    detail.push_str(&format!("\nDid you mean '{s}'?"));
                }
                self.syntax_error(detail)
            }
        }
    }

    /// `variableName`: a plain word, as written (reserved words allowed, as ksqlDB allows them).
    fn variable_name(&mut self) -> Result<String> {
        match self.nth(0).clone() {
            Tok::Word(w) => {
                self.advance();
                Ok(w)
            }
            _ => {
                self.expecting("IDENTIFIER");
                self.unexpected()
            }
        }
    }

    fn source_kind(&mut self) -> Result<SourceKind> {
        if self.eat_kw("STREAM") {
            Ok(SourceKind::Stream)
        } else if self.eat_kw("TABLE") {
            Ok(SourceKind::Table)
        } else {
            self.unexpected()
        }
    }

    fn if_not_exists(&mut self) -> Result<bool> {
        if self.eat_kw("IF") {
            self.expect_kw("NOT")?;
            self.expect_kw("EXISTS")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn if_exists(&mut self) -> Result<bool> {
        if self.eat_kw("IF") {
            self.expect_kw("EXISTS")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn create(&mut self) -> Result<Statement> {
        self.expect_kw("CREATE")?;
        let or_replace = if self.eat_kw("OR") {
            self.expect_kw("REPLACE")?;
            true
        } else {
            false
        };
        if !or_replace && self.nth_is_kw(0, "TYPE") {
            self.advance();
            let if_not_exists = self.if_not_exists()?;
            let name = self.ident()?;
            self.expect_kw("AS")?;
            let ty = self.ty()?;
            return Ok(Statement::CreateType { name, ty, if_not_exists });
        }
        if !or_replace && (self.nth_is_kw(0, "SOURCE") || self.nth_is_kw(0, "SINK")) && self.nth_is_kw(1, "CONNECTOR") {
            let kind = if self.eat_kw("SOURCE") { ConnectorKind::Source } else { self.advance(); ConnectorKind::Sink };
            self.expect_kw("CONNECTOR")?;
            let if_not_exists = self.if_not_exists()?;
            let name = self.ident()?;
            self.expect_kw("WITH")?;
            let config = self.connector_config()?;
            return Ok(Statement::CreateConnector { name, kind, if_not_exists, config });
        }
        let is_source = self.eat_kw("SOURCE");
        if !or_replace && !is_source {
            self.expecting_kw("OR");
            self.expecting_kw("SOURCE");
            self.expecting_kw("TYPE");
        }
        let kind = self.source_kind()?;
        let if_not_exists = self.if_not_exists()?;
        let name = self.source_name()?;
        let mut elements = Vec::new();
        let has_elements = self.check(&Tok::LParen);
        if has_elements {
            self.advance();
            loop {
                elements.push(self.table_element()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RParen)?;
        }
        let properties = if self.eat_kw("WITH") { self.properties()? } else { Vec::new() };
        if !has_elements && !is_source && self.eat_kw("AS") {
            let query = self.query(true)?;
            return Ok(Statement::CreateAsSelect(CreateAsSelect {
                kind,
                name,
                or_replace,
                if_not_exists,
                properties,
                query: Box::new(query),
            }));
        }
        Ok(Statement::CreateSource(CreateSource { kind, name, or_replace, if_not_exists, is_source, elements, properties }))
    }

    fn table_element(&mut self) -> Result<TableElement> {
        let name = self.ident()?;
        let ty = self.ty()?;
        let constraint = if self.eat_kw("PRIMARY") {
            self.expect_kw("KEY")?;
            ColumnConstraint::PrimaryKey
        } else if self.eat_kw("KEY") {
            ColumnConstraint::Key
        } else if self.eat_kw("HEADERS") {
            ColumnConstraint::Headers
        } else if self.eat_kw("HEADER") {
            self.expect(&Tok::LParen)?;
            let key = self.string()?;
            self.expect(&Tok::RParen)?;
            ColumnConstraint::Header(key)
        } else {
            ColumnConstraint::None
        };
        Ok(TableElement { name, ty, constraint })
    }

    /// `tableProperties`: `(name = literal, ...)`, names upper-cased.
    fn properties(&mut self) -> Result<Properties> {
        self.expect(&Tok::LParen)?;
        let mut props: Properties = Vec::new();
        loop {
            let pos = self.peek().pos;
            let name = match self.nth(0).clone() {
                Tok::Str(s) => {
                    self.advance();
                    s
                }
                _ => self.ident()?,
            }
            .to_uppercase();
            self.expect(&Tok::Eq)?;
            let value = self.literal()?;
            if props.iter().any(|(n, _)| *n == name) {
                return Err(self.error_at(pos, format!("Duplicate property: {name}")));
            }
            props.push((name, value));
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RParen)?;
        Ok(props)
    }

    /// A connector's `WITH (...)`: `'key' = literal`, the keys kept as written, the values as
    /// their text (`'a'` -> `a`, `10` -> `10`).
    fn connector_config(&mut self) -> Result<Vec<(String, String)>> {
        use crate::parser::ast::Literal;
        self.expect(&Tok::LParen)?;
        let mut config: Vec<(String, String)> = Vec::new();
        loop {
            let pos = self.peek().pos;
            let key = match self.nth(0).clone() {
                Tok::Str(s) => {
                    self.advance();
                    s
                }
                _ => self.ident()?,
            };
            self.expect(&Tok::Eq)?;
            let value = match self.literal()? {
                Literal::Null => return Err(self.error_at(pos, format!("connector property '{key}' cannot be NULL"))),
                Literal::Boolean(b) => b.to_string(),
                Literal::Int(i) => i.to_string(),
                Literal::BigInt(i) => i.to_string(),
                Literal::Decimal(d) => d,
                Literal::Double(d) => d.to_string(),
                Literal::String(s) => s,
                Literal::Bytes(_) => return Err(self.error_at(pos, format!("connector property '{key}' must be a string or a number"))),
            };
            if config.iter().any(|(k, _)| *k == key) {
                return Err(self.error_at(pos, format!("Duplicate property: {key}")));
            }
            config.push((key, value));
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RParen)?;
        Ok(config)
    }

    fn insert(&mut self) -> Result<Statement> {
        self.expect_kw("INSERT")?;
        self.expect_kw("INTO")?;
        let target = self.source_name()?;
        // `INSERT INTO t (cols) VALUES (...)` / `INSERT INTO t VALUES (...)`.
        if self.check(&Tok::LParen) || self.check_kw("VALUES") {
            let mut columns = Vec::new();
            if self.eat(&Tok::LParen) {
                loop {
                    columns.push(self.ident()?);
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(&Tok::RParen)?;
            }
            self.expect_kw("VALUES")?;
            self.expect(&Tok::LParen)?;
            let mut values = Vec::new();
            if !self.eat(&Tok::RParen) {
                loop {
                    values.push(self.nested(|p| p.value_expr())?);
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(&Tok::RParen)?;
            }
            return Ok(Statement::InsertValues { target, columns, values });
        }
        let properties = if self.eat_kw("WITH") { self.properties()? } else { Vec::new() };
        let query = self.query(true)?;
        Ok(Statement::InsertInto { target, query: Box::new(query), properties })
    }

    fn drop(&mut self) -> Result<Statement> {
        self.expect_kw("DROP")?;
        if self.eat_kw("TYPE") {
            let if_exists = self.if_exists()?;
            let name = self.ident()?;
            return Ok(Statement::DropType { name, if_exists });
        }
        if self.eat_kw("CONNECTOR") {
            let if_exists = self.if_exists()?;
            let name = self.ident()?;
            return Ok(Statement::DropConnector { name, if_exists });
        }
        self.expecting_kw("TYPE");
        let kind = self.source_kind()?;
        let if_exists = self.if_exists()?;
        let name = self.source_name()?;
        let delete_topic = if self.eat_kw("DELETE") {
            self.expect_kw("TOPIC")?;
            true
        } else {
            false
        };
        Ok(Statement::DropSource { kind, name, if_exists, delete_topic })
    }

    fn alter(&mut self) -> Result<Statement> {
        self.expect_kw("ALTER")?;
        if self.nth_is_kw(0, "SYSTEM") {
            return self.unsupported("ALTER SYSTEM");
        }
        let kind = self.source_kind()?;
        let name = self.source_name()?;
        let mut add_columns = Vec::new();
        loop {
            self.expect_kw("ADD")?;
            self.eat_kw("COLUMN");
            let col = self.ident()?;
            let ty = self.ty()?;
            add_columns.push(TableElement { name: col, ty, constraint: ColumnConstraint::None });
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        Ok(Statement::AlterSource { kind, name, add_columns })
    }

    fn show(&mut self) -> Result<Statement> {
        self.advance(); // SHOW | LIST
        let show = if self.eat_kw("PROPERTIES") {
            Show::Properties
        } else if self.eat_kw("ALL") {
            self.expect_kw("TOPICS")?;
            Show::Topics { all: true, extended: self.eat_kw("EXTENDED") }
        } else if self.eat_kw("TOPICS") {
            Show::Topics { all: false, extended: self.eat_kw("EXTENDED") }
        } else if self.eat_kw("STREAMS") {
            Show::Streams { extended: self.eat_kw("EXTENDED") }
        } else if self.eat_kw("TABLES") {
            Show::Tables { extended: self.eat_kw("EXTENDED") }
        } else if self.eat_kw("QUERIES") {
            Show::Queries { extended: self.eat_kw("EXTENDED") }
        } else if self.eat_kw("FUNCTIONS") {
            Show::Functions
        } else if self.eat_kw("TYPES") {
            Show::Types
        } else if self.eat_kw("VARIABLES") {
            Show::Variables
        } else if self.eat_kw("CONNECTORS") {
            Show::Connectors { kind: None }
        } else if (self.nth_is_kw(0, "SOURCE") || self.nth_is_kw(0, "SINK")) && self.nth_is_kw(1, "CONNECTORS") {
            let kind = if self.eat_kw("SOURCE") { ConnectorKind::Source } else { self.advance(); ConnectorKind::Sink };
            self.advance();
            Show::Connectors { kind: Some(kind) }
        } else {
            return self.unexpected();
        };
        Ok(Statement::Show(show))
    }

    fn describe(&mut self) -> Result<Statement> {
        self.expect_kw("DESCRIBE")?;
        if self.eat_kw("STREAMS") {
            return Ok(Statement::Show(Show::Streams { extended: self.eat_kw("EXTENDED") }));
        }
        if self.nth_is_kw(0, "FUNCTION") && self.nth_is_ident(1) {
            self.advance();
            let name = self.ident()?.to_uppercase();
            return Ok(Statement::DescribeFunction { name });
        }
        if self.nth_is_kw(0, "CONNECTOR") && self.nth_is_ident(1) {
            self.advance();
            let name = self.ident()?;
            return Ok(Statement::DescribeConnector { name });
        }
        // `DESCRIBE EXTENDED x` (the documented form) and `DESCRIBE x EXTENDED` (the grammar's).
        let mut extended = self.eat_kw("EXTENDED");
        if !extended {
            self.expecting_kw("STREAMS");
            self.expecting_kw("FUNCTION");
        }
        let tables = self.nth_is_kw(0, "TABLES");
        let name = self.source_name()?;
        if !extended {
            extended = self.eat_kw("EXTENDED");
        }
        if tables {
            return Ok(Statement::Show(Show::Tables { extended }));
        }
        Ok(Statement::Describe { name, extended })
    }

    fn print(&mut self) -> Result<Statement> {
        self.expect_kw("PRINT")?;
        let topic = match self.nth(0).clone() {
            Tok::Str(s) => {
                self.advance();
                s
            }
            _ => {
                self.expecting("STRING");
                self.ident_cased(true)?
            }
        };
        let from_beginning = if self.eat_kw("FROM") {
            self.expect_kw("BEGINNING")?;
            true
        } else {
            false
        };
        let mut interval = None;
        if self.check_kw("INTERVAL") || self.check_kw("SAMPLE") {
            let what = if self.nth_is_kw(0, "INTERVAL") { "INTERVAL" } else { "SAMPLE" };
            self.advance();
            interval = Some(self.integer(what)?);
        }
        let limit = if self.eat_kw("LIMIT") { Some(self.integer("LIMIT")?) } else { None };
        Ok(Statement::Print { topic, from_beginning, interval, limit })
    }

    /// `query`. `persistent` for CSAS/CTAS/INSERT INTO, whose queries emit changes unless
    /// they say `EMIT FINAL`; a standalone `SELECT` without `EMIT` is a pull query.
    pub(crate) fn query(&mut self, persistent: bool) -> Result<Query> {
        self.expect_kw("SELECT")?;
        let mut select = Vec::new();
        loop {
            select.push(self.select_item()?);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect_kw("FROM")?;
        let from = self.relation()?;
        let window = if self.eat_kw("WINDOW") { Some(self.window()?) } else { None };
        let where_clause = if self.eat_kw("WHERE") { Some(self.expr()?) } else { None };
        let group_by = if self.eat_kw("GROUP") {
            self.expect_kw("BY")?;
            self.expr_list()?
        } else {
            Vec::new()
        };
        let partition_by = if self.nth_is_kw(0, "PARTITION") && self.nth_is_kw(1, "BY") {
            self.advance();
            self.advance();
            self.expr_list()?
        } else {
            self.expecting_kw("PARTITION");
            Vec::new()
        };
        let having = if self.eat_kw("HAVING") { Some(self.expr()?) } else { None };
        let mut emit = if self.eat_kw("EMIT") {
            if self.eat_kw("CHANGES") {
                Some(Emit::Changes)
            } else if self.eat_kw("FINAL") {
                Some(Emit::Final)
            } else {
                return self.unexpected();
            }
        } else {
            None
        };
        if persistent && emit.is_none() {
            emit = Some(Emit::Changes);
        }
        let limit = if self.eat_kw("LIMIT") { Some(self.integer("LIMIT")?) } else { None };
        Ok(Query { select, from, window, where_clause, group_by, partition_by, having, emit, limit })
    }

    /// `GROUP BY` / `PARTITION BY` expressions: `a, b` or `(a, b)`.
    fn expr_list(&mut self) -> Result<Vec<crate::parser::ast::Expr>> {
        if matches!(self.nth(0), Tok::LParen) {
            let mark = self.mark();
            if let Some(list) = self.paren_list()? {
                return Ok(list);
            }
            self.reset(mark);
        }
        let mut list = vec![self.nested(|p| p.value_expr())?];
        while self.eat(&Tok::Comma) {
            list.push(self.nested(|p| p.value_expr())?);
        }
        Ok(list)
    }

    /// `(a, b)` ending the clause, or `None` to re-parse as expressions (`(a + b) * 2`).
    fn paren_list(&mut self) -> Result<Option<Vec<crate::parser::ast::Expr>>> {
        self.advance();
        let mut list = Vec::new();
        loop {
            match self.nested(|p| p.value_expr()) {
                Ok(e) => list.push(e),
                Err(_) => return Ok(None),
            }
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        if !self.eat(&Tok::RParen) {
            return Ok(None);
        }
        let ends_clause = match self.nth(0) {
            Tok::Semicolon | Tok::Eof => true,
            Tok::Word(w) => ["PARTITION", "HAVING", "EMIT", "LIMIT"].iter().any(|k| k.eq_ignore_ascii_case(w)),
            _ => false,
        };
        Ok(if ends_clause { Some(list) } else { None })
    }

    fn select_item(&mut self) -> Result<SelectItem> {
        if self.eat(&Tok::Star) {
            return Ok(SelectItem::Star);
        }
        if self.nth_is_ident(0) && matches!(self.nth(1), Tok::Dot) && matches!(self.nth(2), Tok::Star) {
            let source = self.ident()?;
            self.advance();
            self.advance();
            return Ok(SelectItem::QualifiedStar(source));
        }
        let expr = self.expr()?;
        if matches!(self.nth(0), Tok::Arrow) && matches!(self.nth(1), Tok::Star) {
            self.advance();
            self.advance();
            return Ok(SelectItem::StructAll(expr));
        }
        let alias = if self.eat_kw("AS") || self.nth_is_ident(0) { Some(self.ident()?) } else { None };
        Ok(SelectItem::Expr { expr, alias })
    }

    /// Whether the current word starts the next clause rather than being an alias.
    fn at_clause_keyword(&self) -> bool {
        (self.nth_is_kw(0, "PARTITION") && self.nth_is_kw(1, "BY"))
            || (self.nth_is_kw(0, "EMIT") && (self.nth_is_kw(1, "CHANGES") || self.nth_is_kw(1, "FINAL")))
    }

    fn aliased_source(&mut self) -> Result<AliasedSource> {
        let name = self.source_name()?;
        let alias = if self.eat_kw("AS") || (self.nth_is_ident(0) && !self.at_clause_keyword()) {
            Some(self.source_name()?)
        } else {
            None
        };
        Ok(AliasedSource { name, alias })
    }

    fn relation(&mut self) -> Result<From> {
        let source = self.aliased_source()?;
        let mut joins = Vec::new();
        loop {
            let kind = if self.eat_kw("JOIN") {
                JoinKind::Inner
            } else if self.eat_kw("INNER") {
                self.expect_kw("JOIN")?;
                JoinKind::Inner
            } else if self.eat_kw("LEFT") {
                self.eat_kw("OUTER");
                self.expect_kw("JOIN")?;
                JoinKind::Left
            } else if self.eat_kw("RIGHT") {
                self.eat_kw("OUTER");
                self.expect_kw("JOIN")?;
                JoinKind::Right
            } else if self.eat_kw("FULL") {
                self.eat_kw("OUTER");
                self.expect_kw("JOIN")?;
                JoinKind::Full
            } else {
                break;
            };
            let right = self.aliased_source()?;
            let within = if self.eat_kw("WITHIN") { Some(self.within()?) } else { None };
            self.expect_kw("ON")?;
            let on = self.expr()?;
            joins.push(Join { kind, right, on, within });
        }
        Ok(From { source, joins })
    }

    /// `number windowUnit` in milliseconds.
    fn duration(&mut self, what: &str) -> Result<u64> {
        let pos = self.peek().pos;
        let n = self.integer(what)?;
        let unit = match self.nth(0) {
            Tok::Word(w) => match w.to_ascii_uppercase().as_str() {
                "MILLISECOND" | "MILLISECONDS" => Some(1u64),
                "SECOND" | "SECONDS" => Some(1_000),
                "MINUTE" | "MINUTES" => Some(60_000),
                "HOUR" | "HOURS" => Some(3_600_000),
                "DAY" | "DAYS" => Some(86_400_000),
                _ => None,
            },
            _ => None,
        };
        let Some(unit) = unit else {
            for u in ["DAY", "HOUR", "MINUTE", "SECOND", "MILLISECOND", "DAYS", "HOURS", "MINUTES", "SECONDS", "MILLISECONDS"] {
                self.expecting_kw(u);
            }
            return self.unexpected();
        };
        self.advance();
        n.checked_mul(unit)
            .ok_or_else(|| self.error_at(pos, format!("Invalid duration for {what}: {n} overflows milliseconds")))
    }

    fn grace(&mut self) -> Result<Option<u64>> {
        if self.eat_kw("GRACE") {
            self.expect_kw("PERIOD")?;
            Ok(Some(self.duration("GRACE PERIOD")?))
        } else {
            Ok(None)
        }
    }

    fn within(&mut self) -> Result<Within> {
        let (before_ms, after_ms) = if self.eat(&Tok::LParen) {
            let before = self.duration("WITHIN")?;
            self.expect(&Tok::Comma)?;
            let after = self.duration("WITHIN")?;
            self.expect(&Tok::RParen)?;
            (before, after)
        } else {
            let size = self.duration("WITHIN")?;
            (size, size)
        };
        let grace_ms = self.grace()?;
        Ok(Within { before_ms, after_ms, grace_ms })
    }

    /// `[, RETENTION n unit] [, GRACE PERIOD n unit] )`.
    fn window_tail(&mut self) -> Result<(Option<u64>, Option<u64>)> {
        let mut retention = None;
        let mut grace = None;
        while grace.is_none() && self.eat(&Tok::Comma) {
            if retention.is_none() && self.eat_kw("RETENTION") {
                retention = Some(self.duration("RETENTION")?);
            } else if self.eat_kw("GRACE") {
                self.expect_kw("PERIOD")?;
                grace = Some(self.duration("GRACE PERIOD")?);
            } else {
                return self.unexpected();
            }
        }
        self.expect(&Tok::RParen)?;
        Ok((retention, grace))
    }

    fn window(&mut self) -> Result<WindowExpr> {
        // An optional window name (`IDENTIFIER`): ignored, as ksqlDB only prints it.
        if let Tok::Word(w) = self.nth(0) {
            let next_is_kind = self.nth_is_kw(1, "TUMBLING") || self.nth_is_kw(1, "HOPPING") || self.nth_is_kw(1, "SESSION");
            if !is_reserved(w) && next_is_kind {
                self.advance();
            }
        }
        if self.eat_kw("TUMBLING") {
            self.expect(&Tok::LParen)?;
            self.expect_kw("SIZE")?;
            let size_ms = self.duration("SIZE")?;
            let (retention_ms, grace_ms) = self.window_tail()?;
            Ok(WindowExpr::Tumbling { size_ms, retention_ms, grace_ms })
        } else if self.eat_kw("HOPPING") {
            self.expect(&Tok::LParen)?;
            self.expect_kw("SIZE")?;
            let size_ms = self.duration("SIZE")?;
            self.expect(&Tok::Comma)?;
            self.expect_kw("ADVANCE")?;
            self.expect_kw("BY")?;
            let advance_ms = self.duration("ADVANCE BY")?;
            let (retention_ms, grace_ms) = self.window_tail()?;
            Ok(WindowExpr::Hopping { size_ms, advance_ms, retention_ms, grace_ms })
        } else if self.eat_kw("SESSION") {
            self.expect(&Tok::LParen)?;
            let gap_ms = self.duration("SESSION")?;
            let (retention_ms, grace_ms) = self.window_tail()?;
            Ok(WindowExpr::Session { gap_ms, retention_ms, grace_ms })
        } else {
            self.unexpected()
        }
    }
}

/// A statement keyword within two edits of `word`, for "Did you mean" hints.
fn suggestion(word: &str) -> Option<&'static str> {
    let w = word.to_ascii_uppercase();
    if w.len() > 20 {
        return None;
    }
    STATEMENT_STARTS
        .iter()
        .map(|s| (edit_distance(&w, s), *s))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, s)| s)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
