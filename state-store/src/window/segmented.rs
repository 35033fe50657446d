//! What the segmented window and session stores share beyond their [`Segments`]: raw keys are
//! `segment id (8) + changelog key`, so the changelog key is the raw key without its first 8
//! bytes, and a restored changelog record goes to its segment unless that one has expired.

use bytes::Bytes;

use super::segments::{raw_key, seg_prefix, Segments};
use crate::backend::KeyRange;
use crate::error::{Error, Result};
use crate::state::ChangelogRecord;

/// The changelog key of a raw key (and its value), for the stores' `KeyCodec::changelog`.
pub(crate) fn changelog_entry(key: &Bytes, value: Option<&Bytes>) -> (Bytes, Option<Bytes>, Option<i64>) {
    (key.slice(8.min(key.len())..), value.cloned(), None)
}

/// The changelog key inside raw key `raw`; `what` names the store in the error.
///
/// # Errors
/// [`Error::Decode`] when shorter than a segment id.
pub(crate) fn without_segment<'a>(raw: &'a [u8], what: &'static str) -> Result<&'a [u8]> {
    raw.get(8..).ok_or_else(|| Error::decode(what, "no segment id"))
}

/// Raw entries of a changelog batch: each record's time (from `time_of` its changelog key)
/// advances `observed`; records of segments expired at that time are dropped, the others'
/// segments added.
///
/// # Errors
/// `time_of`'s (an undecodable key).
pub(crate) fn restore_batch(
    segments: &mut Segments,
    observed: &mut i64,
    records: &[ChangelogRecord],
    mut time_of: impl FnMut(&[u8]) -> Result<i64>,
) -> Result<Vec<(Bytes, Option<Bytes>)>> {
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let time = time_of(&r.key)?;
        *observed = (*observed).max(time);
        let id = segments.id(time);
        if id < segments.min_live(*observed) {
            continue;
        }
        segments.add(id);
        out.push((raw_key(id, &[&r.key]), r.value.clone()));
    }
    Ok(out)
}

/// The key bounds of a key-range fetch (`None`: unbounded), owned so that the lazy scan over
/// the segments and the filter of its entries can each keep a copy.
#[derive(Debug, Clone)]
pub(crate) struct KeyBounds {
    from: Option<Bytes>,
    to: Option<Bytes>,
}

impl KeyBounds {
    pub(crate) fn new(from: Option<&[u8]>, to: Option<&[u8]>) -> Self {
        KeyBounds { from: from.map(Bytes::copy_from_slice), to: to.map(Bytes::copy_from_slice) }
    }

    /// The lower bound (`None`: unbounded).
    pub(crate) fn from(&self) -> Option<&[u8]> {
        self.from.as_deref()
    }

    /// Whether `key` is within the bounds.
    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        self.from.as_deref().is_none_or(|f| key >= f) && self.to.as_deref().is_none_or(|t| key <= t)
    }

    /// The raw keys of segment `s` to scan: from `lo` up to the upper bound followed by
    /// `hi_suffix` (the largest time suffix the store writes), or to the segment's end when
    /// unbounded.
    pub(crate) fn segment_range(&self, s: i64, lo: Bytes, hi_suffix: &[u8]) -> KeyRange {
        match &self.to {
            Some(to) => KeyRange::inclusive(Some(&lo), Some(&raw_key(s, &[to, hi_suffix]))),
            None => KeyRange { lo: Some(lo), hi: Some(Bytes::copy_from_slice(&seg_prefix(s + 1))) },
        }
    }
}
