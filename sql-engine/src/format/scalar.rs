//! Scalar text forms shared by the formats: Java's `Double.toString`, base64 (Jackson's and
//! Java's default alphabet), `BigDecimal` parsing with ksqlDB's `DecimalUtil.ensureFit`, and
//! the date/time checks of ksqlDB's `SerdeUtils`.

use std::fmt::Write;

use crate::value::Decimal;

/// Milliseconds in a day: the bound of a `TIME` value.
pub(crate) const MILLIS_PER_DAY: i64 = 86_400_000;

/// `Double.toString(d)` as Java prints it (`1.0`, `1.0E10`, `1.234E-5`, `NaN`, `Infinity`):
/// Jackson and the CSV printer both write doubles this way. The digits are the shortest that
/// round-trip, as Java 19+ prints them.
pub(crate) fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // `{:e}` gives the shortest round-trip digits: `1.2345e-5`, `1e7`.
    let sci = format!("{:e}", d.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if d < 0.0 { "-" } else { "" };
    let abs = d.abs();
    if (1e-3..1e7).contains(&abs) {
        // Plain notation with at least one fraction digit.
        let point = exp + 1; // digits before the decimal point
        let (int, frac) = if point <= 0 {
            ("0".to_string(), format!("{}{}", "0".repeat((-point) as usize), digits))
        } else if point as usize >= digits.len() {
            (format!("{}{}", digits, "0".repeat(point as usize - digits.len())), String::new())
        } else {
            (digits[..point as usize].to_string(), digits[point as usize..].to_string())
        };
        let frac = if frac.is_empty() { "0".to_string() } else { frac };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// `BigDecimal.toString()` of a decimal, as Jackson writes decimals into JSON: plain notation
/// unless the adjusted exponent is below -6 (`0.00000012` with scale 8 is `1.2E-7`, zero at
/// scale 8 is `0E-8`).
#[cfg(test)]
pub(crate) fn java_big_decimal(d: &Decimal) -> String {
    let mut out = String::new();
    write_java_big_decimal(&mut out, d);
    out
}

/// Writes [`java_big_decimal`]'s text to `out` without allocating.
pub(crate) fn write_java_big_decimal(out: &mut String, d: &Decimal) {
    let mut buf = [0u8; 40];
    let mut i = buf.len();
    let mut n = d.unscaled.unsigned_abs();
    // 64-bit divisions where the value fits (128-bit ones are library calls).
    while n > u128::from(u64::MAX) {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let mut m = n as u64;
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    let digits = std::str::from_utf8(&buf[i..]).unwrap_or("0");
    let scale = usize::from(d.scale);
    let adjusted = digits.len() as i64 - 1 - scale as i64;
    if d.unscaled < 0 {
        out.push('-');
    }
    if adjusted < -6 {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "E{adjusted}");
    } else if scale == 0 {
        out.push_str(digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(digits);
    }
}

/// `Double.parseDouble`: trims ASCII whitespace, accepts `NaN`, `Infinity`, an optional sign
/// and a trailing `d`/`f` type suffix.
pub(crate) fn parse_java_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    match t {
        "NaN" | "+NaN" | "-NaN" => return Some(f64::NAN),
        "Infinity" | "+Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    // Rust also takes `inf`/`nan` spellings Java does not; reject anything with letters other
    // than an exponent.
    if t.chars().any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') || t.is_empty() {
        return None;
    }
    t.parse().ok()
}

/// `Integer.parseInt` / `Long.parseLong`: optional sign, ASCII digits, no whitespace.
pub(crate) fn parse_java_long(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (Jackson's and `java.util.Base64`'s encoder).
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard padded base64, as Jackson's default variant requires.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let padded = s.len() - s.trim_end_matches('=').len();
    if padded > 2 {
        return None;
    }
    let s = &s[..s.len() - padded];
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A `java.math.BigDecimal` literal as digits and a scale: `"-12.30"` -> (`-1230`, 2),
/// `"1E+1"` -> (`1`, -1). `None` when the text is not a decimal number.
pub(crate) fn parse_big_decimal(s: &str) -> Option<(bool, String, i64)> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let exp: i64 = match exp {
        // BigDecimal takes any int exponent; beyond 10^4 no DECIMAL(38) value is in reach.
        Some(e) => parse_java_long(e).filter(|e| e.unsigned_abs() < 10_000)?,
        None => 0,
    };
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0".to_string() } else { digits.to_string() };
    Some((neg, digits, frac.len() as i64 - exp))
}

/// ksqlDB's `DecimalUtil.ensureFit`: rescale `text` to `DECIMAL(precision, scale)` without
/// rounding (adding zeros is fine, dropping non-zero digits is not) and check the magnitude.
pub(crate) fn decimal_from_text(text: &str, precision: u8, scale: u8) -> Result<Decimal, String> {
    let (neg, mut digits, value_scale) = parse_big_decimal(text)
        .ok_or_else(|| format!("Character array is not a valid decimal: {text}"))?;
    let target = i64::from(scale);
    if value_scale > target {
        let drop = (value_scale - target) as usize;
        let keep = digits.len().saturating_sub(drop);
        if digits[keep..].bytes().any(|b| b != b'0') {
            return Err(format!(
                "Cannot fit decimal '{}' into DECIMAL({precision}, {scale}) without rounding.",
                plain(neg, &digits, value_scale)
            ));
        }
        digits.truncate(keep);
        if digits.is_empty() {
            digits.push('0');
        }
    } else {
        let add = (target - value_scale) as usize;
        if digits != "0" {
            if digits.len() + add > 40 {
                return Err(overflow(precision, scale, &plain(neg, &digits, value_scale)));
            }
            digits.push_str(&"0".repeat(add));
        }
    }
    let digits_trimmed = digits.trim_start_matches('0');
    if digits_trimmed.len() > usize::from(precision) {
        return Err(overflow(precision, scale, &plain(neg, &digits, target)));
    }
    let unscaled: i128 = if digits_trimmed.is_empty() { 0 } else { digits_trimmed.parse().map_err(|_| overflow(precision, scale, text))? };
    Ok(Decimal { unscaled: if neg { -unscaled } else { unscaled }, precision, scale })
}

fn overflow(precision: u8, scale: u8, got: &str) -> String {
    format!(
        "Numeric field overflow: A field with precision {precision} and scale {scale} must round to an absolute value less than 10^{}. Got {got}",
        precision - scale.min(precision)
    )
}

/// `BigDecimal.toPlainString` of digits at a scale.
fn plain(neg: bool, digits: &str, scale: i64) -> String {
    let sign = if neg && digits.bytes().any(|b| b != b'0') { "-" } else { "" };
    if scale <= 0 {
        let zeros = if digits == "0" { 0 } else { (-scale) as usize };
        return format!("{sign}{digits}{}", "0".repeat(zeros.min(64)));
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let (i, f) = digits.split_at(digits.len() - scale);
        format!("{sign}{i}.{f}")
    } else {
        format!("{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
    }
}

/// ksqlDB's `SerdeUtils.returnTimeOrThrow`: a `TIME` is 0..=86400000 milliseconds.
pub(crate) fn time_from_millis(millis: i64) -> Result<i32, String> {
    if (0..=MILLIS_PER_DAY).contains(&millis) {
        Ok(millis as i32)
    } else {
        Err(format!(
            "Time values must use number of milliseconds greater than 0 and less than {MILLIS_PER_DAY}."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java_does() {
        let cases = [
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (10.0, "10.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1e7, "1.0E7"),
            (1.5e10, "1.5E10"),
            (123.456, "123.456"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (-0.0, "-0.0"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
        ];
        for (d, want) in cases {
            assert_eq!(java_double(d), want, "{d:?}");
            if !d.is_nan() {
                assert_eq!(parse_java_double(want), Some(d));
            }
        }
    }

    #[test]
    fn decimals_print_as_java_big_decimal_to_string() {
        let d = |unscaled, scale| java_big_decimal(&Decimal { unscaled, precision: 38, scale });
        assert_eq!(d(1230, 2), "12.30");
        assert_eq!(d(1, 6), "0.000001");
        assert_eq!(d(1, 7), "1E-7");
        assert_eq!(d(12, 8), "1.2E-7");
        assert_eq!(d(-123, 10), "-1.23E-8");
        assert_eq!(d(0, 8), "0E-8");
        assert_eq!(d(0, 6), "0.000000");
        assert_eq!(d(5, 0), "5");
        assert_eq!(d(-123_456_789_012_345_678_901_234_567_890, 3), "-123456789012345678901234567.890");
        for (u, scale) in [(i128::MAX, 0u8), (i128::MIN + 1, 38), (18_446_744_073_709_551_616, 5), (-7, 3)] {
            assert_eq!(d(u, scale), Decimal { unscaled: u, precision: 38, scale }.to_string(), "{u} {scale}");
        }
        for text in [d(12, 8), d(0, 8), d(-123, 10)] {
            assert!(parse_big_decimal(&text).is_some(), "{text}");
        }
    }

    #[test]
    fn java_number_parsing_is_strict() {
        assert_eq!(parse_java_long("+41"), Some(41));
        assert_eq!(parse_java_long("41.5"), None);
        assert_eq!(parse_java_long(" 41"), None);
        assert_eq!(parse_java_double(" 42.000 "), Some(42.0));
        assert_eq!(parse_java_double("inf"), None);
        assert_eq!(parse_java_double("1e3"), Some(1000.0));
    }

    #[test]
    fn base64_round_trips_and_rejects_garbage() {
        for len in 0..20u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37).wrapping_add(200)).collect();
            let text = base64_encode(&bytes);
            assert_eq!(base64_decode(&text), Some(bytes.clone()));
            if text.ends_with('=') {
                assert_eq!(base64_decode(text.trim_end_matches('=')), None);
            }
        }
        assert_eq!(base64_encode(b"{"), "ew==");
        assert_eq!(base64_decode("abc!"), None);
        assert_eq!(base64_decode("a"), None);
        assert_eq!(base64_decode("abc"), None);
        assert_eq!(base64_decode("a==="), None);
    }

    #[test]
    fn decimals_fit_as_ksqldb_fits_them() {
        let d = |t, p, s| decimal_from_text(t, p, s).map(|d| d.to_string());
        assert_eq!(d("1.1", 4, 3).unwrap(), "1.100");
        assert_eq!(d("10.0", 3, 1).unwrap(), "10.0");
        assert_eq!(d("1E+1", 3, 1).unwrap(), "10.0");
        assert_eq!(d("-0.05", 2, 2).unwrap(), "-0.05");
        assert_eq!(d("1.1234512345123451234", 20, 19).unwrap(), "1.1234512345123451234");
        assert_eq!(d("12.300", 4, 2).unwrap(), "12.30");
        assert_eq!(
            d("1.12", 4, 1).unwrap_err(),
            "Cannot fit decimal '1.12' into DECIMAL(4, 1) without rounding."
        );
        assert_eq!(
            d("1000", 4, 2).unwrap_err(),
            "Numeric field overflow: A field with precision 4 and scale 2 must round to an absolute value less than 10^2. Got 1000.00"
        );
        assert!(d("abc", 4, 2).is_err());
        assert!(d("1e999999999999", 4, 2).is_err());
        assert!(d("1e-999", 4, 2).is_err());
        assert_eq!(d("0e-999", 4, 2).unwrap(), "0.00");
    }
}
