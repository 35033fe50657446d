//! The process id: a UUID stable per state directory, kept in
//! `state.dir/<application.id>/kafka-streams-process-metadata` as Kafka Streams does.

use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use crate::error::{Error, Result};

/// The file name Kafka Streams uses.
pub(crate) const PROCESS_FILE: &str = "kafka-streams-process-metadata";

/// Reads the process id of this application's state directory, or creates and persists one.
pub(crate) fn load_or_create(app_dir: &Path) -> Result<String> {
    let path = app_dir.join(PROCESS_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Some(id) = parse(&text) {
            return Ok(id);
        }
        tracing::warn!(path = %path.display(), "unreadable process metadata file; writing a new process id");
    }
    std::fs::create_dir_all(app_dir).map_err(|e| io_err("creating", app_dir, e))?;
    let id = new_uuid();
    let text = format!("{{\"version\":0,\"processId\":\"{id}\"}}");
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| io_err("writing", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_err("writing", &path, e))?;
    Ok(id)
}

fn io_err(action: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io { action, path: path.to_path_buf(), source }
}

fn parse(text: &str) -> Option<String> {
    let rest = &text[text.find("\"processId\"")? + "\"processId\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let id = &rest[..rest.find('"')?];
    let valid = id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    valid.then(|| id.to_owned())
}

/// A random (version 4) UUID.
pub(crate) fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        h.write_u32(std::process::id());
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_id_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path()).unwrap();
        assert_eq!(a.len(), 36);
        assert_eq!(load_or_create(dir.path()).unwrap(), a);
        assert_ne!(new_uuid(), a);
        assert_eq!(
            parse("{\"processId\": \"0f8fad5b-d9cb-469f-a165-70867728950e\"}").as_deref(),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e")
        );
        assert_eq!(parse("{\"processId\":\"x\"}"), None);
    }
}
