//! Connect's `Decimal` logical type (`org.apache.kafka.connect.data.Decimal`): a `bytes` schema
//! named `org.apache.kafka.connect.data.Decimal` with a `scale` parameter, whose values are the
//! unscaled integer as big-endian two's complement bytes (what Kafka's `Decimal.fromLogical`
//! makes of a `BigDecimal`). A [`Value::Bytes`](crate::data::Value::Bytes) of such a schema is
//! a decimal; [`BigDecimal`] reads and writes it as text, as PostgreSQL's binary `NUMERIC`, and
//! rescales it exactly.
//!
//! ```
//! use brook_connect::decimal::{self, BigDecimal};
//!
//! let schema = decimal::schema(2);
//! let price = BigDecimal::parse("12.5").unwrap().rescale(2).unwrap();
//! assert_eq!(price.to_unscaled_bytes(), vec![0x04, 0xe2]); // 1250
//! assert_eq!(BigDecimal::from_unscaled_bytes(&[0x04, 0xe2], decimal::scale(&schema).unwrap()).unwrap().to_plain_string(), "12.50");
//! ```

use crate::data::{Schema, SchemaType};
use crate::error::{Error, Result};

/// `Decimal.LOGICAL_NAME`.
pub const LOGICAL_NAME: &str = "org.apache.kafka.connect.data.Decimal";
/// `Decimal.SCALE_FIELD`: the schema parameter holding the scale.
pub const SCALE_FIELD: &str = "scale";
/// The parameter Confluent's converters keep a decimal's precision in.
pub const PRECISION_PARAM: &str = "connect.decimal.precision";

/// `Decimal.schema(scale)`: required bytes, named, version 1, with its `scale` parameter.
#[must_use]
pub fn schema(scale: i32) -> Schema {
    let mut s = Schema { version: Some(1), ..Schema::of(SchemaType::Bytes).named(LOGICAL_NAME) };
    s.parameters.insert(SCALE_FIELD.to_owned(), scale.to_string());
    s
}

/// Whether `s` is a Decimal schema.
#[must_use]
pub fn is_decimal(s: &Schema) -> bool {
    s.schema_type == SchemaType::Bytes && s.name.as_deref() == Some(LOGICAL_NAME)
}

/// The scale of a Decimal schema.
///
/// # Errors
/// [`Error::Data`] when the `scale` parameter is missing or not a number (Kafka's message).
pub fn scale(s: &Schema) -> Result<i32> {
    s.parameters
        .get(SCALE_FIELD)
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::Data("Invalid Decimal schema: scale parameter not found.".into()))
}

/// The precision a Decimal schema carries in `connect.decimal.precision`, if any.
#[must_use]
pub fn precision(s: &Schema) -> Option<u32> {
    s.parameters.get(PRECISION_PARAM).and_then(|v| v.trim().parse().ok())
}

/// An exact decimal number: a sign, the decimal digits of the unscaled integer and a scale
/// (value = ±digits × 10^-scale), as Java's `BigDecimal`. Any number of digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigDecimal {
    negative: bool,
    /// ASCII digits without leading zeros; `"0"` for zero.
    digits: String,
    scale: i32,
}

/// The most digits a rescale may add, and the widest scale written out in full: bounds the
/// memory a hostile scale can ask for.
const MAX_DIGITS: usize = 1 << 20;
/// The most unscaled bytes read (about 158,000 digits, more than PostgreSQL's NUMERIC holds):
/// the conversion to digits is quadratic.
const MAX_BYTES: usize = 1 << 16;

impl BigDecimal {
    /// Zero at `scale`.
    #[must_use]
    pub fn zero(scale: i32) -> BigDecimal {
        BigDecimal { negative: false, digits: "0".into(), scale }
    }

    fn new(negative: bool, digits: &str, scale: i32) -> BigDecimal {
        let digits = digits.trim_start_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        BigDecimal { negative: negative && digits != "0", digits: digits.to_owned(), scale }
    }

    /// The scale.
    #[must_use]
    pub fn scale(&self) -> i32 {
        self.scale
    }

    /// The number of significant digits of the unscaled value (`BigDecimal.precision()`).
    #[must_use]
    pub fn precision(&self) -> usize {
        self.digits.len()
    }

