//! The recursive-descent parser's cursor over the tokens: look-ahead, keyword matching, the
//! ANTLR-style "expecting" set of the current position, and error construction.

use super::ast::Expr;
use super::position::Position;
use super::lexer::{Tok, Token};
use crate::Error;

/// How deep constructs may nest (parentheses, function calls, `NOT`/unary chains, types).
pub(crate) const MAX_NESTING: u32 = 128;
/// How deep an expression tree may get (a chain of 1,000 `OR`s is 1,000 deep).
pub(crate) const MAX_TREE_DEPTH: usize = 1000;

pub(crate) const TOO_DEEP: &str = "Error processing statement: Statement is too large to parse. This may be caused by having too many nested expressions in the statement.";

/// Keywords that cannot be identifiers unless quoted: SqlBase.g4's lexer keywords minus its
/// `nonReserved` rule.
const RESERVED: &[&str] = &[
    "ADVANCE", "ALL", "AND", "AS", "AT", "BEGINNING", "BETWEEN", "BY", "CASE", "CAST", "CATALOG", "CONNECTOR",
    "CONNECTORS", "CREATE", "DAYS", "DECIMAL", "DELETE", "DESCRIBE", "DISTINCT", "DROP", "ELSE", "END", "EXISTS",
    "EXPORT", "EXTENDED", "FALSE", "FROM", "FULL", "GROUP", "HAVING", "HOPPING", "HOURS", "IN", "INNER", "INSERT",
    "INTO", "IS", "JOIN", "LEFT", "LIKE", "LIMIT", "LIST", "LOAD", "MATERIALIZED", "MILLISECOND", "MILLISECONDS",
    "MINUTES", "MONTHS", "NAMESPACE", "NOT", "NULL", "ON", "OR", "OUTER", "PRINT", "PROPERTIES", "QUERIES", "QUERY",
    "RENAME", "RETENTION", "RIGHT", "RUN", "SAMPLE", "SCRIPT", "SECONDS", "SELECT", "SIZE", "STREAM", "STREAMS",
    "TABLE", "TERMINATE", "THEN", "TO", "TOPIC", "TOPICS", "TRUE", "TUMBLING", "UNSET", "VALUES", "VIEW", "WHEN",
    "WHERE", "WINDOW", "WITH", "WITHIN", "YEARS",
];

pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|k| k.eq_ignore_ascii_case(word))
}

pub(crate) struct Parser<'a> {
    pub(crate) src: &'a str,
    pub(crate) toks: Vec<Token>,
    pub(crate) i: usize,
    /// What the grammar would have accepted at `i`, for "expecting ..." messages.
    expected: Vec<Expect>,
    depth: u32,
}

/// One entry of an "expecting" list: a keyword (shown quoted) or a token class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    Keyword(&'static str),
    Other(&'static str),
}

impl Expect {
    fn show(self) -> String {
        match self {
            Expect::Keyword(k) => format!("'{k}'"),
            Expect::Other(o) => o.to_string(),
        }
    }
}

