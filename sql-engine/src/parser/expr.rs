//! Expressions, literals and types (SqlBase.g4's `booleanExpression` ... `primaryExpression`,
//! `literal`, `type`).
//!
//! Precedence, loosest first: `OR`, `AND`, `NOT`, predicates (comparison, `[NOT] BETWEEN`,
//! `[NOT] IN`, `[NOT] LIKE`, `IS [NOT] NULL`, `IS [NOT] DISTINCT FROM`; not chainable), `||`,
//! `+ -`, `* / %`, unary `+ -`, then postfix `[i]` and `->field` on a primary expression.

use super::ast::{AstType, BinaryOp, Expr, Literal, UnaryOp};
use super::cursor::{is_reserved, tree_depth, Parser, MAX_TREE_DEPTH, TOO_DEEP};
use super::lexer::Tok;
use crate::Result;

/// Window units that are reserved words; as function arguments (`TIMESTAMPADD(SECONDS, ..)`)
/// they become column-like identifiers.
const RESERVED_UNITS: &[&str] = &["MILLISECOND", "MILLISECONDS", "DAYS", "HOURS", "MINUTES", "SECONDS"];

impl Parser<'_> {
    /// `expression` (= `booleanExpression`).
    pub(crate) fn expr(&mut self) -> Result<Expr> {
        self.nested(|p| p.or_expr())
    }

    /// Builds `left op right` for a left-associative chain, keeping the tree depth bounded.
    /// `depth` is the depth of `left` once known (measured lazily: most operands have no
    /// operator after them).
    fn chain(&mut self, depth: &mut Option<usize>, op: BinaryOp, left: Expr, right: Expr) -> Result<Expr> {
        let d = 1 + depth.unwrap_or_else(|| tree_depth(&left)).max(tree_depth(&right));
        *depth = Some(d);
        if d > MAX_TREE_DEPTH {
            return Err(self.error_at(self.prev().pos, TOO_DEEP.to_string()));
        }
        Ok(Expr::Binary { op, left: Box::new(left), right: Box::new(right) })
    }

    fn or_expr(&mut self) -> Result<Expr> {
        let mut left = self.and_expr()?;
        let mut depth = None;
        while self.eat_kw("OR") {
            let right = self.and_expr()?;
            left = self.chain(&mut depth, BinaryOp::Or, left, right)?;
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr> {
        let mut left = self.not_expr()?;
        let mut depth = None;
        while self.eat_kw("AND") {
            let right = self.not_expr()?;
            left = self.chain(&mut depth, BinaryOp::And, left, right)?;
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr> {
        if self.eat_kw("NOT") {
            let e = self.nested(|p| p.not_expr())?;
            return Ok(Expr::Unary { op: UnaryOp::Not, expr: Box::new(e) });
        }
        self.predicated()
    }

    /// `valueExpression predicate?`.
    fn predicated(&mut self) -> Result<Expr> {
        let value = self.value_expr()?;
        let op = match self.nth(0) {
            Tok::Eq => Some(BinaryOp::Eq),
            Tok::Neq => Some(BinaryOp::NotEq),
            Tok::Lt => Some(BinaryOp::Lt),
            Tok::LtEq => Some(BinaryOp::LtEq),
            Tok::Gt => Some(BinaryOp::Gt),
            Tok::GtEq => Some(BinaryOp::GtEq),
            _ => None,
        };
        if let Some(op) = op {
            self.advance();
            let right = self.value_expr()?;
            return Ok(Expr::Binary { op, left: Box::new(value), right: Box::new(right) });
        }
        for t in ["'='", "'<>'", "'<'", "'<='", "'>'", "'>='"] {
            self.expecting(t);
        }
        let negated = self.nth_is_kw(0, "NOT")
            && (self.nth_is_kw(1, "BETWEEN") || self.nth_is_kw(1, "IN") || self.nth_is_kw(1, "LIKE"));
        if negated {
            self.advance();
        }
        if self.eat_kw("BETWEEN") {
            let low = self.value_expr()?;
            self.expect_kw("AND")?;
            let high = self.value_expr()?;
            return Ok(Expr::Between { expr: Box::new(value), low: Box::new(low), high: Box::new(high), negated });
        }
        if self.eat_kw("IN") {
            self.expect(&Tok::LParen)?;
            let mut list = vec![self.expr()?];
            while self.eat(&Tok::Comma) {
                list.push(self.expr()?);
            }
            self.expect(&Tok::RParen)?;
            return Ok(Expr::InList { expr: Box::new(value), list, negated });
        }
        if self.eat_kw("LIKE") {
            let pattern = self.value_expr()?;
            let mut escape = None;
            if self.eat_kw("ESCAPE") {
                let pos = self.peek().pos;
                let s = self.string()?;
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => escape = Some(c),
                    _ => {
                        return Err(self.error_at(pos, format!("Expected single character escape but got: {s}")))
                    }
                }
            }
            return Ok(Expr::Like { expr: Box::new(value), pattern: Box::new(pattern), escape, negated });
        }
        if negated {
            // Unreachable: `negated` requires one of the three keywords above.
            return self.unexpected();
        }
        if self.eat_kw("IS") {
            let negated = self.eat_kw("NOT");
            if self.eat_kw("NULL") {
                return Ok(Expr::IsNull { expr: Box::new(value), negated });
            }
            self.expect_kw("DISTINCT")?;
            self.expect_kw("FROM")?;
            let right = self.value_expr()?;
            return Ok(Expr::IsDistinctFrom { left: Box::new(value), right: Box::new(right), negated });
        }
        Ok(value)
    }

    /// `valueExpression`: arithmetic and `||`, no predicates.
    pub(crate) fn value_expr(&mut self) -> Result<Expr> {
        let mut left = self.additive()?;
        let mut depth = None;
        while self.eat(&Tok::Concat) {
            let right = self.additive()?;
            left = self.chain(&mut depth, BinaryOp::Concat, left, right)?;
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr> {
        let mut left = self.multiplicative()?;
        let mut depth = None;
        loop {
            let op = match self.nth(0) {
                Tok::Plus => BinaryOp::Add,
                Tok::Minus => BinaryOp::Sub,
                _ => {
                    self.expecting("'+'");
                    self.expecting("'-'");
                    return Ok(left);
                }
            };
            self.advance();
            let right = self.multiplicative()?;
            left = self.chain(&mut depth, op, left, right)?;
        }
    }

    fn multiplicative(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        let mut depth = None;
        loop {
            let op = match self.nth(0) {
                Tok::Star => BinaryOp::Mul,
                Tok::Slash => BinaryOp::Div,
                Tok::Percent => BinaryOp::Mod,
                _ => {
                    self.expecting("'*'");
                    self.expecting("'/'");
                    self.expecting("'%'");
                    return Ok(left);
                }
            };
            self.advance();
            let right = self.unary()?;
            left = self.chain(&mut depth, op, left, right)?;
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        match self.nth(0) {
            // `-5` is one literal (SqlBase.g4's `number: MINUS? INTEGER_VALUE`), so that
            // `-2147483648` is an INT.
            Tok::Minus if matches!(self.nth(1), Tok::Integer(_) | Tok::Decimal(_) | Tok::Float(_)) => self.postfix(),
            Tok::Minus | Tok::Plus => {
                let op = if matches!(self.nth(0), Tok::Minus) { UnaryOp::Neg } else { UnaryOp::Plus };
                self.advance();
                let e = self.nested(|p| p.unary())?;
                Ok(Expr::Unary { op, expr: Box::new(e) })
            }
            _ => self.postfix(),
        }
    }

    /// A primary expression followed by any `[index]` and `->field`.
    fn postfix(&mut self) -> Result<Expr> {
        let mut e = self.primary()?;
        let mut depth: Option<usize> = None;
        loop {
            let d;
            if self.eat(&Tok::LBracket) {
                let index = self.value_expr()?;
                self.expect(&Tok::RBracket)?;
                d = 1 + depth.unwrap_or_else(|| tree_depth(&e)).max(tree_depth(&index));
                e = Expr::Subscript { base: Box::new(e), index: Box::new(index) };
            } else if matches!(self.nth(0), Tok::Arrow) && !matches!(self.nth(1), Tok::Star) {
                self.advance();
                let field = self.ident()?;
                d = 1 + depth.unwrap_or_else(|| tree_depth(&e));
                e = Expr::Dereference { base: Box::new(e), field };
            } else {
                self.expecting("'->'");
                return Ok(e);
            }
            depth = Some(d);
            if d > MAX_TREE_DEPTH {
                return Err(self.error_at(self.prev().pos, TOO_DEEP.to_string()));
            }
        }
    }

    /// A numeric literal, with the sign already seen.
    fn number(&mut self, negative: bool) -> Result<Literal> {
        let pos = self.peek().pos;
        let sign = if negative { "-" } else { "" };
        match self.nth(0).clone() {
            Tok::Integer(s) => {
                self.advance();
                let text = format!("{sign}{s}");
                let v: i64 = text.parse().map_err(|_| self.error_at(pos, format!("Invalid numeric literal: {text}")))?;
                Ok(match i32::try_from(v) {
                    Ok(i) => Literal::Int(i),
                    Err(_) => Literal::BigInt(v),
                })
            }
            Tok::Decimal(s) => {
                self.advance();
                Ok(Literal::Decimal(format!("{sign}{s}")))
            }
            Tok::Float(s) => {
                self.advance();
                let text = format!("{sign}{s}");
                // Rust's parser wants a digit on both sides of the point.
                let normal = text.replace(".e", ".0e").replace(".E", ".0E").replace("-.", "-0.");
                let normal = if normal.starts_with('.') { format!("0{normal}") } else { normal };
                let v: f64 = normal.parse().map_err(|_| self.error_at(pos, format!("Invalid numeric literal: {text}")))?;
                if v.is_infinite() {
                    return Err(self.error_at(pos, format!("Number overflows DOUBLE: {text}")));
                }
                Ok(Literal::Double(v))
            }
            _ => {
                self.expecting("INTEGER_VALUE");
                self.unexpected()
            }
        }
    }

    /// `literal`: `NULL`, a number (optionally negative), `TRUE`/`FALSE` or a string.
    pub(crate) fn literal(&mut self) -> Result<Literal> {
        match self.nth(0).clone() {
            Tok::Minus if matches!(self.nth(1), Tok::Integer(_) | Tok::Decimal(_) | Tok::Float(_)) => {
                self.advance();
                self.number(true)
            }
            Tok::Integer(_) | Tok::Decimal(_) | Tok::Float(_) => self.number(false),
            Tok::Str(s) => {
                self.advance();
                Ok(Literal::String(s))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("NULL") => {
                self.advance();
                Ok(Literal::Null)
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("TRUE") => {
                self.advance();
                Ok(Literal::Boolean(true))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("FALSE") => {
                self.advance();
                Ok(Literal::Boolean(false))
            }
            Tok::Variable(v) => Err(self.error_at(
                self.peek().pos,
                format!("Illegal argument at line {}:{}. Variable '${{{v}}}' is not defined.", self.peek().pos.line, self.peek().pos.column),
            )),
            _ => {
                for k in ["NULL", "TRUE", "FALSE"] {
                    self.expecting_kw(k);
                }
                for e in ["STRING", "INTEGER_VALUE", "DECIMAL_VALUE", "FLOATING_POINT_VALUE"] {
                    self.expecting(e);
                }
                self.unexpected()
            }
        }
    }

    fn primary(&mut self) -> Result<Expr> {
        let tok = self.nth(0).clone();
        match tok {
            Tok::Minus | Tok::Integer(_) | Tok::Decimal(_) | Tok::Float(_) | Tok::Str(_) | Tok::Variable(_) => {
                return Ok(Expr::Literal(self.literal()?))
            }
            Tok::LParen => {
                self.advance();
                let e = self.expr()?;
                self.expect(&Tok::RParen)?;
                return Ok(e);
            }
            Tok::Word(ref w) => {
                let up = w.to_ascii_uppercase();
                match up.as_str() {
                    "NULL" | "TRUE" | "FALSE" => return Ok(Expr::Literal(self.literal()?)),
                    "CASE" => return self.case(),
                    // `DECIMAL '1.20'` (ksqlDB's `identifier STRING` type constructor; accepted
                    // without quoting DECIMAL, which ksqlDB reserves).
                    "DECIMAL" if matches!(self.nth(1), Tok::Str(_)) => {
                        self.advance();
                        return self.decimal_constructor();
                    }
                    "CAST" => {
                        let start = self.peek().start;
                        self.advance();
                        self.expect(&Tok::LParen)?;
                        let e = self.expr()?;
                        self.expect_kw("AS")?;
                        // A reserved word where the type belongs (`CAST(x AS NULL)`): ANTLR
                        // finds no alternative of the whole `CAST` and quotes it.
                        if let Tok::Word(w) = self.nth(0) {
                            if is_reserved(w) && !["ARRAY", "MAP", "STRUCT", "DECIMAL"].contains(&w.to_ascii_uppercase().as_str()) {
                                let text = self.src.get(start..self.peek().end).unwrap_or_default().to_owned();
                                return self.syntax_error(format!("no viable alternative at input '{text}'"));
                            }
                        }
                        let ty = self.ty()?;
                        self.expect(&Tok::RParen)?;
                        return Ok(Expr::Cast { expr: Box::new(e), ty });
                    }
                    "ARRAY" if matches!(self.nth(1), Tok::LBracket) => {
                        self.advance();
                        self.advance();
                        let mut items = Vec::new();
                        if !self.eat(&Tok::RBracket) {
                            loop {
                                items.push(self.expr()?);
                                if !self.eat(&Tok::Comma) {
                                    break;
                                }
                            }
                            self.expect(&Tok::RBracket)?;
                        }
                        return Ok(Expr::Array(items));
                    }
                    "MAP" if matches!(self.nth(1), Tok::LParen) => {
                        self.advance();
                        self.advance();
                        let mut entries = Vec::new();
                        if !self.eat(&Tok::RParen) {
                            loop {
                                let k = self.expr()?;
                                self.expect(&Tok::Assign)?;
                                let v = self.expr()?;
                                entries.push((k, v));
                                if !self.eat(&Tok::Comma) {
                                    break;
                                }
                            }
                            self.expect(&Tok::RParen)?;
                        }
                        return Ok(Expr::Map(entries));
                    }
                    "STRUCT" if matches!(self.nth(1), Tok::LParen) => {
                        self.advance();
                        self.advance();
                        let mut fields = Vec::new();
                        if !self.eat(&Tok::RParen) {
                            loop {
                                let name = self.ident()?;
                                self.expect(&Tok::Assign)?;
                                let v = self.expr()?;
                                fields.push((name, v));
                                if !self.eat(&Tok::Comma) {
                                    break;
                                }
                            }
                            self.expect(&Tok::RParen)?;
                        }
                        return Ok(Expr::Struct(fields));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        if !self.nth_is_ident(0) {
            self.expecting("<expression>");
            if let Tok::Word(w) = self.nth(0) {
                if is_reserved(w) && !matches!(self.nth(1), Tok::LParen) {
                    // Most likely a missing operand before a keyword: keep the generic message.
                    return self.unexpected();
                }
            }
            return self.unexpected();
        }
        let name_tok = self.peek().clone();
        let name = self.ident()?;
        match self.nth(0) {
            Tok::LParen => self.function_call(name),
            Tok::Str(_) => {
                // `identifier STRING`: ksqlDB's type constructor, only `DECIMAL '1.2'`.
                if name == "DECIMAL" {
                    self.decimal_constructor()
                } else {
                    Err(self.error_at(
                        name_tok.pos,
                        format!("Unknown type: {name}, location:line {}:{}", name_tok.pos.line, name_tok.pos.column),
                    ))
                }
            }
            Tok::Dot if self.nth_is_ident(1) => {
                self.advance();
                let column = self.ident()?;
                Ok(Expr::Column { source: Some(name), name: column })
            }
            _ => Ok(Expr::Column { source: None, name }),
        }
    }

    /// The string of `DECIMAL '1.20'`, next: a plain decimal number.
    fn decimal_constructor(&mut self) -> Result<Expr> {
        let pos = self.peek().pos;
        let s = self.string()?;
        let digits = s.strip_prefix(['-', '+']).unwrap_or(&s);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let valid = !(int.is_empty() && frac.is_empty())
            && int.chars().all(|c| c.is_ascii_digit())
            && frac.chars().all(|c| c.is_ascii_digit());
        if !valid {
            return Err(self.error_at(pos, format!("Invalid numeric literal: DECIMAL '{s}'")));
        }
        Ok(Expr::Literal(Literal::Decimal(s)))
    }

    /// `name(args)` with the `(` next; `name` already upper-cased unless quoted.
    fn function_call(&mut self, name: String) -> Result<Expr> {
        let name = name.to_uppercase();
        self.expect(&Tok::LParen)?;
        if matches!(self.nth(0), Tok::Star) && matches!(self.nth(1), Tok::RParen) {
            self.advance();
            self.advance();
            return Ok(Expr::Function { name, args: vec![Expr::Star], distinct: false });
        }
        let mut args = Vec::new();
        let mut distinct = false;
        if !self.eat(&Tok::RParen) {
            distinct = self.eat_kw("DISTINCT");
            loop {
                args.push(self.function_arg()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RParen)?;
        }
        Ok(Expr::Function { name, args, distinct })
    }

    fn function_arg(&mut self) -> Result<Expr> {
        // A reserved window unit as an argument: `TIMESTAMPADD(SECONDS, 5, ts)`.
        if let Tok::Word(w) = self.nth(0) {
            if RESERVED_UNITS.iter().any(|u| u.eq_ignore_ascii_case(w)) && matches!(self.nth(1), Tok::Comma | Tok::RParen) {
                let name = w.to_ascii_uppercase();
                self.advance();
                return Ok(Expr::Column { source: None, name });
            }
        }
        // `x => body`
        if self.nth_is_ident(0) && matches!(self.nth(1), Tok::FatArrow) {
            let param = self.ident()?;
            self.advance();
            let body = self.expr()?;
            return Ok(Expr::Lambda { params: vec![param], body: Box::new(body) });
        }
        // `(x, y) => body`
        if matches!(self.nth(0), Tok::LParen) {
            let mut k = 1;
            let mut is_lambda = false;
            while self.nth_is_ident(k) {
                match self.nth(k + 1) {
                    Tok::Comma => k += 2,
                    Tok::RParen => {
                        is_lambda = matches!(self.nth(k + 2), Tok::FatArrow);
                        break;
                    }
                    _ => break,
                }
            }
            if is_lambda {
                self.advance();
                let mut params = vec![self.ident()?];
                while self.eat(&Tok::Comma) {
                    params.push(self.ident()?);
                }
                self.expect(&Tok::RParen)?;
                self.expect(&Tok::FatArrow)?;
                let body = self.expr()?;
                return Ok(Expr::Lambda { params, body: Box::new(body) });
            }
        }
        self.expr()
    }

    fn case(&mut self) -> Result<Expr> {
        self.expect_kw("CASE")?;
        let operand = if self.check_kw("WHEN") { None } else { Some(Box::new(self.value_expr()?)) };
        let mut when_then = Vec::new();
        while self.eat_kw("WHEN") {
            let w = self.expr()?;
            self.expect_kw("THEN")?;
            let t = self.expr()?;
            when_then.push((w, t));
        }
        if when_then.is_empty() {
            return self.unexpected();
        }
        let else_result = if self.eat_kw("ELSE") { Some(Box::new(self.expr()?)) } else { None };
        self.expect_kw("END")?;
        Ok(Expr::Case { operand, when_then, else_result })
    }

    /// `type`.
    pub(crate) fn ty(&mut self) -> Result<AstType> {
        self.nested(|p| p.ty_inner())
    }

    fn ty_inner(&mut self) -> Result<AstType> {
        if self.nth_is_kw(0, "ARRAY") && matches!(self.nth(1), Tok::Lt) {
            self.advance();
            self.advance();
            let t = self.ty()?;
            self.expect(&Tok::Gt)?;
            return Ok(AstType::Array(Box::new(t)));
        }
        if self.nth_is_kw(0, "MAP") && matches!(self.nth(1), Tok::Lt) {
            self.advance();
            self.advance();
            let k = self.ty()?;
            self.expect(&Tok::Comma)?;
            let v = self.ty()?;
            self.expect(&Tok::Gt)?;
            return Ok(AstType::Map(Box::new(k), Box::new(v)));
        }
        // `STRUCT<>` lexes as `STRUCT` `<>`.
        if self.nth_is_kw(0, "STRUCT") && matches!(self.nth(1), Tok::Neq) {
            self.advance();
            self.advance();
            return Ok(AstType::Struct(Vec::new()));
        }
        if self.nth_is_kw(0, "STRUCT") && matches!(self.nth(1), Tok::Lt) {
            self.advance();
            self.advance();
            let mut fields = Vec::new();
            if !self.eat(&Tok::Gt) {
                loop {
                    let name = self.ident()?;
                    let t = self.ty()?;
                    fields.push((name, t));
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(&Tok::Gt)?;
            }
            return Ok(AstType::Struct(fields));
        }
        if self.eat_kw("DECIMAL") {
            self.expect(&Tok::LParen)?;
            let ppos = self.peek().pos;
            let precision = self.integer("DECIMAL")?;
            self.expect(&Tok::Comma)?;
            let spos = self.peek().pos;
            let scale = self.integer("DECIMAL")?;
            self.expect(&Tok::RParen)?;
            let precision = u8::try_from(precision)
                .map_err(|_| self.error_at(ppos, format!("DECIMAL precision must be in [1, 38]: {precision}")))?;
            let scale = u8::try_from(scale).map_err(|_| {
                self.error_at(spos, format!("DECIMAL scale must be equal to or less than precision. Precision: {precision}, scale: {scale}"))
            })?;
            return Ok(AstType::Decimal { precision, scale });
        }
        if !self.nth_is_ident(0) {
            self.expecting_kw("ARRAY");
            self.expecting_kw("MAP");
            self.expecting_kw("STRUCT");
            self.expecting_kw("DECIMAL");
            // A keyword where a type belongs (`COL0 NULL`) is a plain syntax error in ksqlDB, not
            // the hint to quote an identifier.
            if matches!(self.nth(0), Tok::Word(_)) {
                self.expecting("IDENTIFIER");
                return self.unexpected();
            }
            return self.expected_identifier();
        }
        let name = self.ident()?;
        // `VARCHAR(10)`-style parameters are accepted and ignored, as ksqlDB does.
        if self.eat(&Tok::LParen) {
            loop {
                match self.nth(0) {
                    Tok::Integer(_) => {
                        self.advance();
                    }
                    Tok::Word(w) if w.eq_ignore_ascii_case("STRING") => {
                        self.advance();
                    }
                    _ => {
                        self.expecting("INTEGER_VALUE");
                        return self.unexpected();
                    }
                }
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RParen)?;
        }
        Ok(match name.to_ascii_uppercase().as_str() {
            "BOOLEAN" => AstType::Boolean,
            "INT" | "INTEGER" => AstType::Int,
            "BIGINT" => AstType::BigInt,
            "DOUBLE" => AstType::Double,
            "STRING" | "VARCHAR" => AstType::String,
            "BYTES" => AstType::Bytes,
            "DATE" => AstType::Date,
            "TIME" => AstType::Time,
            "TIMESTAMP" => AstType::Timestamp,
            _ => AstType::Named(name),
        })
    }
}