    /// Whether the value is below zero.
    #[must_use]
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The decimal whose unscaled value is the two's complement big-endian `bytes`
    /// (`Decimal.toLogical`); no bytes is zero.
    ///
    /// # Errors
    /// [`Error::Data`] for more than 64 KiB of bytes.
    pub fn from_unscaled_bytes(bytes: &[u8], scale: i32) -> Result<BigDecimal> {
        if bytes.len() > MAX_BYTES {
            return Err(Error::Data(format!("a Decimal of {} bytes is larger than Brook reads ({MAX_BYTES})", bytes.len())));
        }
        let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
        let magnitude = if negative { negate(bytes) } else { bytes.to_vec() };
        // Base 10^9 limbs, least significant first.
        let mut limbs: Vec<u64> = Vec::new();
        for byte in magnitude {
            let mut carry = u64::from(byte);
            for limb in &mut limbs {
                let v = *limb * 256 + carry;
                *limb = v % 1_000_000_000;
                carry = v / 1_000_000_000;
            }
            while carry > 0 {
                limbs.push(carry % 1_000_000_000);
                carry /= 1_000_000_000;
            }
        }
        let mut digits = String::new();
        for (i, limb) in limbs.iter().rev().enumerate() {
            if i == 0 {
                digits.push_str(&limb.to_string());
            } else {
                digits.push_str(&format!("{limb:09}"));
            }
        }
        Ok(BigDecimal::new(negative, &digits, scale))
    }

    /// The unscaled value as two's complement big-endian bytes, as few as hold it (Java's
    /// `BigInteger.toByteArray`, which `Decimal.fromLogical` writes).
    #[must_use]
    pub fn to_unscaled_bytes(&self) -> Vec<u8> {
        // Base 2^32 limbs, least significant first.
        let mut limbs: Vec<u64> = Vec::new();
        for d in self.digits.bytes() {
            let mut carry = u64::from(d - b'0');
            for limb in &mut limbs {
                let v = *limb * 10 + carry;
                *limb = v & 0xffff_ffff;
                carry = v >> 32;
            }
            if carry > 0 {
                limbs.push(carry);
            }
        }
        let mut magnitude = vec![0u8];
        for limb in limbs.iter().rev() {
            magnitude.extend_from_slice(&(*limb as u32).to_be_bytes());
        }
        let bytes = if self.negative { negate(&magnitude) } else { magnitude };
        brook_schema::avro::minimal(bytes)
    }

