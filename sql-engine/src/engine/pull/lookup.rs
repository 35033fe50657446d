//! What a pull query's `WHERE` clause lets a table's store answer without a scan, as ksqlDB's
//! `QueryFilterNode` extracts it: the clause is read as a disjunction of conjunctions; a
//! disjunct whose conjuncts give every key column a value (`K = x`, `K IN (...)`, over several
//! key columns for multi-column keys) is a set of point gets, bounds on `WINDOWSTART` /
//! `WINDOWEND` (`=`, `<`, `<=`, `>`, `>=`, `BETWEEN`) narrow the windows fetched. Anything
//! else makes the query a table scan (`ksql.query.pull.table.scan.enabled`, on by default in
//! ksqlDB 0.29). The whole `WHERE` clause is applied to what the store returns either way, so
//! a lookup only ever narrows what is read.
//!
//! Key ranges (`K > x AND K < y`) scan with the filter: stores keep keys in Brook's internal
//! encoding, which does not preserve order (ksqlDB range-scans `STRING` and `BYTES` keys).

use crate::analyzer::{WINDOWEND, WINDOWSTART};
use crate::analyzer::ExprEnv;
use crate::catalog::WindowType;
use crate::expr::Scope;
use crate::parser::ast::{BinaryOp, Expr, Literal};
use crate::{Column, Error, Result, Row, SqlType, Value};

use crate::engine::store_read::{StoreKind, StoreRead};

/// ksqlDB's `PullQueryValidator.PULL_QUERY_SYNTAX_HELP`.
pub(crate) const SYNTAX_HELP: &str = " See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.";

/// ksqlDB's `QueryFilterNode.invalidWhereClauseException`.
pub(crate) fn invalid_where(msg: &str, windowed: bool) -> Error {
    let additional = if windowed {
        "\n - (optionally) limits the time bounds of the windowed table.\n\t Bounds on [WINDOWSTART, WINDOWEND] are supported\n\t Supported operators are [EQUAL, GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL]"
    } else {
        ""
    };
    Error::Analysis(format!(
        "{msg}.{SYNTAX_HELP}\nPull queries require a WHERE clause that:\n - includes a key equality expression, e.g. `SELECT * FROM X WHERE <key-column> = Y;`.\n - in the case of a multi-column key, is a conjunction of equality expressions that cover all key columns.\n - to support range expressions, e.g.,  SELECT * FROM X WHERE <key-column> < Y;`, range scans need to be enabled by setting ksql.query.pull.range.scan.enabled=true{additional}\nIf more flexible queries are needed, , table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true."
    ))
}

/// Bounds on one window column: inclusive lower and upper bounds, and whether each was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    lower: Option<i64>,
    upper: Option<i64>,
    equal: bool,
}

impl Range {
    const ANY: Range = Range { lower: None, upper: None, equal: false };

    /// The smallest range holding both (a bound missing on either side is missing).
    fn hull(self, o: Range) -> Range {
        let both = |a: Option<i64>, b: Option<i64>, f: fn(i64, i64) -> i64| a.zip(b).map(|(a, b)| f(a, b));
        Range { lower: both(self.lower, o.lower, i64::min), upper: both(self.upper, o.upper, i64::max), equal: false }
    }
}

/// What a pull query's `WHERE` clause reads from a table's store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lookup {
    /// The keys to get (each a full key row); `None`: scan.
    pub(crate) keys: Option<Vec<Row>>,
    start: Range,
    end: Range,
}

impl Lookup {
    /// A scan of everything.
    pub(crate) fn scan() -> Lookup {
        Lookup { keys: None, start: Range::ANY, end: Range::ANY }
    }

    /// The store read for a store of `kind`, keys serialized by `key_bytes`.
    pub(crate) fn read(&self, kind: StoreKind, key_bytes: impl Fn(&Row) -> Result<Vec<u8>>) -> Result<StoreRead> {
        let keys = self.keys.as_ref().map(|ks| ks.iter().map(&key_bytes).collect::<Result<Vec<_>>>()).transpose()?;
        let lo = |r: Range| r.lower.unwrap_or(i64::MIN);
        let hi = |r: Range| r.upper.unwrap_or(i64::MAX);
        Ok(match kind {
            StoreKind::KeyValue => StoreRead::KeyValue(keys),
            StoreKind::Window(size) => {
                // A window ends `size` after it starts: bounds on its end bound its start.
                let from = lo(self.start).max(self.end.lower.map_or(i64::MIN, |e| e.saturating_sub(size)));
                let to = hi(self.start).min(self.end.upper.map_or(i64::MAX, |e| e.saturating_sub(size)));
                StoreRead::Window { keys, from, to }
            }
            // A session ends at or after its start.
            StoreKind::Session => StoreRead::Session {
                keys,
                earliest_end: lo(self.end).max(lo(self.start)),
                latest_start: hi(self.start).min(hi(self.end)),
            },
        })
    }
}

