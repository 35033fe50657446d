//! A fast path for the most common JSON record: a flat object of scalars whose field names are
//! the columns' names as written (`{"AUCTION":1,"PRICE":2}`). It reads the values straight
//! into the row's columns without building a tree or allocating for numbers.
//!
//! It gives up (`None`) on anything where ksqlDB's rules need the full reader
//! (`json.rs`): bytes outside ASCII, escapes, nested values, a key with lower-case letters (the
//! case-insensitive match), a column given twice, a value of another type than its column's
//! plain reading, a number that does not fit. The caller then reads the record the full way,
//! so results and error messages are the same either way, only faster for plain records.

use crate::value::{SqlType, Value};

/// One column the fast path reads: its name as written in the record and its type.
#[derive(Debug, Clone)]
pub(crate) struct FlatColumn {
    pub(crate) name: Box<[u8]>,
    pub(crate) ty: SqlType,
    /// The name is printable ASCII without lower-case letters, quotes or backslashes: a key
    /// written exactly as the name can be matched in place, without scanning it first.
    quick: bool,
}

impl FlatColumn {
    pub(crate) fn new(name: &str, ty: SqlType) -> FlatColumn {
        let quick = name.bytes().all(|b| (0x20..0x7f).contains(&b) && !b.is_ascii_lowercase() && b != b'"' && b != b'\\');
        FlatColumn { name: name.as_bytes().into(), ty, quick }
    }
}

/// Whether the fast path can read columns of type `t` (the others always take the full way).
pub(crate) fn flat_type(t: &SqlType) -> bool {
    matches!(t, SqlType::Boolean | SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::String | SqlType::Timestamp | SqlType::Date)
}

/// A scalar as written (the input is ASCII, so every slice is UTF-8).
enum Scalar<'a> {
    Null,
    Bool(bool),
    /// An integer without fraction or exponent, with its text.
    Int(&'a [u8]),
    /// A number with a fraction or an exponent.
    Num(&'a [u8]),
    /// A string without escapes.
    Str(&'a [u8]),
}

struct Scan<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.s.get(self.pos) == Some(&b)).then(|| self.pos += 1)
    }

    /// A string without escapes or control characters (the opening quote is next).
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.pos;
        loop {
            match *self.s.get(self.pos)? {
                b'"' => break,
                b'\\' => return None,
                b if b < 0x20 => return None,
                _ => self.pos += 1,
            }
        }
        self.pos += 1;
        Some(&self.s[start..self.pos - 1])
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number by the JSON grammar (leading zeroes rejected, as the full reader does).
    fn number(&mut self) -> Option<Scalar<'a>> {
        let start = self.pos;
        let _ = self.eat(b'-');
        let int_start = self.pos;
        let n = self.digits();
        if n == 0 || (n > 1 && self.s[int_start] == b'0') {
            return None;
        }
        let mut plain = true;
        if self.eat(b'.').is_some() {
            plain = false;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.pos) {
            plain = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.s.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        let text = &self.s[start..self.pos];
        Some(if plain { Scalar::Int(text) } else { Scalar::Num(text) })
    }

    /// The key `"NAME"` of column `c` if it is next, moving past it; else nothing moves.
    fn known_key(&mut self, c: &FlatColumn) -> bool {
        let n = c.name.len();
        let Some(rest) = self.s.get(self.pos..self.pos + n + 2) else { return false };
        if c.quick && rest[0] == b'"' && rest[n + 1] == b'"' && rest[1..=n] == *c.name {
            self.pos += n + 2;
            return true;
        }
        false
    }

    fn word(&mut self, w: &[u8], v: Scalar<'a>) -> Option<Scalar<'a>> {
        self.s[self.pos..].starts_with(w).then(|| {
            self.pos += w.len();
            v
        })
    }

    fn scalar(&mut self) -> Option<Scalar<'a>> {
        match *self.s.get(self.pos)? {
            b'"' => self.string().map(Scalar::Str),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.word(b"true", Scalar::Bool(true)),
            b'f' => self.word(b"false", Scalar::Bool(false)),
            b'n' => self.word(b"null", Scalar::Null),
            _ => None,
        }
    }
}

/// An integer as written (`-?digits`, checked by the scanner), `None` past 64 bits.
fn int(t: &[u8]) -> Option<i64> {
    let (neg, digits) = match t.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, t),
    };
    // Accumulated negative, so `i64::MIN` fits.
    let mut v: i64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if neg {
        Some(v)
    } else {
        v.checked_neg()
    }
}

fn text(t: &[u8]) -> Option<&str> {
    std::str::from_utf8(t).ok()
}

/// The value of `s` in a column of type `ty`, where it is the plain reading (else `None`).
fn convert(s: &Scalar<'_>, ty: &SqlType) -> Option<Value> {
    Some(match (s, ty) {
        (Scalar::Null, _) => Value::Null,
        (Scalar::Bool(b), SqlType::Boolean) => Value::Boolean(*b),
        (Scalar::Int(t), SqlType::BigInt) => Value::BigInt(int(t)?),
        (Scalar::Int(t), SqlType::Timestamp) => Value::Timestamp(int(t)?),
        // `number_as_long(n) as i32`: the low 32 bits.
        (Scalar::Int(t), SqlType::Int) => Value::Int(int(t)? as i32),
        (Scalar::Int(t), SqlType::Date) => Value::Date(int(t)? as i32),
        (Scalar::Int(t) | Scalar::Num(t), SqlType::Double) => Value::Double(text(t)?.parse().ok()?),
        (Scalar::Str(t), SqlType::String) => Value::String(text(t)?.to_owned()),
        _ => return None,
    })
}

