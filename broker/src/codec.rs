//! A bounds-checked big-endian reader for Kafka's classic binary schemas (consumer protocol,
//! `__consumer_offsets` and `__transaction_state` records): untrusted bytes give errors, never
//! panics.

use crate::error::{Error, Result};

/// Reads fields front to back; every error names `what` is being decoded.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    fn corrupt(&self, detail: impl std::fmt::Display) -> Error {
        Error::Corrupt(format!("{}: {detail}", self.what))
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| self.corrupt("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn i8(&mut self) -> Result<i8> {
        Ok(self.take(1)?[0] as i8)
    }

    pub(crate) fn i16(&mut self) -> Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn i64(&mut self) -> Result<i64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(a))
    }

    /// An i16-length string; `None` for length -1.
    pub(crate) fn nullable_string(&mut self) -> Result<Option<String>> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let b = self.take(len as usize)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(Some(s.to_owned())),
            Err(_) => Err(self.corrupt("string is not UTF-8")),
        }
    }

    pub(crate) fn string(&mut self) -> Result<String> {
        self.nullable_string()?.ok_or_else(|| self.corrupt("null string"))
    }

    /// i32-length bytes; `None` for a negative length.
    pub(crate) fn nullable_bytes(&mut self) -> Result<Option<Vec<u8>>> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(None);
        }
        Ok(Some(self.take(len as usize)?.to_vec()))
    }

    /// i32-length bytes, null read as empty.
    pub(crate) fn bytes(&mut self) -> Result<Vec<u8>> {
        Ok(self.nullable_bytes()?.unwrap_or_default())
    }

    /// A non-null array length that the remaining bytes could hold.
    pub(crate) fn count(&mut self) -> Result<usize> {
        let n = self.i32()?;
        if n < 0 {
            return Err(self.corrupt("null array"));
        }
        if n as usize > self.buf.len() - self.pos {
            return Err(self.corrupt(format!("array of {n} entries cannot fit")));
        }
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_refuses_bad_lengths() {
        let mut r = Reader::new(&[0, 2, b'h', b'i', 0xff, 0xff, 0, 0, 0, 1, 7], "test");
        assert_eq!(r.string().unwrap(), "hi");
        assert_eq!(r.nullable_string().unwrap(), None);
        assert_eq!(r.bytes().unwrap(), vec![7]);
        assert!(matches!(r.i8(), Err(Error::Corrupt(_))));
        assert!(matches!(Reader::new(&[0x7f, 0, 0, 0], "t").count(), Err(Error::Corrupt(_))));
        assert!(matches!(Reader::new(&[0xff, 0xff, 0xff, 0xff], "t").count(), Err(Error::Corrupt(_))));
        assert!(matches!(Reader::new(&[0, 3, 0xc3, 0x28, 0], "t").string(), Err(Error::Corrupt(_))));
    }
}
