//! The log start offset checkpoint (`log-start-offset.checkpoint` in the log directory): read
//! when a log opens, written by retention and DeleteRecords before they delete segments.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

use super::recovery::sync_dir;

/// The log start offset checkpoint, one decimal number.
const CHECKPOINT: &str = "log-start-offset.checkpoint";

/// Reads the checkpointed log start offset; None when there is none or it is unreadable.
pub(crate) fn read_log_start_offset(dir: &Path) -> Result<Option<i64>> {
    let path = dir.join(CHECKPOINT);
    match std::fs::read_to_string(&path) {
        Ok(s) => match s.trim().parse::<i64>() {
            Ok(v) if v >= 0 => Ok(Some(v)),
            _ => {
                tracing::warn!(path = %path.display(), "ignoring an unreadable log start offset checkpoint");
                Ok(None)
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::storage(format!("reading {}", path.display()), e)),
    }
}

/// Writes the checkpoint atomically (temporary file, fsync, rename, directory fsync).
pub(super) fn write_log_start_offset(dir: &Path, offset: i64) -> Result<()> {
    let tmp = dir.join(format!("{CHECKPOINT}.tmp"));
    let res = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(format!("{offset}\n").as_bytes())?;
        f.sync_all()
    });
    res.and_then(|()| std::fs::rename(&tmp, dir.join(CHECKPOINT)))
        .map_err(|e| Error::storage(format!("writing {}", tmp.display()), e))?;
    sync_dir(dir)
}
