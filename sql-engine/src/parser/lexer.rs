//! ksqlDB's lexical grammar (SqlBase.g4): keywords are case-insensitive words, identifiers are
//! words, `` `back-quoted` `` or `"double-quoted"`, strings are single-quoted with `''` for a
//! quote, numbers are `INTEGER_VALUE`, `DECIMAL_VALUE` (a fraction) or `FLOATING_POINT_VALUE` (an
//! exponent), `--` and `/* */` are comments. Every token carries its byte span and its 1-based
//! line:column (columns count characters).

use super::position::Position;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An unquoted word (`IDENTIFIER`): keywords too. The text as written.
    Word(String),
    /// `DIGIT_IDENTIFIER`: a word starting with a digit (`1st`).
    DigitWord(String),
    /// `` `x` `` (back-quoted) or `"x"`, unescaped.
    Quoted(String),
    /// `'...'`, unescaped.
    Str(String),
    Integer(String),
    /// Digits with a fraction and no exponent, as written.
    Decimal(String),
    /// Digits with an exponent, as written.
    Float(String),
    /// `${name}`: the name.
    Variable(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Semicolon,
    Eq,
    Neq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Concat,
    /// `:=`
    Assign,
    /// `->`
    Arrow,
    /// `=>`
    FatArrow,
    /// Anything else (ksqlDB's `UNRECOGNIZED`).
    Unknown(char),
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offsets into the input.
    pub start: usize,
    pub end: usize,
    pub pos: Position,
}

impl Token {
    /// How ANTLR shows the token in messages: its text, `<EOF>` at the end.
    pub(crate) fn display(&self, src: &str) -> String {
        match self.tok {
            Tok::Eof => "<EOF>".to_string(),
            _ => {
                let text = src.get(self.start..self.end).unwrap_or("");
                let text: String = text.chars().take(60).collect();
                format!("'{}'", text.replace('\n', "\\n").replace('\r', "\\r").replace('\t', "\\t"))
            }
        }
    }
}

/// A lexical error (unterminated string, identifier or comment).
#[derive(Debug, Clone)]
pub(crate) struct LexError {
    pub pos: Position,
    pub message: String,
}

struct Cursor<'a> {
    src: &'a str,
    /// Byte offset.
    i: usize,
    line: u32,
    col: u32,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.i..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.i..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn pos(&self) -> Position {
        Position { line: self.line, column: self.col }
    }
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '@'
}

