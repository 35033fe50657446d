//! An exclusive lock on a directory, Kafka's `.lock` file: `flock` on `<dir>/.lock`, held for as
//! long as the [`DirLock`] lives (the kernel drops it when the process dies, so a crash never
//! leaves a stale lock). The holder writes its pid into the file so a refused opener can name it.
//!
//! `flock` locks belong to an open file description, so a second opener in the same process is
//! refused too (unlike POSIX `fcntl` locks).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lock file's name inside the locked directory, as in Kafka.
pub const LOCK_FILE: &str = ".lock";

/// A held lock on a directory; dropping it releases the lock.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Locks `dir` (which must exist) for this process. `holder` names what holds the lock in
    /// the refusal message ("broker", "Kafka Streams instance").
    ///
    /// # Errors
    /// [`Error::DirectoryLocked`] when another process or another opener in this process holds
    /// the lock, naming its pid; [`Error::Storage`] when the lock file cannot be opened.
    pub fn acquire(dir: &Path, holder: &str) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        let io = |e| Error::storage(format!("locking {}", path.display()), e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let pid = text.lines().find_map(|l| l.strip_prefix("pid=")).map(str::trim);
                let who = match pid {
                    Some(p) if p == std::process::id().to_string() => format!("another {holder} in this process (pid {p})"),
                    Some(p) => format!("another {holder} (pid {p})"),
                    None => format!("another {holder}"),
                };
                return Err(Error::DirectoryLocked(format!(
                    "failed to acquire lock on file {LOCK_FILE} in {}: {who} is using this directory",
                    dir.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let stamp = format!("pid={}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(stamp.as_bytes()))
            .map_err(io)?;
        Ok(DirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_opener_is_refused_with_the_holders_pid_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path(), "broker").unwrap();
        let err = DirLock::acquire(dir.path(), "broker").unwrap_err();
        let pid = std::process::id().to_string();
        assert!(matches!(&err, Error::DirectoryLocked(m) if m.contains(&format!("pid {pid}"))), "{err}");
        drop(first);
        let again = DirLock::acquire(dir.path(), "broker").unwrap();
        assert_eq!(std::fs::read_to_string(again.path()).unwrap(), format!("pid={pid}\n"));
    }
}