/// The terms of `e` joined by `op` (`AND` or `OR`), flattened.
fn split(e: &Expr, op: BinaryOp) -> Vec<&Expr> {
    match e {
        Expr::Binary { op: o, left, right } if *o == op => {
            let mut v = split(left, op);
            v.extend(split(right, op));
            v
        }
        other => vec![other],
    }
}

/// The column a comparison side names, if it is a plain column.
fn column(e: &Expr) -> Option<&str> {
    match e {
        Expr::Column { name, .. } => Some(name),
        _ => None,
    }
}

/// Whether `e` refers to no column (a value the query can work out once).
fn constant(e: &Expr) -> bool {
    match e {
        Expr::Column { .. } => false,
        Expr::Literal(_) => true,
        Expr::Unary { expr, .. } | Expr::Cast { expr, .. } => constant(expr),
        Expr::Binary { left, right, .. } => constant(left) && constant(right),
        Expr::Function { args, .. } => args.iter().all(constant),
        _ => false,
    }
}

/// ksqlDB's name of a comparison (`ComparisonExpression.Type`).
fn op_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Eq => "EQUAL",
        BinaryOp::NotEq => "NOT_EQUAL",
        BinaryOp::Lt => "LESS_THAN",
        BinaryOp::LtEq => "LESS_THAN_OR_EQUAL",
        BinaryOp::Gt => "GREATER_THAN",
        _ => "GREATER_THAN_OR_EQUAL",
    }
}

/// Reads a `WHERE` clause for [`Lookup`]s.
pub(crate) struct Analyzer<'a> {
    pub(crate) env: &'a ExprEnv,
    pub(crate) key: &'a [Column],
    pub(crate) window: Option<WindowType>,
}

/// One disjunct's findings.
struct Disjunct {
    values: Vec<Option<Vec<Value>>>,
    start: Range,
    end: Range,
}

