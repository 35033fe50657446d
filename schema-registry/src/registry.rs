//! [`SchemaRegistry`]: the operations behind the REST API (and the in-process client), over a
//! [`SchemaLog`]. Reads answer from memory; a write appends a record to the log and returns
//! once this server's reader has applied it, as Confluent's leader waits for its own
//! `KafkaStoreReaderThread`. Writes of one server are serialized; servers sharing a log
//! converge on its records (there is no leader election: see `docs/schema-registry.md`).

use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::compat::{self, Compatibility};
use crate::log::SchemaLog;
use crate::record::{ConfigValue, DeleteSubjectValue, Key, ModeValue, SchemaValue};
use crate::schema::{normalized_text, stored_text, Parsed, Reference, Resolved, SchemaType};
use crate::state::State;
use crate::{Error, Result};

/// How the registry is set up.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// The topic of the records. Default: `_schemas` (Confluent's `kafkastore.topic`).
    pub topic: String,
    /// The compatibility level when none is set. Default: BACKWARD.
    pub default_compatibility: Compatibility,
    /// How long a write waits to be read back. Default: 10 s (`kafkastore.timeout.ms` is 500 ms
    /// in Confluent's registry, whose writes go over the network).
    pub write_timeout: Duration,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig { topic: "_schemas".into(), default_compatibility: Compatibility::Backward, write_timeout: Duration::from_secs(10) }
    }
}

/// A schema as a client submits it (the body of `POST /subjects/{s}/versions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaRequest {
    /// The schema text.
    pub schema: String,
    /// Its type. Default: AVRO.
    #[serde(rename = "schemaType", default)]
    pub schema_type: SchemaType,
    /// The schemas it references.
    #[serde(default)]
    pub references: Vec<Reference>,
    /// IMPORT mode only: the id to register it under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i32>,
    /// IMPORT mode only: the version to register it as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

impl SchemaRequest {
    /// An Avro schema without references.
    pub fn avro(schema: impl Into<String>) -> SchemaRequest {
        SchemaRequest { schema: schema.into(), ..Default::default() }
    }
}

/// One version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The subject.
    pub subject: String,
    /// The version in the subject.
    pub version: i32,
    /// The schema id (global).
    pub id: i32,
    /// The schema's type.
    pub schema_type: SchemaType,
    /// What it references.
    pub references: Vec<Reference>,
    /// The stored text.
    pub schema: String,
    /// Soft-deleted.
    pub deleted: bool,
}

impl From<&SchemaValue> for Registered {
    fn from(v: &SchemaValue) -> Self {
        Registered {
            subject: v.subject.clone(),
            version: v.version,
            id: v.id,
            schema_type: v.schema_type,
            references: v.references.clone(),
            schema: v.schema.clone(),
            deleted: v.deleted,
        }
    }
}

/// A version in a path: a number or `latest` (also `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    /// The newest live version.
    Latest,
    /// That version.
    Number(i32),
}

impl VersionSpec {
    /// Parses a path segment.
    ///
    /// # Errors
    /// [`Error::InvalidVersion`] (42202) for anything but `latest`, `-1` or 1..=2^31-1.
    pub fn parse(s: &str) -> Result<VersionSpec> {
        if s.eq_ignore_ascii_case("latest") || s == "-1" {
            return Ok(VersionSpec::Latest);
        }
        match s.parse::<i32>() {
            Ok(n) if n >= 1 => Ok(VersionSpec::Number(n)),
            _ => Err(Error::InvalidVersion(s.to_owned())),
        }
    }
}

/// A registry's (or a subject's) mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Registrations and deletions allowed. The default.
    ReadWrite,
    /// Nothing is written.
    ReadOnly,
    /// Read-only, also for a subject-level mode below it.
    ReadOnlyOverride,
    /// Schemas are registered with the ids and versions given, without compatibility checks.
    Import,
}

