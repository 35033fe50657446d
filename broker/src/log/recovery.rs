//! Opening a log directory: finishing interrupted operations, loading or rebuilding indexes,
//! and truncating torn or corrupt data.
//!
//! - `*.deleted` and `*.cleaned` files are leftovers of a deletion or an unfinished compaction:
//!   removed (the originals are intact).
//! - `B.log.swap` is a compacted segment that was complete (fsynced) before it got its name: the
//!   swap is finished by deleting the segments it replaces (base offsets in `[B, swap's next
//!   offset)`) and renaming it to `B.log`.
//! - The last segment, and any segment whose indexes are missing or inconsistent, is scanned from
//!   the start checking every batch header and CRC; at the first torn or corrupt batch the file is
//!   cut there and the indexes rebuilt from the valid batches. A corrupt batch inside an older
//!   segment cuts the log there: later segments are deleted, as Kafka does.
//! - Other segments keep their index files after a sanity check and a scan of the batches past
//!   the last index entry.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::record::batch::validate;

use super::handles::FilePool;
use super::index::{open_rw, OffsetIndex, TimeIndex};
use super::segment::{
    file_name, Next, Segment, BatchReader, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX,
};

/// Suffix of a compacted segment being written.
pub(crate) const CLEANED_SUFFIX: &str = "cleaned";
/// Suffix of a compacted segment ready to replace the originals.
pub(crate) const SWAP_SUFFIX: &str = "swap";
/// Suffix of files being deleted.
pub(crate) const DELETED_SUFFIX: &str = "deleted";

fn storage(what: &str, p: &Path, e: io::Error) -> Error {
    Error::storage(format!("{what} {}", p.display()), e)
}

/// Parses `00000000000000000042.log` into (42, "log"); None for other names.
pub(crate) fn parse_name(name: &str) -> Option<(i64, &str)> {
    let (num, suffix) = name.split_once('.')?;
    if num.len() != 20 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((num.parse().ok()?, suffix))
}

fn remove_if_exists(p: &Path) -> Result<()> {
    match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(storage("removing", p, e)),
    }
}

/// fsyncs a directory so renames and deletions in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| storage("syncing directory", dir, e))
}

/// Removes a segment's three files.
pub(crate) fn remove_segment_files(dir: &Path, base: i64) -> Result<()> {
    for s in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
        remove_if_exists(&dir.join(file_name(base, s)))?;
    }
    Ok(())
}

/// The offset after the last valid batch of a file, if it has one.
fn next_offset_of(path: &Path) -> Result<Option<i64>> {
    let file = open_rw(path).map_err(|e| storage("opening", path, e))?;
    let len = file.metadata().map_err(|e| storage("reading", path, e))?.len();
    let mut r = BatchReader::new(std::sync::Arc::new(file), 0, len);
    let mut next = None;
    while let Next::Batch(h, _, bytes) = r.next_batch()? {
        if validate(bytes).is_err() {
            break;
        }
        next = Some(h.next_offset());
    }
    Ok(next)
}