/// A saved parser position for backtracking.
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    i: usize,
    expected: Vec<Expect>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, toks: Vec<Token>) -> Self {
        Parser { src, toks, i: 0, expected: Vec::new(), depth: 0 }
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark { i: self.i, expected: self.expected.clone() }
    }

    pub(crate) fn reset(&mut self, m: Mark) {
        self.i = m.i;
        self.expected = m.expected;
    }

    pub(crate) fn peek(&self) -> &Token {
        self.nth_token(0)
    }

    pub(crate) fn nth_token(&self, n: usize) -> &Token {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[self.i.saturating_add(n).min(last)]
    }

    pub(crate) fn nth(&self, n: usize) -> &Tok {
        &self.nth_token(n).tok
    }

    pub(crate) fn at_eof(&self) -> bool {
        matches!(self.nth(0), Tok::Eof)
    }

    pub(crate) fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if !matches!(t.tok, Tok::Eof) {
            self.i += 1;
        }
        self.expected.clear();
        t
    }

    /// The last consumed token (the current one when nothing was consumed).
    pub(crate) fn prev(&self) -> &Token {
        &self.toks[self.i.saturating_sub(1).min(self.toks.len().saturating_sub(1))]
    }

    /// Records that the token class (or quoted punctuation) `what` would have been accepted here.
    pub(crate) fn expecting(&mut self, what: &'static str) {
        self.expect_entry(Expect::Other(what));
    }

    /// Records that the keyword `kw` would have been accepted here.
    pub(crate) fn expecting_kw(&mut self, kw: &'static str) {
        self.expect_entry(Expect::Keyword(kw));
    }

    fn expect_entry(&mut self, e: Expect) {
        if !self.expected.contains(&e) {
            self.expected.push(e);
        }
    }

    /// Whether the `n`-th token is the (unquoted) keyword `kw`; records nothing.
    pub(crate) fn nth_is_kw(&self, n: usize, kw: &str) -> bool {
        matches!(self.nth(n), Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    /// Whether the current token is the keyword `kw`; records it as expected when it is not.
    pub(crate) fn check_kw(&mut self, kw: &'static str) -> bool {
        if self.nth_is_kw(0, kw) {
            true
        } else {
            self.expecting_kw(kw);
            false
        }
    }

    pub(crate) fn eat_kw(&mut self, kw: &'static str) -> bool {
        if self.check_kw(kw) {
            self.advance();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect_kw(&mut self, kw: &'static str) -> crate::Result<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            self.unexpected()
        }
    }

    pub(crate) fn check(&mut self, tok: &Tok) -> bool {
        if self.nth(0) == tok {
            true
        } else {
            self.expecting(tok_name(tok));
            false
        }
    }

    pub(crate) fn eat(&mut self, tok: &Tok) -> bool {
        if self.check(tok) {
            self.advance();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, tok: &Tok) -> crate::Result<()> {
        if self.eat(tok) {
            Ok(())
        } else {
            self.unexpected()
        }
    }

    /// Runs `f` one nesting level deeper, failing past [`MAX_NESTING`].
    pub(crate) fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> crate::Result<T>) -> crate::Result<T> {
        if self.depth >= MAX_NESTING {
            return Err(self.error_at(self.peek().pos, TOO_DEEP.to_string()));
        }
        self.depth += 1;
        // Debug builds spend ~30 KiB of stack per nesting level: grow the stack on the heap
        // rather than overflow a small (test or async runtime) thread stack.
        let r = stacker::maybe_grow(256 * 1024, 4 * 1024 * 1024, || f(self));
        self.depth -= 1;
        r
    }

    pub(crate) fn error_at(&self, position: Position, message: String) -> Error {
        Error::Parse { position, message }
    }

    /// A `Syntax Error` at the current token with `detail` on the next line.
    pub(crate) fn syntax_error<T>(&self, detail: String) -> crate::Result<T> {
        Err(self.error_at(self.peek().pos, format!("Syntax Error\n{detail}")))
    }

    /// `mismatched input 'X' expecting {...}` at the current token.
    pub(crate) fn unexpected<T>(&self) -> crate::Result<T> {
        let found = self.peek().display(self.src);
        let mut expected: Vec<String> = self.expected.iter().map(|e| e.show()).collect();
        // ANTLR lists the expected tokens by token type, and `';'` is ksqlDB's first
        // (`singleStatement: statement ';'`): it leads the set.
        if let Some(i) = expected.iter().position(|e| e == "';'") {
            let semi = expected.remove(i);
            expected.insert(0, semi);
        }
        let detail = match expected.len() {
            0 => format!("extraneous input {found}"),
            1 => format!("mismatched input {found} expecting {}", expected[0]),
            _ => format!("mismatched input {found} expecting {{{}}}", expected.join(", ")),
        };
        self.syntax_error(detail)
    }

    /// An identifier was required: a reserved keyword gets ksqlDB's hint to quote it.
    pub(crate) fn expected_identifier<T>(&mut self) -> crate::Result<T> {
        if let Tok::Word(w) = self.nth(0) {
            if is_reserved(w) {
                let w = w.clone();
                return self.syntax_error(format!(
                    "\"{w}\" is a reserved keyword and it can't be used as an identifier. You can use it as an identifier by escaping it as `{w}`"
                ));
            }
        }
        if let Tok::Variable(v) = self.nth(0) {
            let v = v.clone();
            return Err(self.error_at(
                self.peek().pos,
                format!("Illegal argument at line {}:{}. Variable '${{{v}}}' is not defined.", self.peek().pos.line, self.peek().pos.column),
            ));
        }
        self.expecting("IDENTIFIER");
        self.unexpected()
    }

    /// Whether the `n`-th token can be an identifier (a non-reserved word or a quoted name).
    pub(crate) fn nth_is_ident(&self, n: usize) -> bool {
        match self.nth(n) {
            Tok::Word(w) => !is_reserved(w),
            Tok::Quoted(_) | Tok::DigitWord(_) => true,
            _ => false,
        }
    }

    /// `identifier`: unquoted upper-cased, quoted as written.
    pub(crate) fn ident(&mut self) -> crate::Result<String> {
        self.ident_cased(false)
    }

    /// `identifier`, keeping the case of unquoted names when `keep_case`.
    pub(crate) fn ident_cased(&mut self, keep_case: bool) -> crate::Result<String> {
        match self.nth(0).clone() {
            Tok::Word(w) if !is_reserved(&w) => {
                self.advance();
                Ok(if keep_case { w } else { w.to_ascii_uppercase() })
            }
            Tok::DigitWord(w) => {
                self.advance();
                Ok(if keep_case { w } else { w.to_ascii_uppercase() })
            }
            Tok::Quoted(q) => {
                self.advance();
                Ok(q)
            }
            _ => self.expected_identifier(),
        }
    }

    /// `sourceName`: an identifier that is also a valid Kafka Streams store name.
    pub(crate) fn source_name(&mut self) -> crate::Result<String> {
        let pos = self.peek().pos;
        let name = self.ident()?;
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(self.error_at(
                pos,
                format!(
                    "Illegal argument at line {}:{}. Source names may only contain alphanumeric values, '_' or '-'. Got: '{name}'",
                    pos.line, pos.column
                ),
            ));
        }
        Ok(name)
    }

    /// A single-quoted string.
    pub(crate) fn string(&mut self) -> crate::Result<String> {
        if let Tok::Str(s) = self.nth(0).clone() {
            self.advance();
            Ok(s)
        } else {
            if let Tok::Variable(_) = self.nth(0) {
                return self.expected_identifier();
            }
            self.expecting("STRING");
            self.unexpected()
        }
    }

    /// A non-negative integer literal (`what` names the clause in the error).
    pub(crate) fn integer(&mut self, what: &str) -> crate::Result<u64> {
        let pos = self.peek().pos;
        let neg = matches!(self.nth(0), Tok::Minus);
        let tok = if neg { self.nth(1).clone() } else { self.nth(0).clone() };
        match tok {
            Tok::Integer(s) => {
                if neg {
                    self.advance();
                }
                self.advance();
                if neg {
                    return Err(self.error_at(pos, format!("Value must be a non-negative integer for command: {what}. Got: -{s}")));
                }
                s.parse::<u64>()
                    .map_err(|_| self.error_at(pos, format!("Invalid numeric literal: {s}")))
            }
            Tok::Decimal(_) | Tok::Float(_) => Err(self.error_at(pos, format!("Value must be integer for command: {what}"))),
            _ => {
                self.expecting("INTEGER_VALUE");
                self.unexpected()
            }
        }
    }
}

/// How a punctuation token is named in "expecting" lists.
pub(crate) fn tok_name(tok: &Tok) -> &'static str {
    match tok {
        Tok::LParen => "'('",
        Tok::RParen => "')'",
        Tok::LBracket => "'['",
        Tok::RBracket => "']'",
        Tok::Comma => "','",
        Tok::Dot => "'.'",
        Tok::Semicolon => "';'",
        Tok::Eq => "'='",
        Tok::Neq => "'<>'",
        Tok::Lt => "'<'",
        Tok::LtEq => "'<='",
        Tok::Gt => "'>'",
        Tok::GtEq => "'>='",
        Tok::Plus => "'+'",
        Tok::Minus => "'-'",
        Tok::Star => "'*'",
        Tok::Slash => "'/'",
        Tok::Percent => "'%'",
        Tok::Concat => "'||'",
        Tok::Assign => "':='",
        Tok::Arrow => "'->'",
        Tok::FatArrow => "'=>'",
        Tok::Eof => "<EOF>",
        Tok::Word(_) | Tok::DigitWord(_) | Tok::Quoted(_) => "IDENTIFIER",
        Tok::Str(_) => "STRING",
        Tok::Integer(_) => "INTEGER_VALUE",
        Tok::Decimal(_) => "DECIMAL_VALUE",
        Tok::Float(_) => "FLOATING_POINT_VALUE",
        Tok::Variable(_) => "VARIABLE",
        Tok::Unknown(_) => "UNRECOGNIZED",
    }
}