    /// Parses decimal text: an optional sign, digits with an optional point, an optional
    /// exponent (`-12.50`, `1.2E+3`, `.5`). The scale is the text's (`12.50` has scale 2).
    ///
    /// # Errors
    /// [`Error::Data`] on anything else.
    pub fn parse(text: &str) -> Result<BigDecimal> {
        let bad = || Error::Data(format!("Invalid decimal value {text:?}"));
        let t = text.trim();
        let (negative, t) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exponent) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| bad())?),
            None => (t, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let scale = i32::try_from(frac.len()).map_err(|_| bad())?.checked_sub(exponent).ok_or_else(bad)?;
        Ok(BigDecimal::new(negative, &format!("{int}{frac}"), scale))
    }

    /// The same value at `scale`, exactly (Java's `setScale` without rounding).
    ///
    /// # Errors
    /// [`Error::Data`] when digits would be lost (`Rounding necessary`) or the result is absurdly
    /// long.
    pub fn rescale(&self, scale: i32) -> Result<BigDecimal> {
        let diff = i64::from(scale) - i64::from(self.scale);
        if diff >= 0 {
            let zeros = usize::try_from(diff).unwrap_or(usize::MAX);
            if self.digits == "0" {
                return Ok(BigDecimal::zero(scale));
            }
            if zeros > MAX_DIGITS {
                return Err(Error::Data(format!("Decimal {} cannot be rescaled to scale {scale}", self.to_plain_string())));
            }
            return Ok(BigDecimal { negative: self.negative, digits: format!("{}{}", self.digits, "0".repeat(zeros)), scale });
        }
        let drop = usize::try_from(-diff).unwrap_or(usize::MAX);
        let keep = self.digits.len().saturating_sub(drop);
        if self.digits[keep..].bytes().any(|b| b != b'0') {
            return Err(Error::Data(format!(
                "Decimal {} does not fit scale {scale} without rounding (Rounding necessary)",
                self.to_plain_string()
            )));
        }
        Ok(BigDecimal::new(self.negative, &self.digits[..keep], scale))
    }

    /// The value as plain decimal text, no exponent (`BigDecimal.toPlainString`): `-12.50`. A
    /// scale beyond a million digits either way is written with an exponent (`5E+2000000`).
    #[must_use]
    pub fn to_plain_string(&self) -> String {
        let sign = if self.negative { "-" } else { "" };
        if self.scale.unsigned_abs() as usize > MAX_DIGITS {
            return format!("{sign}{}E{:+}", self.digits, -i64::from(self.scale));
        }
        if self.scale <= 0 {
            if self.digits == "0" {
                return "0".into();
            }
            return format!("{sign}{}{}", self.digits, "0".repeat(self.scale.unsigned_abs() as usize));
        }
        let scale = self.scale as usize;
        let padded = if self.digits.len() <= scale { format!("{}{}", "0".repeat(scale + 1 - self.digits.len()), self.digits) } else { self.digits.clone() };
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{sign}{int}.{frac}")
    }

    /// The nearest float64.
    #[must_use]
    pub fn to_f64(&self) -> f64 {
        let sign = if self.negative { "-" } else { "" };
        format!("{sign}{}e{}", self.digits, -i64::from(self.scale)).parse().unwrap_or(f64::NAN)
    }

    /// The value as an i64 when it is a whole number that fits.
    #[must_use]
    pub fn to_i64(&self) -> Option<i64> {
        let whole = self.rescale(0).ok()?;
        let v: i64 = whole.digits.parse().ok()?;
        Some(if whole.negative { -v } else { v })
    }

    /// PostgreSQL's binary `NUMERIC`: digit count, weight, sign, display scale, then base-10000
    /// digits, all 16-bit big-endian. The display scale is the scale (0 when negative).
    ///
    /// # Errors
    /// [`Error::Data`] for a value PostgreSQL's NUMERIC cannot hold (a scale above 16383, more
    /// than 131072 digits before the point).
    pub fn to_pg_numeric(&self) -> Result<Vec<u8>> {
        let int_digits = i64::try_from(self.digits.len()).unwrap_or(i64::MAX) - i64::from(self.scale);
        if self.scale > 16383 || int_digits > 131_072 {
            return Err(Error::Data(format!("Decimal {} does not fit PostgreSQL's NUMERIC", self.to_plain_string())));
        }
        let (digits, scale) = if self.scale < 0 {
            (format!("{}{}", self.digits, "0".repeat(self.scale.unsigned_abs() as usize)), 0usize)
        } else {
            (self.digits.clone(), self.scale as usize)
        };
        let padded = if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale + 1 - digits.len())) } else { digits };
        let (int, frac) = padded.split_at(padded.len() - scale);
        let int = format!("{}{int}", "0".repeat((4 - int.len() % 4) % 4));
        let frac = format!("{frac}{}", "0".repeat((4 - frac.len() % 4) % 4));
        let group = |s: &str| s.parse::<i16>().unwrap_or(0);
        let mut groups: Vec<i16> = int.as_bytes().chunks(4).chain(frac.as_bytes().chunks(4)).map(|c| group(std::str::from_utf8(c).unwrap_or("0"))).collect();
        let mut weight = (int.len() / 4) as i32 - 1;
        while groups.first() == Some(&0) {
            groups.remove(0);
            weight -= 1;
        }
        while groups.last() == Some(&0) {
            groups.pop();
        }
        if groups.is_empty() {
            weight = 0;
        }
        let sign: u16 = if self.negative { 0x4000 } else { 0 };
        let mut out = Vec::with_capacity(8 + groups.len() * 2);
        out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
        out.extend_from_slice(&(weight as i16).to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&(scale.min(i16::MAX as usize) as i16).to_be_bytes());
        for g in groups {
            out.extend_from_slice(&g.to_be_bytes());
        }
        Ok(out)
    }

    /// Reads PostgreSQL's binary `NUMERIC` at its display scale.
    ///
    /// # Errors
    /// [`Error::Data`] on truncated bytes, NaN and infinities (which a Decimal cannot hold).
    pub fn from_pg_numeric(raw: &[u8]) -> Result<BigDecimal> {
        let word = |i: usize| raw.get(i * 2..i * 2 + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or_else(|| Error::Data("a truncated NUMERIC value".into()));
        let (ndigits, weight, sign, dscale) = (word(0)? as i16, word(1)? as i16, word(2)?, word(3)? as i16);
        match sign {
            0x0000 | 0x4000 => {}
            0xC000 => return Err(Error::Data("NUMERIC NaN has no Decimal value".into())),
            _ => return Err(Error::Data("an infinite NUMERIC has no Decimal value".into())),
        }
        let n = usize::try_from(ndigits).unwrap_or(0);
        let mut digits = String::with_capacity(n * 4);
        for i in 0..n {
            digits.push_str(&format!("{:04}", word(4 + i)?.min(9999)));
        }
        // value = digits × 10000^(weight - n + 1)
        let exponent = 4 * (i32::from(weight) - n as i32 + 1);
        BigDecimal::new(sign == 0x4000, &digits, -exponent).rescale(i32::from(dscale.max(0)))
    }
}