/// Reads a flat object into `out` (one value per column, `NULL` where missing); `false`
/// when the record needs the full reader (then `out` holds nothing meaningful).
pub(crate) fn read_flat(bytes: &[u8], columns: &[FlatColumn], out: &mut Vec<Value>) -> bool {
    out.clear();
    out.extend(std::iter::repeat_with(|| Value::Null).take(columns.len()));
    read(bytes, columns, out).is_some()
}

fn read(bytes: &[u8], columns: &[FlatColumn], out: &mut [Value]) -> Option<()> {
    if !bytes.is_ascii() {
        return None;
    }
    // Which columns were given (a repeated one takes the full way); up to 64 columns.
    if columns.len() > 64 {
        return None;
    }
    let mut seen = 0u64;
    let mut p = Scan { s: bytes, pos: 0 };
    p.ws();
    p.eat(b'{')?;
    p.ws();
    if p.eat(b'}').is_some() {
        return Some(());
    }
    // Records mostly give the columns in order: the key of the column after the last one read
    // is tried in place first.
    let mut next = 0;
    loop {
        p.ws();
        let column = match columns.get(next) {
            Some(c) if p.known_key(c) => Some(next),
            _ => {
                let key = p.string()?;
                if key.iter().any(u8::is_ascii_lowercase) {
                    return None;
                }
                columns.iter().position(|c| *c.name == *key)
            }
        };
        p.ws();
        p.eat(b':')?;
        p.ws();
        let v = p.scalar()?;
        if let Some(i) = column {
            if seen & (1 << i) != 0 {
                return None;
            }
            seen |= 1 << i;
            out[i] = convert(&v, &columns[i].ty)?;
            next = i + 1;
        }
        p.ws();
        match *p.s.get(p.pos)? {
            b',' => p.pos += 1,
            // What follows the first value is ignored, as by the full reader.
            b'}' => return Some(()),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<FlatColumn> {
        [("A", SqlType::BigInt), ("B", SqlType::String), ("C", SqlType::Double), ("D", SqlType::Int)]
            .into_iter()
            .map(|(n, ty)| FlatColumn::new(n, ty))
            .collect()
    }

    fn read_str(s: &str) -> Option<Vec<Value>> {
        let mut out = Vec::new();
        read_flat(s.as_bytes(), &cols(), &mut out).then_some(out)
    }

    #[test]
    fn reads_plain_objects() {
        assert_eq!(
            read_str(r#" {"A": -12, "X": [1], "B":"x y", "C": 1.5e3} "#),
            None,
            "a nested value anywhere takes the full way"
        );
        assert_eq!(
            read_str(r#"{"A":-12,"X":true,"B":"x y","C":1.5e3,"D":4294967297} trailing"#),
            Some(vec![Value::BigInt(-12), Value::String("x y".into()), Value::Double(1500.0), Value::Int(1)])
        );
        assert_eq!(read_str("{}"), Some(vec![Value::Null; 4]));
        assert_eq!(read_str(r#"{"C":null,"D":7}"#), Some(vec![Value::Null, Value::Null, Value::Null, Value::Int(7)]));
    }

    #[test]
    fn keys_in_any_order_and_prefixes_of_names() {
        assert_eq!(
            read_str(r#"{"D":1,"C":2,"B":"b","A":3}"#),
            Some(vec![Value::BigInt(3), Value::String("b".into()), Value::Double(2.0), Value::Int(1)])
        );
        // A key that starts like the next column's name is another field.
        assert_eq!(read_str(r#"{"AB":1,"A":2}"#), Some(vec![Value::BigInt(2), Value::Null, Value::Null, Value::Null]));
        assert_eq!(read_str(r#"{"A":1,"Bx":2}"#), None, "a key with lower-case letters takes the full way");
        assert_eq!(read_str(r#"{"A":1,"A":2}"#), None, "a column given twice takes the full way");
    }

    #[test]
    fn integers_by_hand_as_rust_parses_them() {
        for t in ["0", "-0", "7", "-12", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809"] {
            assert_eq!(int(t.as_bytes()), t.parse::<i64>().ok(), "{t}");
        }
    }

    #[test]
    fn gives_up_where_the_full_reader_decides() {
        for s in [
            r#"{"a":1}"#,
            r#"{"A":1,"A":2}"#,
            r#"{"A":"1"}"#,
            r#"{"A":1.5}"#,
            r#"{"A":01}"#,
            r#"{"A":99999999999999999999}"#,
            r#"{"B":"a\"b"}"#,
            r#"{"B":"é"}"#,
            r#"{"B":1}"#,
            r#"{"A":1"#,
            "null",
            "[1]",
            "",
        ] {
            assert_eq!(read_str(s), None, "{s}");
        }
    }
}
