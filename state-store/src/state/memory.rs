//! The in-memory backend: an ordered `BTreeMap`.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::backend::{bounds, Backend, KeyRange, OpenOutcome, RawIter};

#[derive(Debug)]
pub(crate) struct MemoryBackend {
    name: String,
    map: BTreeMap<Bytes, Bytes>,
    open: bool,
}

impl MemoryBackend {
    pub(crate) fn new(name: &str) -> Self {
        MemoryBackend { name: name.to_owned(), map: BTreeMap::new(), open: true }
    }

    fn check(&self) -> Result<()> {
        if self.open { Ok(()) } else { Err(Error::Closed(self.name.clone())) }
    }
}

impl Backend for MemoryBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.check()?;
        Ok(self.map.get(key).cloned())
    }

    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()> {
        self.check()?;
        match value {
            Some(v) => self.map.insert(key, v),
            None => self.map.remove(&key),
        };
        Ok(())
    }

    fn range(&self, range: &KeyRange, reverse: bool) -> Result<RawIter<'_>> {
        self.check()?;
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let it = self.map.range::<[u8], _>(bounds(range)).map(|(k, v)| Ok((k.clone(), v.clone())));
        Ok(if reverse { Box::new(it.rev()) } else { Box::new(it) })
    }

    fn delete_range(&mut self, range: &KeyRange) -> Result<()> {
        self.check()?;
        if range.is_empty() {
            return Ok(());
        }
        // Split the map around the range instead of removing key by key: segment expiry drops
        // whole segments, and this is linear in the entries dropped only through their drop.
        let mut dropped = match &range.lo {
            Some(lo) => self.map.split_off::<[u8]>(lo),
            None => std::mem::take(&mut self.map),
        };
        let mut kept = match &range.hi {
            Some(hi) => dropped.split_off::<[u8]>(hi),
            None => BTreeMap::new(),
        };
        self.map.append(&mut kept);
        Ok(())
    }

    fn approximate_num_entries(&self) -> Result<u64> {
        self.check()?;
        Ok(self.map.len() as u64)
    }

    fn flush(&mut self) -> Result<()> {
        self.check()
    }

    fn commit(&mut self, _offset: Option<i64>) -> Result<()> {
        self.check()
    }

    fn committed_offset(&self) -> Option<i64> {
        None
    }

    fn restore_batch(&mut self, entries: Vec<(Bytes, Option<Bytes>)>, _last_offset: i64) -> Result<()> {
        self.put_all(entries)
    }

    fn close(&mut self) -> Result<()> {
        self.open = false;
        self.map.clear();
        Ok(())
    }

    fn persistent(&self) -> bool {
        false
    }

    fn open_outcome(&self) -> OpenOutcome {
        OpenOutcome::Created
    }
}
