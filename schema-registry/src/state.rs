//! The registry's state, rebuilt from the `_schemas` records in order: the versions of every
//! subject, the compatibility levels and the modes. Nothing else decides it, so every server
//! that read the same records answers the same.

use std::collections::{BTreeMap, HashMap};

use crate::record::{ConfigValue, DeleteSubjectValue, Key, ModeValue, SchemaValue};

/// The state after some prefix of the log.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// subject -> version -> the record.
    pub(crate) subjects: BTreeMap<String, BTreeMap<i32, SchemaValue>>,
    /// The largest id any record used: the next schema gets one more.
    pub(crate) max_id: i32,
    /// Subject-level (and, under `None`, global) compatibility levels, as written.
    pub(crate) configs: HashMap<Option<String>, String>,
    /// Subject-level (and global) modes.
    pub(crate) modes: HashMap<Option<String>, String>,
}

impl State {
    /// Applies one record; one that cannot be decoded is logged and skipped.
    pub(crate) fn apply(&mut self, offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) {
        let Some(key) = key else { return };
        let key: Key = match serde_json::from_slice(key) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(offset, error = %e, "skipping a _schemas record with an unknown key");
                return;
            }
        };
        if let Err(e) = self.apply_key(key, value) {
            tracing::warn!(offset, error = %e, "skipping a _schemas record with a bad value");
        }
    }

    fn apply_key(&mut self, key: Key, value: Option<&[u8]>) -> serde_json::Result<()> {
        match (key, value) {
            (Key::Schema { subject, version, .. }, Some(v)) => {
                let v: SchemaValue = serde_json::from_slice(v)?;
                self.max_id = self.max_id.max(v.id);
                self.subjects.entry(subject).or_default().insert(version, v);
            }
            (Key::Schema { subject, version, .. }, None) => {
                if let Some(versions) = self.subjects.get_mut(&subject) {
                    versions.remove(&version);
                    if versions.is_empty() {
                        self.subjects.remove(&subject);
                    }
                }
            }
            (Key::Config { subject, .. }, Some(v)) => {
                let v: ConfigValue = serde_json::from_slice(v)?;
                self.configs.insert(subject, v.compatibility_level);
            }
            (Key::Config { subject, .. }, None) => {
                self.configs.remove(&subject);
            }
            (Key::Mode { subject, .. }, Some(v)) => {
                let v: ModeValue = serde_json::from_slice(v)?;
                self.modes.insert(subject, v.mode);
            }
            (Key::Mode { subject, .. }, None) => {
                self.modes.remove(&subject);
            }
            (Key::DeleteSubject { subject, .. }, Some(v)) => {
                let v: DeleteSubjectValue = serde_json::from_slice(v)?;
                if let Some(versions) = self.subjects.get_mut(&subject) {
                    for (_, s) in versions.range_mut(..=v.version) {
                        s.deleted = true;
                    }
                }
            }
            (Key::ClearSubject { subject, .. }, Some(_)) => {
                if let Some(versions) = self.subjects.get_mut(&subject) {
                    versions.retain(|_, s| !s.deleted);
                    if versions.is_empty() {
                        self.subjects.remove(&subject);
                    }
                }
            }
            (Key::DeleteSubject { .. } | Key::ClearSubject { .. } | Key::Noop { .. }, _) => {}
        }
        Ok(())
    }

    /// The versions of `subject`, soft-deleted ones too when `deleted`.
    pub(crate) fn versions(&self, subject: &str, deleted: bool) -> impl Iterator<Item = &SchemaValue> {
        self.subjects.get(subject).into_iter().flat_map(|v| v.values()).filter(move |s| deleted || !s.deleted)
    }

    /// Every version that has the schema `id`.
    pub(crate) fn with_id(&self, id: i32) -> impl Iterator<Item = &SchemaValue> {
        self.subjects.values().flat_map(|v| v.values()).filter(move |s| s.id == id)
    }
}