/// The depth of an expression tree (1 for a leaf).
pub(crate) fn tree_depth(e: &Expr) -> usize {
    let kids: usize = match e {
        Expr::Literal(_) | Expr::Column { .. } | Expr::Star => 0,
        Expr::Dereference { base, .. } => tree_depth(base),
        Expr::Subscript { base, index } => tree_depth(base).max(tree_depth(index)),
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => tree_depth(expr),
        Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => tree_depth(left).max(tree_depth(right)),
        Expr::Like { expr, pattern, .. } => tree_depth(expr).max(tree_depth(pattern)),
        Expr::Between { expr, low, high, .. } => tree_depth(expr).max(tree_depth(low)).max(tree_depth(high)),
        Expr::InList { expr, list, .. } => list.iter().map(tree_depth).max().unwrap_or(0).max(tree_depth(expr)),
        Expr::Case { operand, when_then, else_result } => {
            let mut d = operand.as_deref().map_or(0, tree_depth);
            for (w, t) in when_then {
                d = d.max(tree_depth(w)).max(tree_depth(t));
            }
            d.max(else_result.as_deref().map_or(0, tree_depth))
        }
        Expr::Function { args, .. } | Expr::Array(args) => args.iter().map(tree_depth).max().unwrap_or(0),
        Expr::Lambda { body, .. } => tree_depth(body),
        Expr::Map(entries) => entries.iter().map(|(k, v)| tree_depth(k).max(tree_depth(v))).max().unwrap_or(0),
        Expr::Struct(fields) => fields.iter().map(|(_, v)| tree_depth(v)).max().unwrap_or(0),
    };
    kids + 1
}