impl Analyzer<'_> {
    /// The lookup `where_clause` allows (`None`: a scan).
    ///
    /// # Errors
    /// ksqlDB's messages for window bounds it rejects.
    pub(crate) fn lookup(&self, where_clause: Option<&Expr>) -> Result<Lookup> {
        let Some(w) = where_clause else { return Ok(Lookup::scan()) };
        let mut keys: Option<Vec<Row>> = Some(Vec::new());
        let (mut start, mut end) = (None::<Range>, None::<Range>);
        for d in split(w, BinaryOp::Or) {
            let found = self.disjunct(d)?;
            start = Some(start.map_or(found.start, |s| s.hull(found.start)));
            end = Some(end.map_or(found.end, |e| e.hull(found.end)));
            match (&mut keys, found.values.into_iter().collect::<Option<Vec<_>>>()) {
                (Some(all), Some(per_column)) if !self.key.is_empty() => {
                    for k in product(&per_column) {
                        if !all.contains(&k) {
                            all.push(k);
                        }
                    }
                }
                _ => keys = None,
            }
        }
        Ok(Lookup { keys, start: start.unwrap_or(Range::ANY), end: end.unwrap_or(Range::ANY) })
    }

    fn disjunct(&self, d: &Expr) -> Result<Disjunct> {
        let mut out = Disjunct { values: vec![None; self.key.len()], start: Range::ANY, end: Range::ANY };
        for c in split(d, BinaryOp::And) {
            match c {
                Expr::Binary { op, left, right } if matches!(op, BinaryOp::Eq | BinaryOp::NotEq | BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq) => {
                    let text = format!("({} {} {})", side(left), op_symbol(*op), side(right));
                    // The column on either side, the comparison as if it were on the left.
                    let (col, other, op) = match (column(left), column(right)) {
                        (Some(c), _) if constant(right) => (c, &**right, *op),
                        (_, Some(c)) if constant(left) => (c, &**left, flip(*op)),
                        _ => continue,
                    };
                    if col == WINDOWSTART || col == WINDOWEND {
                        self.window_bound(&mut out, col, op, other, &text)?;
                    } else if let (Some(i), BinaryOp::Eq) = (self.key.iter().position(|k| k.name == col), op) {
                        if let Some(v) = self.key_value(&self.key[i].ty, other) {
                            narrow(&mut out.values[i], vec![v]);
                        }
                    }
                }
                Expr::Between { expr, low, high, negated: false } if constant(low) && constant(high) => {
                    if let Some(col) = column(expr).filter(|c| *c == WINDOWSTART || *c == WINDOWEND) {
                        self.window_bound(&mut out, col, BinaryOp::GtEq, low, &format!("({col} >= {})", side(low)))?;
                        self.window_bound(&mut out, col, BinaryOp::LtEq, high, &format!("({col} <= {})", side(high)))?;
                    }
                }
                Expr::InList { expr, list, negated: false } if list.iter().all(constant) => {
                    if let Some(i) = column(expr).and_then(|c| self.key.iter().position(|k| k.name == c)) {
                        let values: Option<Vec<Value>> = list.iter().map(|e| self.key_value(&self.key[i].ty, e)).collect();
                        if let Some(values) = values {
                            narrow(&mut out.values[i], values);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// `e` as a value of key type `ty` (widening only, as ksqlDB's strict coercion); `None`
    /// when it is not one (the filter decides then).
    fn key_value(&self, ty: &SqlType, e: &Expr) -> Option<Value> {
        let scope = Scope::new(vec![]);
        let c = crate::expr::compile_as(e, ty, false, &scope, &self.env.registry, &|t| self.env.types.get(t).cloned()).ok()?;
        c.eval(&[]).ok()
    }

    /// Adds a bound on window column `col` (`text`: the comparison, for messages).
    fn window_bound(&self, out: &mut Disjunct, col: &str, op: BinaryOp, other: &Expr, text: &str) -> Result<()> {
        if op == BinaryOp::NotEq {
            return Err(invalid_where(&format!("Unsupported {col} bounds: {}", op_name(op)), true));
        }
        if self.window.is_none() {
            return Err(invalid_where("Cannot use WINDOWSTART/WINDOWEND on non-windowed source", false));
        }
        let at = self.instant(other)?;
        let range = if col == WINDOWSTART { &mut out.start } else { &mut out.end };
        let duplicate = || Err(invalid_where(&format!("Duplicate {col} bounds on: {}", op_name(simplified(op))), true));
        let combined = || Err(invalid_where(&format!("`{text}` cannot be combined with other {col} bounds"), true));
        match op {
            BinaryOp::Eq => {
                if range.equal {
                    return duplicate();
                }
                if range.lower.is_some() || range.upper.is_some() {
                    return combined();
                }
                *range = Range { lower: Some(at), upper: Some(at), equal: true };
            }
            BinaryOp::Gt | BinaryOp::GtEq => {
                if range.lower.is_some() && !range.equal {
                    return duplicate();
                }
                if range.equal {
                    return combined();
                }
                range.lower = Some(if op == BinaryOp::Gt { at.saturating_add(1) } else { at });
            }
            _ => {
                if range.upper.is_some() && !range.equal {
                    return duplicate();
                }
                if range.equal {
                    return combined();
                }
                range.upper = Some(if op == BinaryOp::Lt { at.saturating_sub(1) } else { at });
            }
        }
        Ok(())
    }

    /// A window bound's value: milliseconds, or a datetime string (UTC unless it has an
    /// offset), as ksqlDB's `PartialStringToTimestampParser` reads them.
    fn instant(&self, e: &Expr) -> Result<i64> {
        let bad = || invalid_where("Window bounds must resolve to an INT, BIGINT, or STRING containing a datetime.", true);
        match e {
            Expr::Literal(Literal::Int(i)) => Ok(i64::from(*i)),
            Expr::Literal(Literal::BigInt(i)) => Ok(*i),
            Expr::Literal(Literal::String(s)) => {
                parse_partial_instant(s).ok_or_else(|| invalid_where(&format!("Failed to parse datetime: {s}"), true))
            }
            other => match self.key_value(&SqlType::BigInt, other) {
                Some(Value::BigInt(v)) => Ok(v),
                _ => Err(bad()),
            },
        }
    }
}

/// A comparison side as ksqlDB prints it in messages (literals and columns; `?` otherwise).
fn side(e: &Expr) -> String {
    match e {
        Expr::Column { name, .. } => name.clone(),
        Expr::Literal(Literal::Int(i)) => i.to_string(),
        Expr::Literal(Literal::BigInt(i)) => i.to_string(),
        Expr::Literal(Literal::String(s)) => format!("'{s}'"),
        Expr::Literal(Literal::Decimal(d)) => d.clone(),
        Expr::Literal(Literal::Null) => "null".into(),
        _ => "?".into(),
    }
}

fn op_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Eq => "=",
        BinaryOp::NotEq => "<>",
        BinaryOp::Lt => "<",
        BinaryOp::LtEq => "<=",
        BinaryOp::Gt => ">",
        _ => ">=",
    }
}

/// `e` with the datetime strings compared to `WINDOWSTART` / `WINDOWEND` as milliseconds
/// (the bounds [`Analyzer::lookup`] accepted), so the filter compares numbers as ksqlDB does.
pub(crate) fn with_instants(e: &Expr) -> Expr {
    let window_col = |e: &Expr| matches!(column(e), Some(WINDOWSTART | WINDOWEND));
    let instant = |e: &Expr| match e {
        Expr::Literal(Literal::String(s)) => parse_partial_instant(s).map_or_else(|| e.clone(), |ms| Expr::Literal(Literal::BigInt(ms))),
        other => other.clone(),
    };
    match e {
        Expr::Binary { op: op @ (BinaryOp::And | BinaryOp::Or), left, right } => Expr::Binary { op: *op, left: Box::new(with_instants(left)), right: Box::new(with_instants(right)) },
        Expr::Binary { op, left, right } if window_col(left) => Expr::Binary { op: *op, left: left.clone(), right: Box::new(instant(right)) },
        Expr::Binary { op, left, right } if window_col(right) => Expr::Binary { op: *op, left: Box::new(instant(left)), right: right.clone() },
        Expr::Between { expr, low, high, negated } if window_col(expr) => {
            Expr::Between { expr: expr.clone(), low: Box::new(instant(low)), high: Box::new(instant(high)), negated: *negated }
        }
        other => other.clone(),
    }
}

/// `a op b` as `b op' a`.
fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::LtEq => BinaryOp::GtEq,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::GtEq => BinaryOp::LtEq,
        other => other,
    }
}

/// ksqlDB reports `<=`/`>=` duplicates under `<`/`>`.
fn simplified(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::LtEq => BinaryOp::Lt,
        BinaryOp::GtEq => BinaryOp::Gt,
        other => other,
    }
}