/// Splits `src` into tokens, comments and whitespace dropped; the last token is [`Tok::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, LexError> {
    let mut cur = Cursor { src, i: 0, line: 1, col: 1 };
    let mut out = Vec::new();
    loop {
        // Whitespace and comments.
        loop {
            match cur.peek() {
                Some(c) if c.is_whitespace() => {
                    cur.bump();
                }
                Some('-') if cur.peek_at(1) == Some('-') => {
                    while let Some(c) = cur.peek() {
                        if c == '\n' {
                            break;
                        }
                        cur.bump();
                    }
                }
                Some('/') if cur.peek_at(1) == Some('*') => {
                    let pos = cur.pos();
                    cur.bump();
                    cur.bump();
                    loop {
                        match cur.bump() {
                            None => return Err(LexError { pos, message: "unterminated comment: '/*' without '*/'".into() }),
                            Some('*') if cur.peek() == Some('/') => {
                                cur.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => break,
            }
        }
        let start = cur.i;
        let pos = cur.pos();
        let Some(c) = cur.bump() else {
            out.push(Token { tok: Tok::Eof, start, end: start, pos });
            return Ok(out);
        };
        let tok = match c {
            c if is_word_start(c) => {
                while cur.peek().is_some_and(is_word_char) {
                    cur.bump();
                }
                Tok::Word(src[start..cur.i].to_string())
            }
            c if c.is_ascii_digit() => lex_number(&mut cur, start),
            '.' if cur.peek().is_some_and(|c| c.is_ascii_digit()) => lex_number(&mut cur, start),
            '\'' => Tok::Str(lex_quoted(&mut cur, '\'', pos, "string literal")?),
            '`' => Tok::Quoted(lex_quoted(&mut cur, '`', pos, "back-quoted identifier")?),
            '"' => Tok::Quoted(lex_quoted(&mut cur, '"', pos, "quoted identifier")?),
            '$' if cur.peek() == Some('{') && cur.peek_at(1).is_some_and(is_word_start) => {
                // `${IDENTIFIER}`; anything else is two unrecognized characters.
                let save = (cur.i, cur.line, cur.col);
                cur.bump();
                let name_start = cur.i;
                while cur.peek().is_some_and(is_word_char) {
                    cur.bump();
                }
                let name_end = cur.i;
                if cur.peek() == Some('}') {
                    cur.bump();
                    Tok::Variable(src[name_start..name_end].to_string())
                } else {
                    (cur.i, cur.line, cur.col) = save;
                    Tok::Unknown('$')
                }
            }
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            ',' => Tok::Comma,
            '.' => Tok::Dot,
            ';' => Tok::Semicolon,
            '=' if cur.peek() == Some('>') => {
                cur.bump();
                Tok::FatArrow
            }
            '=' => Tok::Eq,
            '<' if cur.peek() == Some('>') => {
                cur.bump();
                Tok::Neq
            }
            '<' if cur.peek() == Some('=') => {
                cur.bump();
                Tok::LtEq
            }
            '<' => Tok::Lt,
            '>' if cur.peek() == Some('=') => {
                cur.bump();
                Tok::GtEq
            }
            '>' => Tok::Gt,
            '!' if cur.peek() == Some('=') => {
                cur.bump();
                Tok::Neq
            }
            '+' => Tok::Plus,
            '-' if cur.peek() == Some('>') => {
                cur.bump();
                Tok::Arrow
            }
            '-' => Tok::Minus,
            '*' => Tok::Star,
            '/' => Tok::Slash,
            '%' => Tok::Percent,
            '|' if cur.peek() == Some('|') => {
                cur.bump();
                Tok::Concat
            }
            ':' if cur.peek() == Some('=') => {
                cur.bump();
                Tok::Assign
            }
            other => Tok::Unknown(other),
        };
        out.push(Token { tok, start, end: cur.i, pos });
    }
}

/// A number or a `DIGIT_IDENTIFIER`, whichever is longer (ties go to the number, as ANTLR's
/// rule order does): `12` integer, `1.5` decimal, `1e3` float, `12abc` digit identifier.
fn lex_number(cur: &mut Cursor<'_>, start: usize) -> Tok {
    let src = cur.src;
    let bytes = src.as_bytes();
    // Number candidate.
    let mut j = start;
    while j < bytes.len() && bytes[j].is_ascii_digit() {
        j += 1;
    }
    let mut fraction = false;
    if j < bytes.len() && bytes[j] == b'.' {
        fraction = true;
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
    }
    let mut exponent = false;
    if j < bytes.len() && (bytes[j] == b'e' || bytes[j] == b'E') {
        let mut k = j + 1;
        if k < bytes.len() && (bytes[k] == b'+' || bytes[k] == b'-') {
            k += 1;
        }
        if k < bytes.len() && bytes[k].is_ascii_digit() {
            while k < bytes.len() && bytes[k].is_ascii_digit() {
                k += 1;
            }
            exponent = true;
            j = k;
        }
    }
    let number_end = j;
    // Digit-identifier candidate: only when the text starts with a digit.
    let mut word_end = start;
    if bytes[start].is_ascii_digit() {
        let mut k = start;
        while k < bytes.len() && (bytes[k].is_ascii_alphanumeric() || bytes[k] == b'_' || bytes[k] == b'@') {
            k += 1;
        }
        if bytes[start..k].iter().any(|b| !b.is_ascii_digit()) {
            word_end = k;
        }
    }
    let end = number_end.max(word_end);
    while cur.i < end {
        cur.bump();
    }
    let text = src[start..end].to_string();
    if word_end > number_end {
        Tok::DigitWord(text)
    } else if exponent {
        Tok::Float(text)
    } else if fraction {
        Tok::Decimal(text)
    } else {
        Tok::Integer(text)
    }
}

/// The body of a quoted token whose opening quote was consumed; a doubled quote is one quote.
fn lex_quoted(cur: &mut Cursor<'_>, quote: char, pos: Position, what: &str) -> Result<String, LexError> {
    let mut s = String::new();
    loop {
        match cur.bump() {
            None => return Err(LexError { pos, message: format!("unterminated {what}: missing closing {quote}") }),
            Some(c) if c == quote => {
                if cur.peek() == Some(quote) {
                    cur.bump();
                    s.push(quote);
                } else {
                    return Ok(s);
                }
            }
            Some(c) => s.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_and_digit_identifiers() {
        assert_eq!(
            toks("12 1.5 .5 1. 1e3 1.5E-2 12abc 1e 0x1"),
            vec![
                Tok::Integer("12".into()),
                Tok::Decimal("1.5".into()),
                Tok::Decimal(".5".into()),
                Tok::Decimal("1.".into()),
                Tok::Float("1e3".into()),
                Tok::Float("1.5E-2".into()),
                Tok::DigitWord("12abc".into()),
                Tok::DigitWord("1e".into()),
                Tok::DigitWord("0x1".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn quotes_and_operators() {
        assert_eq!(
            toks("'it''s' `a``b` \"x\"\"y\" -> => := || <> != <= >= ${v} $x"),
            vec![
                Tok::Str("it's".into()),
                Tok::Quoted("a`b".into()),
                Tok::Quoted("x\"y".into()),
                Tok::Arrow,
                Tok::FatArrow,
                Tok::Assign,
                Tok::Concat,
                Tok::Neq,
                Tok::Neq,
                Tok::LtEq,
                Tok::GtEq,
                Tok::Variable("v".into()),
                Tok::Unknown('$'),
                Tok::Word("x".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn positions_count_characters() {
        let t = tokenize("-- c\n  é /* x\n y */ a").unwrap();
        assert_eq!(t[0].tok, Tok::Unknown('é'));
        assert_eq!(t[0].pos, Position { line: 2, column: 3 });
        assert_eq!(t[1].tok, Tok::Word("a".into()));
        assert_eq!(t[1].pos, Position { line: 3, column: 7 });
    }

    #[test]
    fn unterminated() {
        assert!(tokenize("'abc").is_err());
        assert!(tokenize("`abc").is_err());
        assert!(tokenize("/* abc").is_err());
    }
}