impl Mode {
    /// From Confluent's name.
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s.to_ascii_uppercase().as_str() {
            "READWRITE" => Mode::ReadWrite,
            "READONLY" => Mode::ReadOnly,
            "READONLY_OVERRIDE" => Mode::ReadOnlyOverride,
            "IMPORT" => Mode::Import,
            _ => return None,
        })
    }

    /// Confluent's name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::ReadWrite => "READWRITE",
            Mode::ReadOnly => "READONLY",
            Mode::ReadOnlyOverride => "READONLY_OVERRIDE",
            Mode::Import => "IMPORT",
        }
    }
}

/// What every clone of a [`SchemaRegistry`] shares: the applied state, the log and the writer lock.
#[derive(Debug)]
struct Shared {
    state: RwLock<State>,
    log: Arc<dyn SchemaLog>,
    config: RegistryConfig,
    /// The offset up to which the log was applied.
    applied: tokio::sync::watch::Sender<i64>,
    /// One write at a time in this server.
    writing: tokio::sync::Mutex<()>,
    runtime: tokio::runtime::Handle,
}

/// The registry: cheap to clone.
#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    inner: Arc<Shared>,
}

impl SchemaRegistry {
    /// Reads `log` to its end, then keeps reading it in the background (records other servers
    /// append show up here too) until the last clone is dropped.
    ///
    /// # Errors
    /// [`Error::Store`] when the log cannot be read.
    ///
    /// # Cancel safety
    /// Not cancel safe: a start dropped half-way leaves a reader task that stops on its own.
    pub async fn start(log: Arc<dyn SchemaLog>, config: RegistryConfig) -> Result<SchemaRegistry> {
        let end = log.end_offset().await?;
        let (applied, _) = tokio::sync::watch::channel(0);
        let inner = Arc::new(Shared {
            state: RwLock::new(State::default()),
            log,
            config,
            applied,
            writing: tokio::sync::Mutex::new(()),
            runtime: tokio::runtime::Handle::current(),
        });
        let mut next = 0;
        while next < end {
            next = Self::read_once(&inner, next, Duration::from_millis(200)).await?;
        }
        tokio::spawn(Self::tail(Arc::downgrade(&inner), next));
        let registry = SchemaRegistry { inner };
        let st = registry.inner.state.read();
        let versions: usize = st.subjects.values().map(|v| v.len()).sum();
        tracing::info!(subjects = st.subjects.len(), versions, max_id = st.max_id, topic = %registry.inner.config.topic, "schema registry loaded");
        drop(st);
        Ok(registry)
    }

    /// Applies the records from `from` on; the offset to read next.
    async fn read_once(inner: &Shared, from: i64, wait: Duration) -> Result<i64> {
        let records = inner.log.read(from, wait).await?;
        let mut next = from;
        if !records.is_empty() {
            let mut st = inner.state.write();
            for r in records {
                st.apply(r.offset, r.key.as_deref(), r.value.as_deref());
                next = r.offset + 1;
            }
        }
        inner.applied.send_replace(next);
        Ok(next)
    }