/// Cleans up leftovers of interrupted operations and returns the base offsets of the segments.
pub(crate) fn prepare_dir(dir: &Path) -> Result<Vec<i64>> {
    let mut logs = Vec::new();
    let mut swaps = Vec::new();
    let mut indexes = Vec::new();
    let mut changed = false;
    let entries = std::fs::read_dir(dir).map_err(|e| storage("listing", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| storage("listing", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if name.ends_with(&format!(".{DELETED_SUFFIX}")) || name.ends_with(&format!(".{CLEANED_SUFFIX}")) {
            tracing::info!(path = %path.display(), "removing leftover of an interrupted operation");
            remove_if_exists(&path)?;
            changed = true;
            continue;
        }
        match parse_name(name) {
            Some((base, s)) if s == LOG_SUFFIX => logs.push(base),
            Some((base, s)) if s == format!("{LOG_SUFFIX}.{SWAP_SUFFIX}") => swaps.push((base, path)),
            Some((base, s)) if s == INDEX_SUFFIX || s == TIME_INDEX_SUFFIX => indexes.push((base, path)),
            _ => {}
        }
    }
    swaps.sort();
    for (base, swap) in swaps {
        let next = next_offset_of(&swap)?;
        let end = next.unwrap_or(base + 1).max(base + 1);
        tracing::warn!(swap = %swap.display(), "completing an interrupted compaction swap");
        for &old in logs.iter().filter(|&&b| b >= base && b < end) {
            remove_segment_files(dir, old)?;
        }
        remove_segment_files(dir, base)?;
        logs.retain(|&b| b < base || b >= end);
        let target = dir.join(file_name(base, LOG_SUFFIX));
        std::fs::rename(&swap, &target).map_err(|e| storage("renaming", &swap, e))?;
        logs.push(base);
        changed = true;
    }
    logs.sort_unstable();
    logs.dedup();
    for (base, path) in indexes {
        if logs.binary_search(&base).is_err() {
            remove_if_exists(&path)?;
            changed = true;
        }
    }
    if changed {
        sync_dir(dir)?;
    }
    Ok(logs)
}

/// Scans the whole segment, checking every batch; cuts it at the first bad one and rebuilds the
/// indexes. Returns whether data was cut off.
pub(crate) fn recover_segment(seg: &mut Segment, interval: u64) -> Result<bool> {
    seg.reset_state();
    let mut cut: Option<(u64, String)> = None;
    let mut batches = Vec::new();
    {
        let mut r = seg.reader(0)?;
        let mut expect = seg.base_offset;
        loop {
            match r.next_batch()? {
                Next::End => break,
                Next::Invalid(pos, why) => {
                    cut = Some((pos, why));
                    break;
                }
                Next::Batch(h, pos, bytes) => {
                    if let Err(e) = validate(bytes) {
                        cut = Some((pos, e.to_string()));
                        break;
                    }
                    if h.base_offset < expect || !seg.can_hold(h.last_offset()) {
                        cut = Some((pos, format!("batch offset {} out of order (expected >= {expect})", h.base_offset)));
                        break;
                    }
                    expect = h.next_offset();
                    batches.push((h, pos));
                }
            }
        }
    }
    for (h, pos) in &batches {
        seg.track_batch(h, *pos, interval);
    }
    let truncated = match cut {
        Some((pos, why)) => {
            tracing::warn!(
                segment = %seg.path().display(), position = pos, dropped_bytes = seg.size - pos, reason = %why,
                "truncating a torn or corrupt log tail"
            );
            seg.truncate_at(pos)?;
            true
        }
        None => false,
    };
    seg.persist_indexes(false)?;
    Ok(truncated)
}

/// Uses a closed segment's index files if they are sane; scans the batches past the last index
/// entry. Returns false when the indexes cannot be trusted (the caller recovers the segment).
fn load_indexes(seg: &mut Segment, dir: &Path) -> Result<bool> {
    let base = seg.base_offset;
    let index_path: PathBuf = dir.join(file_name(base, INDEX_SUFFIX));
    let time_path: PathBuf = dir.join(file_name(base, TIME_INDEX_SUFFIX));
    let index = OffsetIndex::read(index_path.clone()).map_err(|e| storage("reading", &index_path, e))?;
    let time = TimeIndex::read(time_path.clone()).map_err(|e| storage("reading", &time_path, e))?;
    let (Some(index), Some(time)) = (index, time) else {
        tracing::warn!(segment = %seg.path().display(), "index files missing or partial: rebuilding");
        return Ok(false);
    };
    if let Some(why) = index.check(seg.size) {
        tracing::warn!(segment = %seg.path().display(), reason = %why, "bad offset index: rebuilding");
        return Ok(false);
    }
    let start = index.last();
    let mut next = base;
    let mut max_ts = time.last().map_or(-1, |t| t.ts);
    let mut first_ts = None;
    let mut pos = 0;
    if let Some(e) = start {
        pos = e.pos as u64;
    }
    {
        let mut r = seg.reader(pos)?;
        let mut first = true;
        loop {
            match r.next_batch()? {
                Next::End => break,
                Next::Invalid(p, why) => {
                    tracing::warn!(segment = %seg.path().display(), position = p, reason = %why, "bad batch in a closed segment");
                    return Ok(false);
                }
                Next::Batch(h, _, _) => {
                    if first {
                        if let Some(e) = start {
                            if h.last_offset() != base + e.rel as i64 {
                                tracing::warn!(segment = %seg.path().display(), "offset index does not match the data: rebuilding");
                                return Ok(false);
                            }
                        }
                        first = false;
                    }
                    if h.base_offset < next || !seg.can_hold(h.last_offset()) {
                        return Ok(false);
                    }
                    max_ts = max_ts.max(h.max_timestamp);
                    next = h.next_offset();
                }
            }
        }
    }
    let last_rel = (next > base).then(|| (next - 1 - base) as u32);
    if let Some(why) = time.check(last_rel) {
        tracing::warn!(segment = %seg.path().display(), reason = %why, "bad time index: rebuilding");
        return Ok(false);
    }
    if seg.size > 0 {
        first_ts = Some(super::segment::read_header(&*seg.file()?, 0)?.max_timestamp);
    }
    seg.index = index;
    seg.time_index = time;
    seg.set_loaded_state(next, max_ts, first_ts);
    Ok(true)
}

/// Opens every segment in `dir` (their files through `pool`). A corrupt closed segment ends the
/// log there.
pub(crate) fn open_segments(dir: &Path, interval: u64, pool: &Arc<FilePool>) -> Result<BTreeMap<i64, Segment>> {
    let bases = prepare_dir(dir)?;
    let mut segments = BTreeMap::new();
    let count = bases.len();
    for (i, &base) in bases.iter().enumerate() {
        let mut seg = Segment::open(dir, base, pool)?;
        let is_last = i + 1 == count;
        let cut = if !is_last && load_indexes(&mut seg, dir)? {
            false
        } else {
            recover_segment(&mut seg, interval)?
        };
        segments.insert(base, seg);
        if cut && !is_last {
            tracing::error!(
                dir = %dir.display(), segment = base, deleted_segments = count - i - 1,
                "corrupt batch inside a closed segment: the log is truncated there and later segments are deleted"
            );
            for &later in &bases[i + 1..] {
                remove_segment_files(dir, later)?;
            }
            break;
        }
    }
    Ok(segments)
}