/// Keeps the values both sets allow.
fn narrow(slot: &mut Option<Vec<Value>>, values: Vec<Value>) {
    *slot = Some(match slot.take() {
        None => values,
        Some(old) => old.into_iter().filter(|v| values.contains(v)).collect(),
    });
}

/// Every key row the per-column values make.
fn product(per_column: &[Vec<Value>]) -> Vec<Row> {
    per_column.iter().fold(vec![Vec::new()], |rows, values| {
        rows.iter().flat_map(|r| values.iter().map(move |v| {
            let mut r = r.clone();
            r.push(v.clone());
            r
        })).collect()
    })
}

/// A datetime as ksqlDB's `PartialStringToTimestampParser` reads it: `yyyy[-MM[-dd['T'HH[:mm[:ss[.SSS]]]]]]`,
/// missing parts at their start, then an optional `Z` or `+hh[:]mm` / `-hh[:]mm` offset (UTC
/// without one).
fn parse_partial_instant(text: &str) -> Option<i64> {
    let text = text.trim();
    let (local, offset_s) = match text.find('T').map_or_else(|| text.rfind('Z'), |t| text[t..].find(['Z', '+', '-']).map(|i| t + i)) {
        Some(i) => (&text[..i], Some(&text[i..])),
        None => (text, None),
    };
    let offset_secs = match offset_s {
        None | Some("Z") => 0,
        Some(o) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let digits: String = o[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (h, m): (i32, i32) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
            sign * (h * 3600 + m * 60)
        }
    };
    let (date, time) = local.split_once('T').unwrap_or((local, ""));
    let mut d = date.split('-');
    let year: i32 = d.next()?.parse().ok()?;
    let month: u32 = d.next().map_or(Some(1), |m| m.parse().ok())?;
    let day: u32 = d.next().map_or(Some(1), |x| x.parse().ok())?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':').filter(|p| !p.is_empty());
    let hour: u32 = t.next().map_or(Some(0), |x| x.parse().ok())?;
    let minute: u32 = t.next().map_or(Some(0), |x| x.parse().ok())?;
    let second: u32 = t.next().map_or(Some(0), |x| x.parse().ok())?;
    let millis: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<3}")[..3].parse().ok()? };
    let naive = chrono::NaiveDate::from_ymd_opt(year, month, day)?.and_hms_milli_opt(hour, minute, second, millis)?;
    Some(naive.and_utc().timestamp_millis() - i64::from(offset_secs) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::ExprEnv;
    use crate::function::FunctionRegistry;
    use crate::ColumnNamespace;

    fn lookup(sql_where: &str, window: Option<WindowType>) -> Lookup {
        let env = ExprEnv { registry: std::sync::Arc::new(FunctionRegistry::new()), types: Default::default() };
        let key = [Column { name: "K".into(), ty: SqlType::String, namespace: ColumnNamespace::Key }, Column { name: "ID".into(), ty: SqlType::BigInt, namespace: ColumnNamespace::Key }];
        let parsed = crate::parser::parse(&format!("SELECT * FROM T WHERE {sql_where};")).unwrap();
        let crate::parser::ast::Statement::Query(q) = &parsed[0].statement else { panic!("not a query") };
        Analyzer { env: &env, key: &key, window }.lookup(q.where_clause.as_ref()).unwrap()
    }

    #[test]
    fn key_equalities_on_every_key_column_are_point_gets() {
        let keys = |l: Lookup| l.keys.map(|ks| ks.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>());
        // The integer literal widens to the BIGINT key column, as the stored key holds it.
        assert_eq!(keys(lookup("K = 'a' AND ID = 1", None)), Some(vec![r#"[String("a"), BigInt(1)]"#.to_owned()]));
        assert_eq!(keys(lookup("ID IN (1, 2) AND K = 'a' AND V > 3", None)).map(|k| k.len()), Some(2));
        assert_eq!(keys(lookup("(K = 'a' AND ID = 1) OR (ID = 2 AND K = 'b')", None)).map(|k| k.len()), Some(2));
        // A key column without an equality, a range, or a disjunct without keys: a scan.
        assert_eq!(keys(lookup("K = 'a'", None)), None);
        assert_eq!(keys(lookup("K = 'a' AND ID > 1", None)), None);
        assert_eq!(keys(lookup("(K = 'a' AND ID = 1) OR V = 2", None)), None);
        // Contradicting equalities leave nothing to get.
        assert_eq!(keys(lookup("K = 'a' AND K = 'b' AND ID = 1", None)), Some(vec![]));
    }

    #[test]
    fn window_bounds_narrow_the_windows_fetched() {
        let read = |w: &str, kind| lookup(w, Some(WindowType::Tumbling)).read(kind, |_| Ok(vec![])).unwrap();
        assert_eq!(read("K = 'a' AND ID = 1 AND WINDOWSTART >= 10 AND WINDOWSTART < 20", StoreKind::Window(5)), StoreRead::Window { keys: Some(vec![vec![]]), from: 10, to: 19 });
        assert_eq!(read("WINDOWEND <= 100", StoreKind::Window(10)), StoreRead::Window { keys: None, from: i64::MIN, to: 90 });
        assert_eq!(read("WINDOWSTART = 5 OR WINDOWSTART BETWEEN 20 AND 30", StoreKind::Window(10)), StoreRead::Window { keys: None, from: 5, to: 30 });
        assert_eq!(read("WINDOWSTART > 7 OR K = 'a'", StoreKind::Window(10)), StoreRead::Window { keys: None, from: i64::MIN, to: i64::MAX });
        assert_eq!(read("WINDOWSTART >= 3 AND WINDOWEND <= 50", StoreKind::Session), StoreRead::Session { keys: None, earliest_end: 3, latest_start: 50 });
    }

    #[test]
    fn partial_datetimes_read_as_ksqldb_reads_them() {
        assert_eq!(parse_partial_instant("1970-01-01T00:00:01"), Some(1000));
        assert_eq!(parse_partial_instant("1970-01-01T00:01"), Some(60_000));
        assert_eq!(parse_partial_instant("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_partial_instant("1970"), Some(0));
        assert_eq!(parse_partial_instant("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_partial_instant("1970-01-01T00:00:00.5Z"), Some(500));
        assert_eq!(parse_partial_instant("yesterday"), None);
    }
}