/// Two's complement negation of big-endian bytes (sign-extended by one byte so that the most
/// negative value of a width stays exact).
fn negate(bytes: &[u8]) -> Vec<u8> {
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 };
    let mut out: Vec<u8> = std::iter::once(fill).chain(bytes.iter().copied()).map(|b| !b).collect();
    for b in out.iter_mut().rev() {
        let (v, overflow) = b.overflowing_add(1);
        *b = v;
        if !overflow {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unscaled_bytes_round_trip_as_java_writes_them() {
        for (text, bytes) in [
            ("0", vec![0u8]),
            ("1", vec![1]),
            ("127", vec![0x7f]),
            ("128", vec![0x00, 0x80]),
            ("-1", vec![0xff]),
            ("-128", vec![0x80]),
            ("-129", vec![0xff, 0x7f]),
            ("1250", vec![0x04, 0xe2]),
            ("-1250", vec![0xfb, 0x1e]),
        ] {
            let d = BigDecimal::parse(text).unwrap();
            assert_eq!(d.to_unscaled_bytes(), bytes, "{text}");
            assert_eq!(BigDecimal::from_unscaled_bytes(&bytes, 0).unwrap(), d, "{text}");
        }
        let big = "123456789012345678901234567890123456789012345678901234567890";
        let d = BigDecimal::parse(&format!("-{big}")).unwrap();
        assert_eq!(BigDecimal::from_unscaled_bytes(&d.to_unscaled_bytes(), 0).unwrap().to_plain_string(), format!("-{big}"));
        assert_eq!(BigDecimal::from_unscaled_bytes(&[], 2).unwrap().to_plain_string(), "0.00");
        assert!(BigDecimal::from_unscaled_bytes(&vec![1u8; 70_000], 0).is_err(), "too large to read");
        // A hostile scale is written with an exponent, not a million zeros.
        assert_eq!(BigDecimal::from_unscaled_bytes(&[5], -2_000_000_000).unwrap().to_plain_string(), "5E+2000000000");
    }

    #[test]
    fn text_parses_and_rescales_exactly() {
        let d = BigDecimal::parse("-12.5").unwrap();
        assert_eq!((d.scale(), d.to_plain_string()), (1, "-12.5".to_owned()));
        assert_eq!(d.rescale(3).unwrap().to_plain_string(), "-12.500");
        assert_eq!(BigDecimal::parse("12.500").unwrap().rescale(1).unwrap().to_plain_string(), "12.5");
        assert!(BigDecimal::parse("12.55").unwrap().rescale(1).unwrap_err().to_string().contains("Rounding necessary"));
        assert_eq!(BigDecimal::parse("1.2E+3").unwrap().rescale(0).unwrap().to_plain_string(), "1200");
        assert_eq!(BigDecimal::parse(".05").unwrap().to_plain_string(), "0.05");
        assert_eq!(BigDecimal::parse("5E+2").unwrap().to_plain_string(), "500");
        assert_eq!(BigDecimal::parse("-0.00").unwrap().to_plain_string(), "0.00");
        for bad in ["", "-", "1.2.3", "abc", "1e", "--1"] {
            assert!(BigDecimal::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(BigDecimal::parse("-3.25").unwrap().to_f64(), -3.25);
        assert_eq!(BigDecimal::parse("42.000").unwrap().to_i64(), Some(42));
        assert_eq!(BigDecimal::parse("42.5").unwrap().to_i64(), None);
        assert!(BigDecimal::parse("1").unwrap().rescale(i32::MAX).is_err());
    }

    #[test]
    fn postgres_numeric_binary_round_trips() {
        // 12.5 at scale 1: digits [12, 5000], weight 0, positive, dscale 1.
        let d = BigDecimal::parse("12.5").unwrap();
        let raw: Vec<u8> = [2i16, 0, 0, 1, 12, 5000].iter().flat_map(|w| w.to_be_bytes()).collect();
        assert_eq!(d.to_pg_numeric().unwrap(), raw);
        assert_eq!(BigDecimal::from_pg_numeric(&raw).unwrap(), d);
        for text in ["0", "0.00", "-1", "10000", "123456789.000123", "-0.0001", "99999999999999999999999999.99", "1E+8"] {
            let d = BigDecimal::parse(text).unwrap();
            let back = BigDecimal::from_pg_numeric(&d.to_pg_numeric().unwrap()).unwrap();
            assert_eq!(back.to_plain_string(), d.rescale(d.scale().max(0)).unwrap().to_plain_string(), "{text}");
        }
        let nan: Vec<u8> = [0i16, 0, 0xC000u16 as i16, 0].iter().flat_map(|w| w.to_be_bytes()).collect();
        assert!(BigDecimal::from_pg_numeric(&nan).is_err());
        assert!(BigDecimal::from_pg_numeric(&[0, 1]).is_err());
        assert!(BigDecimal::parse("1E-20000").unwrap().to_pg_numeric().is_err(), "PostgreSQL's scale is at most 16383");
    }
}
