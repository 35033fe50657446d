//! Bytes and text encodings: TO_BYTES, FROM_BYTES, ENCODE, and numbers from bytes.

use base64::Engine;

use super::api::Nulls;
use super::args::{bytes, opt_string, string};
use super::registry::FunctionRegistry;
use crate::value::Value;
use crate::{eval_err, Result};

const CAT: &str = "CONVERSIONS";

pub(crate) fn register(r: &mut FunctionRegistry) {
    use Nulls::*;
    r.scalar("TO_BYTES", CAT, "Decodes a string in an encoding (hex, utf8, ascii, base64) into bytes.", &["(STRING, STRING) -> BYTES"], Strict, |a, _| Ok(Value::Bytes(decode(string(a, 0)?, string(a, 1)?)?)));
    r.scalar("FROM_BYTES", CAT, "Encodes bytes as a string in an encoding (hex, utf8, ascii, base64).", &["(BYTES, STRING) -> STRING"], Strict, |a, _| Ok(Value::String(encode(bytes(a, 0)?, string(a, 1)?)?)));
    r.scalar("ENCODE", CAT, "Re-encodes a string from one encoding to another: ENCODE(s, inputEncoding, outputEncoding).", &["(STRING, STRING, STRING) -> STRING"], Strict, |a, _| Ok(Value::String(encode(&decode(string(a, 0)?, string(a, 1)?)?, string(a, 2)?)?)));
    r.scalar("AS_VALUE", "OTHER", "Its argument: copies a key column into the value (GROUP BY, PARTITION BY).", &["(T) -> T"], Handled, |a, _| Ok(a.first().cloned().unwrap_or(Value::Null)));
    r.scalar("INT_FROM_BYTES", CAT, "The INT in 4 bytes, big-endian unless the byte order is 'LITTLE_ENDIAN'.", &["(BYTES) -> INT", "(BYTES, STRING) -> INT"], Strict, |a, _| Ok(Value::Int(i32::from_be_bytes(fixed::<4>(a)?))));
    r.scalar("BIGINT_FROM_BYTES", CAT, "The BIGINT in 8 bytes, big-endian unless the byte order is 'LITTLE_ENDIAN'.", &["(BYTES) -> BIGINT", "(BYTES, STRING) -> BIGINT"], Strict, |a, _| Ok(Value::BigInt(i64::from_be_bytes(fixed::<8>(a)?))));
    r.scalar("DOUBLE_FROM_BYTES", CAT, "The DOUBLE in 8 bytes, big-endian unless the byte order is 'LITTLE_ENDIAN'.", &["(BYTES) -> DOUBLE", "(BYTES, STRING) -> DOUBLE"], Strict, |a, _| Ok(Value::Double(f64::from_be_bytes(fixed::<8>(a)?))));
}

/// Exactly `N` bytes, reversed for little-endian, so callers read them big-endian.
fn fixed<const N: usize>(a: &[Value]) -> Result<[u8; N]> {
    let b = bytes(a, 0)?;
    let Ok(mut out) = <[u8; N]>::try_from(b) else {
        return eval_err!("Number of bytes must be equal to {N}, but found {}", b.len());
    };
    match opt_string(a, 1)?.map(str::to_ascii_uppercase).as_deref() {
        None | Some("BIG_ENDIAN") => {}
        Some("LITTLE_ENDIAN") => out.reverse(),
        Some(other) => return eval_err!("byte order must be BIG_ENDIAN or LITTLE_ENDIAN, got '{other}'"),
    }
    Ok(out)
}

fn decode(s: &str, encoding: &str) -> Result<Vec<u8>> {
    Ok(match encoding.to_ascii_lowercase().as_str() {
        "hex" => {
            // ksqlDB's hex forms: `0x..` (an odd digit count gets a leading 0), `X'..'`, bare
            // digits (an even count only).
            let (body, pad_odd) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(rest) => (rest, true),
                None => match s.strip_prefix("X'").or_else(|| s.strip_prefix("x'")) {
                    Some(rest) => match rest.strip_suffix('\'') {
                        Some(inner) => (inner, false),
                        None => return eval_err!("'{s}' is not a hex string"),
                    },
                    None => (s, false),
                },
            };
            let s = match body.len() % 2 {
                0 => body.to_string(),
                _ if pad_odd => format!("0{body}"),
                _ => return eval_err!("'{s}' is not a hex string: odd number of digits"),
            };
            (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap_or("zz"), 16)).collect::<std::result::Result<_, _>>().map_err(|_| crate::Error::Eval(format!("'{s}' is not a hex string")))?
        }
        "utf8" => s.as_bytes().to_vec(),
        "ascii" => s.chars().map(|c| if c.is_ascii() { c as u8 } else { b'?' }).collect(),
        "base64" => base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| crate::Error::Eval(format!("'{s}' is not base64: {e}")))?,
        other => return eval_err!("Supported encodings are: hex, utf8, ascii and base64, got '{other}'"),
    })
}

fn encode(b: &[u8], encoding: &str) -> Result<String> {
    Ok(match encoding.to_ascii_lowercase().as_str() {
        "hex" => b.iter().map(|x| format!("{x:02x}")).collect(),
        "utf8" => String::from_utf8_lossy(b).into_owned(),
        "ascii" => b.iter().map(|&x| if x.is_ascii() { x as char } else { '\u{FFFD}' }).collect(),
        "base64" => base64::engine::general_purpose::STANDARD.encode(b),
        other => return eval_err!("Supported encodings are: hex, utf8, ascii and base64, got '{other}'"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip() {
        assert_eq!(decode("0x1aff", "hex").unwrap(), vec![0x1a, 0xff]);
        assert_eq!(encode(&[0x1a, 0xff], "hex").unwrap(), "1aff");
        assert_eq!(encode(b"hi", "base64").unwrap(), "aGk=");
        assert_eq!(decode("aGk=", "BASE64").unwrap(), b"hi");
        assert!(decode("x", "rot13").is_err());
        assert!(decode("zz", "hex").is_err());
    }
}