    async fn tail(inner: Weak<Shared>, mut next: i64) {
        loop {
            let Some(i) = inner.upgrade() else { return };
            match Self::read_once(&i, next, Duration::from_millis(500)).await {
                Ok(n) => next = n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the schemas topic; retrying");
                    drop(i);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Appends a record and waits until this server applied it.
    async fn write(&self, key: &Key, value: Option<Vec<u8>>) -> Result<()> {
        let key = serde_json::to_vec(key).map_err(|e| Error::Store(e.to_string()))?;
        let end = self.inner.log.append(key, value).await?;
        let mut applied = self.inner.applied.subscribe();
        let done = tokio::time::timeout(self.inner.config.write_timeout, applied.wait_for(|a| *a >= end)).await.map(|r| r.is_ok());
        match done {
            Ok(true) => Ok(()),
            _ => Err(Error::Timeout),
        }
    }

    fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
        serde_json::to_vec(v).map_err(|e| Error::Store(e.to_string()))
    }

    /// The runtime the registry runs on (for blocking callers).
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.inner.runtime
    }

    // ---- reads ----

    /// The subjects with a live version (with a soft-deleted one too when `deleted`), sorted,
    /// starting with `prefix`.
    pub fn subjects(&self, prefix: &str, deleted: bool) -> Vec<String> {
        let st = self.inner.state.read();
        st.subjects.iter().filter(|(s, v)| s.starts_with(prefix) && v.values().any(|x| deleted || !x.deleted)).map(|(s, _)| s.clone()).collect()
    }

    /// The version numbers of `subject`.
    ///
    /// # Errors
    /// [`Error::SubjectNotFound`].
    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>> {
        let st = self.inner.state.read();
        let v: Vec<i32> = st.versions(subject, deleted).map(|s| s.version).collect();
        if v.is_empty() {
            return Err(Error::SubjectNotFound(subject.to_owned()));
        }
        Ok(v)
    }

    /// One version of `subject`.
    ///
    /// # Errors
    /// [`Error::SubjectNotFound`], [`Error::VersionNotFound`].
    pub fn version(&self, subject: &str, version: VersionSpec, deleted: bool) -> Result<Registered> {
        let st = self.inner.state.read();
        Self::find_version(&st, subject, version, deleted).map(Registered::from)
    }

    fn find_version<'a>(st: &'a State, subject: &str, version: VersionSpec, deleted: bool) -> Result<&'a SchemaValue> {
        let all = st.subjects.get(subject).filter(|v| v.values().any(|s| deleted || !s.deleted));
        let Some(all) = all else { return Err(Error::SubjectNotFound(subject.to_owned())) };
        match version {
            VersionSpec::Latest => all.values().rev().find(|s| deleted || !s.deleted).ok_or_else(|| Error::SubjectNotFound(subject.to_owned())),
            VersionSpec::Number(n) => all.get(&n).filter(|s| deleted || !s.deleted).ok_or(Error::VersionNotFound(n)),
        }
    }

    /// The schema with `id` (from any version that has it, soft-deleted ones included; from
    /// `subject`'s when given and it has it).
    ///
    /// # Errors
    /// [`Error::SchemaNotFound`].
    pub fn schema_by_id(&self, id: i32, subject: Option<&str>) -> Result<Registered> {
        let st = self.inner.state.read();
        let found = subject.and_then(|s| st.with_id(id).find(|v| v.subject == s)).or_else(|| st.with_id(id).next());
        found.map(Registered::from).ok_or(Error::SchemaNotFound(Some(id)))
    }

    /// The (subject, version) pairs that have the schema `id`.
    ///
    /// # Errors
    /// [`Error::SchemaNotFound`].
    pub fn id_versions(&self, id: i32, deleted: bool) -> Result<Vec<(String, i32)>> {
        let st = self.inner.state.read();
        if st.with_id(id).next().is_none() {
            return Err(Error::SchemaNotFound(Some(id)));
        }
        Ok(st.with_id(id).filter(|v| deleted || !v.deleted).map(|v| (v.subject.clone(), v.version)).collect())
    }

    /// The subjects that have the schema `id`.
    ///
    /// # Errors
    /// [`Error::SchemaNotFound`].
    pub fn id_subjects(&self, id: i32, deleted: bool) -> Result<Vec<String>> {
        let mut subjects: Vec<String> = self.id_versions(id, deleted)?.into_iter().map(|(s, _)| s).collect();
        subjects.dedup();
        Ok(subjects)
    }

    /// Every live schema version (soft-deleted ones too when `deleted`), by subject then
    /// version; `latest_only` keeps each subject's newest.
    pub fn all_schemas(&self, prefix: &str, deleted: bool, latest_only: bool) -> Vec<Registered> {
        let st = self.inner.state.read();
        let mut out = Vec::new();
        for (s, versions) in st.subjects.iter().filter(|(s, _)| s.starts_with(prefix)) {
            let live: Vec<&SchemaValue> = versions.values().filter(|v| deleted || !v.deleted).collect();
            let _ = s;
            if latest_only {
                out.extend(live.last().map(|v| Registered::from(*v)));
            } else {
                out.extend(live.into_iter().map(Registered::from));
            }
        }
        out
    }

    /// The version of `subject` whose schema is `req`'s (`POST /subjects/{s}`).
    ///
    /// # Errors
    /// [`Error::SubjectNotFound`], [`Error::SchemaNotFound`], [`Error::InvalidSchema`].
    pub fn lookup(&self, subject: &str, req: &SchemaRequest, normalize: bool, deleted: bool) -> Result<Registered> {
        let st = self.inner.state.read();
        if st.versions(subject, deleted).next().is_none() {
            return Err(Error::SubjectNotFound(subject.to_owned()));
        }
        let resolved = Self::resolve(&st, req.schema_type, &req.schema, &req.references)?;
        resolved.parse().map_err(Error::InvalidSchema)?;
        let found = st.versions(subject, deleted).filter(|v| Self::same(v, req, normalize)).last();
        found.map(Registered::from).ok_or(Error::SchemaNotFound(None))
    }

    fn same(v: &SchemaValue, req: &SchemaRequest, normalize: bool) -> bool {
        if v.schema_type != req.schema_type || v.references != req.references {
            return false;
        }
        if normalize {
            normalized_text(v.schema_type, &v.schema) == normalized_text(req.schema_type, &req.schema)
        } else {
            stored_text(v.schema_type, &v.schema) == stored_text(req.schema_type, &req.schema)
        }
    }

    /// The schema with its references' texts, dependencies first.
    fn resolve(st: &State, schema_type: SchemaType, text: &str, refs: &[Reference]) -> Result<Resolved> {
        fn walk(st: &State, refs: &[Reference], deps: &mut Vec<(String, String)>, depth: usize) -> Result<()> {
            if depth > 32 {
                return Err(Error::InvalidSchema("references nest too deep".into()));
            }
            for r in refs {
                if deps.iter().any(|(n, _)| *n == r.name) {
                    continue;
                }
                let v = st.subjects.get(&r.subject).and_then(|v| v.get(&r.version)).ok_or_else(|| {
                    Error::InvalidSchema(format!("reference {:?}: version {} of subject {:?} not found", r.name, r.version, r.subject))
                })?;
                walk(st, &v.references, deps, depth + 1)?;
                deps.push((r.name.clone(), v.schema.clone()));
            }
            Ok(())
        }
        let mut deps = Vec::new();
        walk(st, refs, &mut deps, 0)?;
        Ok(Resolved { schema_type, text: text.to_owned(), deps })
    }

    fn parse_stored(st: &State, v: &SchemaValue) -> Option<Parsed> {
        let r = Self::resolve(st, v.schema_type, &v.schema, &v.references).ok()?;
        r.parse().ok()
    }

    // ---- compatibility ----

    /// The level in force for `subject`: its own, else the global one, else the default.
    pub fn compatibility(&self, subject: Option<&str>) -> Compatibility {
        let st = self.inner.state.read();
        self.level(&st, subject)
    }

    fn level(&self, st: &State, subject: Option<&str>) -> Compatibility {
        subject
            .and_then(|s| st.configs.get(&Some(s.to_owned())))
            .or_else(|| st.configs.get(&None))
            .and_then(|l| Compatibility::parse(l))
            .unwrap_or(self.inner.config.default_compatibility)
    }

    /// The level set on `subject` itself (`None`: the global one set), if any.
    pub fn configured_compatibility(&self, subject: Option<&str>) -> Option<Compatibility> {
        let st = self.inner.state.read();
        st.configs.get(&subject.map(str::to_owned)).and_then(|l| Compatibility::parse(l))
    }

    /// Why `parsed` is incompatible with `subject`'s versions under `level`: against `only`
    /// when given, else the latest live one or (transitive levels) every live one.
    fn incompatibilities(&self, st: &State, subject: &str, parsed: &Parsed, level: Compatibility, only: Option<&SchemaValue>) -> Vec<String> {
        if level == Compatibility::None {
            return vec![];
        }
        let live: Vec<&SchemaValue> = st.versions(subject, false).collect();
        let against: Vec<&SchemaValue> = match only {
            Some(v) => vec![v],
            None if level.transitive() => live.into_iter().rev().collect(),
            None => live.last().copied().into_iter().collect(),
        };
        let mut out = Vec::new();
        for old in against {
            let Some(old_parsed) = Self::parse_stored(st, old) else { continue };
            let msgs = compat::check(level, parsed, &old_parsed);
            if !msgs.is_empty() {
                out.extend(msgs);
                out.push(format!("{{oldSchemaVersion: {}}}", old.version));
                out.push(format!("{{oldSchema: '{}'}}", old.schema));
                out.push(format!("{{compatibility: '{}'}}", level.name()));
                break;
            }
        }
        out
    }

    /// `POST /compatibility/subjects/{s}/versions[/{v}]`: why `req` is incompatible (empty:
    /// it is compatible).
    ///
    /// # Errors
    /// [`Error::InvalidSchema`]; with a version number, [`Error::SubjectNotFound`] and
    /// [`Error::VersionNotFound`].
    pub fn test_compatibility(&self, subject: &str, version: Option<VersionSpec>, req: &SchemaRequest) -> Result<Vec<String>> {
        let st = self.inner.state.read();
        let parsed = Self::resolve(&st, req.schema_type, &req.schema, &req.references)?.parse().map_err(Error::InvalidSchema)?;
        let level = self.level(&st, Some(subject));
        let only = match version {
            Some(VersionSpec::Number(n)) => Some(Self::find_version(&st, subject, VersionSpec::Number(n), false)?),
            Some(VersionSpec::Latest) => match Self::find_version(&st, subject, VersionSpec::Latest, false) {
                Ok(v) => Some(v),
                Err(_) => return Ok(vec![]),
            },
            None => None,
        };
        let level = match (only, level) {
            (Some(_), Compatibility::BackwardTransitive) => Compatibility::Backward,
            (Some(_), Compatibility::ForwardTransitive) => Compatibility::Forward,
            (Some(_), Compatibility::FullTransitive) => Compatibility::Full,
            (_, l) => l,
        };
        Ok(self.incompatibilities(&st, subject, &parsed, level, only))
    }

    // ---- modes ----

    /// The mode in force for `subject` (`None`: the global one).
    pub fn mode(&self, subject: Option<&str>) -> Mode {
        let st = self.inner.state.read();
        Self::mode_in(&st, subject)
    }

    fn mode_in(st: &State, subject: Option<&str>) -> Mode {
        let global = st.modes.get(&None).and_then(|m| Mode::parse(m)).unwrap_or(Mode::ReadWrite);
        if global == Mode::ReadOnlyOverride {
            return global;
        }
        subject.and_then(|s| st.modes.get(&Some(s.to_owned()))).and_then(|m| Mode::parse(m)).unwrap_or(global)
    }

    /// The mode set on `subject` itself, if any.
    pub fn configured_mode(&self, subject: &str) -> Option<Mode> {
        self.inner.state.read().modes.get(&Some(subject.to_owned())).and_then(|m| Mode::parse(m))
    }

    fn writable(st: &State, subject: Option<&str>) -> Result<Mode> {
        match Self::mode_in(st, subject) {
            Mode::ReadOnly | Mode::ReadOnlyOverride => Err(Error::OperationNotPermitted(match subject {
                Some(s) => format!("Subject {s} is in read-only mode"),
                None => "The registry is in read-only mode".to_owned(),
            })),
            m => Ok(m),
        }
    }

    /// Sets the mode of `subject` (`None`: global). IMPORT over existing schemas needs `force`.
    ///
    /// # Errors
    /// [`Error::OperationNotPermitted`], [`Error::Store`], [`Error::Timeout`].
    ///
    /// # Cancel safety
    /// Not cancel safe: dropped once its record is appended to `_schemas`, the change still
    /// takes effect (the reader applies it) though the caller never sees the result; dropped
    /// before, nothing changes.
    pub async fn set_mode(&self, subject: Option<&str>, mode: Mode, force: bool) -> Result<Mode> {
        let _w = self.inner.writing.lock().await;
        {
            let st = self.inner.state.read();
            let has_schemas = match subject {
                Some(s) => st.versions(s, true).next().is_some(),
                None => !st.subjects.is_empty(),
            };
            if mode == Mode::Import && has_schemas && !force {
                return Err(Error::OperationNotPermitted("Cannot import since found existing subjects".into()));
            }
        }
        self.write(&Key::mode(subject), Some(Self::json(&ModeValue { mode: mode.name().into() })?)).await?;
        Ok(mode)
    }

    /// Removes `subject`'s own mode; the mode it had.
    ///
    /// # Errors
    /// [`Error::SubjectNotFound`], [`Error::Store`], [`Error::Timeout`].
    ///
    /// # Cancel safety
    /// Not cancel safe: dropped once its record is appended to `_schemas`, the change still
    /// takes effect (the reader applies it) though the caller never sees the result; dropped
    /// before, nothing changes.
    pub async fn delete_mode(&self, subject: &str) -> Result<Mode> {
        let _w = self.inner.writing.lock().await;
        let Some(old) = self.configured_mode(subject) else { return Err(Error::SubjectNotFound(subject.to_owned())) };
        self.write(&Key::mode(Some(subject)), None).await?;
        Ok(old)
    }

    // ---- config ----

    /// Sets the compatibility level of `subject` (`None`: global).
    ///
    /// # Errors
    /// [`Error::OperationNotPermitted`] (read-only), [`Error::Store`], [`Error::Timeout`].
    ///
    /// # Cancel safety
    /// Not cancel safe: dropped once its record is appended to `_schemas`, the change still
    /// takes effect (the reader applies it) though the caller never sees the result; dropped
    /// before, nothing changes.
    pub async fn set_compatibility(&self, subject: Option<&str>, level: Compatibility) -> Result<Compatibility> {
        let _w = self.inner.writing.lock().await;
        Self::writable(&self.inner.state.read(), subject)?;
        self.write(&Key::config(subject), Some(Self::json(&ConfigValue { compatibility_level: level.name().into() })?)).await?;
        Ok(level)
    }

    /// Removes the level of `subject` (`None`: the global one, back to the default); the
    /// level in force before.
    ///
    /// # Errors
    /// [`Error::SubjectNotFound`] for a subject without one of its own; store errors.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropped once its record is appended to `_schemas`, the change still
    /// takes effect (the reader applies it) though the caller never sees the result; dropped
    /// before, nothing changes.
    pub async fn delete_compatibility(&self, subject: Option<&str>) -> Result<Compatibility> {
        let _w = self.inner.writing.lock().await;
        let old = {
            let st = self.inner.state.read();
            Self::writable(&st, subject)?;
            match subject {
                Some(s) if !st.configs.contains_key(&Some(s.to_owned())) => return Err(Error::SubjectNotFound(s.to_owned())),
                _ => self.level(&st, subject),
            }
        };
        self.write(&Key::config(subject), None).await?;
        Ok(old)
    }

    // ---- registration and deletion ----

    /// Registers `req` under `subject`: the id of the identical live version if there is one,
    /// else a new version (after the compatibility check) with the id the same schema has
    /// anywhere in the registry, or a new id.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] (42201), [`Error::Incompatible`] (409),
    /// [`Error::OperationNotPermitted`] (42205: read-only, an id outside IMPORT mode),
    /// [`Error::IdDoesNotMatch`] (42207), store errors.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropped once its record is appended to `_schemas`, the change still
    /// takes effect (the reader applies it) though the caller never sees the result; dropped
    /// before, nothing changes.
    pub async fn register(&self, subject: &str, req: &SchemaRequest, normalize: bool) -> Result<i32> {
        if subject.is_empty() || subject.chars().any(char::is_control) {
            return Err(Error::InvalidSubject(subject.to_owned()));
        }
        let _w = self.inner.writing.lock().await;
        let value = {
            let st = self.inner.state.read();
            let mode = Self::writable(&st, Some(subject))?;
            if mode != Mode::Import && (req.id.is_some_and(|i| i >= 0) || req.version.is_some_and(|v| v > 0)) {
                // Confluent accepts an id outside IMPORT mode when it matches; keep it strict.
                if let Some(id) = req.id {
                    if st.with_id(id).any(|v| Self::same(v, req, normalize)) {
                    } else {
                        return Err(Error::OperationNotPermitted(format!("Subject {subject} is not in import mode")));
                    }
                }
            }
            let resolved = Self::resolve(&st, req.schema_type, &req.schema, &req.references)?;
            let parsed = resolved.parse().map_err(Error::InvalidSchema)?;
            if let Some(v) = st.versions(subject, false).find(|v| Self::same(v, req, normalize)) {
                return Ok(v.id);
            }
            if mode != Mode::Import {
                let level = self.level(&st, Some(subject));
                let msgs = self.incompatibilities(&st, subject, &parsed, level, None);
                if !msgs.is_empty() {
                    return Err(Error::Incompatible(format!(
                        "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                        msgs.join(", ")
                    )));
                }
            }
            let existing = st.subjects.values().flat_map(|v| v.values()).find(|v| Self::same(v, req, normalize)).map(|v| v.id);
            let id = match (req.id, existing) {
                (Some(id), Some(e)) if id != e => {
                    return Err(Error::IdDoesNotMatch(format!("Schema already registered with id {e} instead of input id {id}")))
                }
                (Some(id), _) => {
                    if st.with_id(id).any(|v| !Self::same(v, req, normalize)) {
                        return Err(Error::OperationNotPermitted(format!("Overwrite new schema with id {id} is not permitted.")));
                    }
                    id
                }
                (None, Some(e)) => e,
                (None, None) => st.max_id + 1,
            };
            let last = st.subjects.get(subject).and_then(|v| v.keys().next_back().copied()).unwrap_or(0);
            let version = match req.version {
                Some(v) if v > 0 => v,
                _ => last + 1,
            };
            let schema = if normalize { normalized_text(req.schema_type, &req.schema) } else { stored_text(req.schema_type, &req.schema) };
            SchemaValue {
                subject: subject.to_owned(),
                version,
                id,
                schema_type: req.schema_type,
                references: req.references.clone(),
                schema,
                deleted: false,
            }
        };
        self.write(&Key::schema(subject, value.version), Some(Self::json(&value)?)).await?;
        tracing::info!(subject, version = value.version, id = value.id, "registered a schema");
        Ok(value.id)
    }

    /// Whether a live version of another subject references `subject` `version`.
    fn referenced(st: &State, subject: &str, version: i32) -> bool {
        st.subjects.values().flat_map(|v| v.values()).any(|v| !v.deleted && v.references.iter().any(|r| r.subject == subject && r.version == version))
    }

    /// Deletes one version: soft (marked deleted) or, once soft-deleted, `permanent`.
    ///
    /// # Errors
    /// 40401, 40402, 40406 (already soft-deleted), 40407 (permanent before soft), 42206
    /// (referenced), 42205 (read-only), store errors.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropped once its record is appended to `_schemas`, the change still
    /// takes effect (the reader applies it) though the caller never sees the result; dropped
    /// before, nothing changes.
    pub async fn delete_version(&self, subject: &str, version: VersionSpec, permanent: bool) -> Result<i32> {
        let _w = self.inner.writing.lock().await;
        let (key, value) = {
            let st = self.inner.state.read();
            Self::writable(&st, Some(subject))?;
            let v = match version {
                VersionSpec::Latest => Self::find_version(&st, subject, version, permanent)?,
                VersionSpec::Number(n) => {
                    if st.versions(subject, permanent).next().is_none() {
                        return Err(Error::SubjectNotFound(subject.to_owned()));
                    }
                    st.subjects.get(subject).and_then(|v| v.get(&n)).ok_or(Error::VersionNotFound(n))?
                }
            };
            if !permanent && v.deleted {
                return Err(Error::VersionSoftDeleted(subject.to_owned(), v.version));
            }
            if permanent && !v.deleted {
                return Err(Error::VersionNotSoftDeleted(subject.to_owned(), v.version));
            }
            if Self::referenced(&st, subject, v.version) {
                return Err(Error::ReferenceExists(format!("One or more references exist to the schema {{subject={subject},version={}}}.", v.version)));
            }
            let key = Key::schema(subject, v.version);
            let value = if permanent { None } else { Some(Self::json(&SchemaValue { deleted: true, ..v.clone() })?) };
            (key, value)
        };
        let Key::Schema { version, .. } = key else { unreachable!("a schema key") };
        self.write(&key, value).await?;
        Ok(version)
    }

    /// Deletes a subject: soft (every version marked deleted) or, once soft-deleted,
    /// `permanent` (every version removed, with the subject's own level and mode). The
    /// versions deleted.
    ///
    /// # Errors
    /// 40401, 40404 (already soft-deleted), 40405 (permanent before soft), 42206, 42205,
    /// store errors.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropped once its record is appended to `_schemas`, the change still
    /// takes effect (the reader applies it) though the caller never sees the result; dropped
    /// before, nothing changes.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>> {
        let _w = self.inner.writing.lock().await;
        let (live, all, has_config, has_mode) = {
            let st = self.inner.state.read();
            Self::writable(&st, Some(subject))?;
            let live: Vec<i32> = st.versions(subject, false).map(|v| v.version).collect();
            let all: Vec<i32> = st.versions(subject, true).map(|v| v.version).collect();
            if all.is_empty() {
                return Err(Error::SubjectNotFound(subject.to_owned()));
            }
            if !permanent && live.is_empty() {
                return Err(Error::SubjectSoftDeleted(subject.to_owned()));
            }
            if permanent && !live.is_empty() {
                return Err(Error::SubjectNotSoftDeleted(subject.to_owned()));
            }
            if let Some(v) = live.iter().find(|v| Self::referenced(&st, subject, **v)) {
                return Err(Error::ReferenceExists(format!("One or more references exist to the schema {{subject={subject},version={v}}}.")));
            }
            let own = Some(subject.to_owned());
            (live, all, st.configs.contains_key(&own), st.modes.contains_key(&own))
        };
        if !permanent {
            let last = *live.last().expect("live versions");
            let key = Key::DeleteSubject { subject: subject.to_owned(), magic: 0 };
            self.write(&key, Some(Self::json(&DeleteSubjectValue { subject: subject.to_owned(), version: last })?)).await?;
            return Ok(live);
        }
        for v in &all {
            self.write(&Key::schema(subject, *v), None).await?;
        }
        if has_config {
            self.write(&Key::config(Some(subject)), None).await?;
        }
        if has_mode {
            self.write(&Key::mode(Some(subject)), None).await?;
        }
        Ok(all)
    }

    /// [`register`](Self::register) for synchronous callers (the SQL engine's thread, stream
    /// threads): runs on the registry's runtime and blocks this thread until it is done. Do
    /// not call it from a current-thread runtime's only thread.
    ///
    /// # Errors
    /// As [`register`](Self::register).
    pub fn register_blocking(&self, subject: &str, req: &SchemaRequest, normalize: bool) -> Result<i32> {
        let (this, subject, req) = (self.clone(), subject.to_owned(), req.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        self.inner.runtime.spawn(async move {
            let _ = tx.send(this.register(&subject, &req, normalize).await);
        });
        rx.recv().unwrap_or(Err(Error::Timeout))
    }
}
