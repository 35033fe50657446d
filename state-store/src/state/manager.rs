//! The stores of one task and their recovery bookkeeping (Kafka's `ProcessorStateManager`):
//! where each store's restore starts, flushing on commit, and the checkpoint file.

use std::collections::BTreeMap;

use brook_common::TopicPartition;

use crate::checkpoint::{OffsetCheckpoint, Offsets};
use crate::error::Result;
use crate::keyvalue::KeyValueStore;
use crate::restore::restore_start_offset;
use crate::session::SessionStore;
use crate::state::{StateStore, StoreContext};
use crate::versioned::VersionedKeyValueStore;
use crate::window::WindowStore;

/// Any built store, so that a task can keep stores of every shape together.
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyStore {
    /// A key-value store.
    KeyValue(Box<dyn KeyValueStore>),
    /// A window store.
    Window(Box<dyn WindowStore>),
    /// A session store.
    Session(Box<dyn SessionStore>),
    /// A versioned key-value store.
    Versioned(Box<dyn VersionedKeyValueStore>),
}

impl AnyStore {
    /// The store as its common trait.
    #[must_use]
    pub fn state_store(&self) -> &dyn StateStore {
        match self {
            AnyStore::KeyValue(s) => &**s,
            AnyStore::Window(s) => &**s,
            AnyStore::Session(s) => &**s,
            AnyStore::Versioned(s) => &**s,
        }
    }

    /// The store as its common trait, mutably.
    pub fn state_store_mut(&mut self) -> &mut dyn StateStore {
        match self {
            AnyStore::KeyValue(s) => &mut **s,
            AnyStore::Window(s) => &mut **s,
            AnyStore::Session(s) => &mut **s,
            AnyStore::Versioned(s) => &mut **s,
        }
    }

    /// The key-value store, if it is one, to read.
    #[must_use]
    pub fn as_key_value(&self) -> Option<&dyn KeyValueStore> {
        match self {
            AnyStore::KeyValue(s) => Some(&**s),
            _ => None,
        }
    }

    /// The key-value store, if it is one.
    pub fn as_key_value_mut(&mut self) -> Option<&mut dyn KeyValueStore> {
        match self {
            AnyStore::KeyValue(s) => Some(&mut **s),
            _ => None,
        }
    }

    /// The window store, if it is one.
    pub fn as_window_mut(&mut self) -> Option<&mut dyn WindowStore> {
        match self {
            AnyStore::Window(s) => Some(&mut **s),
            _ => None,
        }
    }

    /// The session store, if it is one.
    pub fn as_session_mut(&mut self) -> Option<&mut dyn SessionStore> {
        match self {
            AnyStore::Session(s) => Some(&mut **s),
            _ => None,
        }
    }

    /// The versioned store, if it is one.
    pub fn as_versioned_mut(&mut self) -> Option<&mut dyn VersionedKeyValueStore> {
        match self {
            AnyStore::Versioned(s) => Some(&mut **s),
            _ => None,
        }
    }
}

impl From<Box<dyn KeyValueStore>> for AnyStore {
    fn from(s: Box<dyn KeyValueStore>) -> Self {
        AnyStore::KeyValue(s)
    }
}
impl From<Box<dyn WindowStore>> for AnyStore {
    fn from(s: Box<dyn WindowStore>) -> Self {
        AnyStore::Window(s)
    }
}
impl From<Box<dyn SessionStore>> for AnyStore {
    fn from(s: Box<dyn SessionStore>) -> Self {
        AnyStore::Session(s)
    }
}
impl From<Box<dyn VersionedKeyValueStore>> for AnyStore {
    fn from(s: Box<dyn VersionedKeyValueStore>) -> Self {
        AnyStore::Versioned(s)
    }
}

/// Kafka's `OFFSET_DELTA_THRESHOLD_FOR_CHECKPOINT`: a commit rewrites the checkpoint file only
/// when its offsets moved by more than this many records in total since it was last written;
/// [`StateManager::close`] always writes it.
const CHECKPOINT_OFFSET_DELTA: i64 = 10_000;

/// The stores of one task, with the task's checkpoint file.
///
/// On commit, at-least-once: flush every store, then write the checkpoint (persistent stores
/// only, as Kafka) when its offsets moved by more than 10,000 records since
/// it was last written, as Kafka does: each write is a new file, two fsyncs and a rename, which
/// at a 100 ms commit interval was most of a commit's system calls. A checkpoint that lags
/// only makes a restore after a crash replay more of the changelog; a clean close writes the
/// latest offsets. Transactional: [`StateStore::commit`] each store with its offset, which
/// RocksDB stores atomically with the data; no checkpoint file is needed.
///
/// # Examples
/// ```
/// use std::collections::BTreeMap;
/// use brook_state_store::{KeyValueStore, StateManager, StoreContext, Stores};
/// use bytes::Bytes;
/// let dir = tempfile::tempdir().unwrap();
/// let ctx = StoreContext::new(dir.path(), "app", "0_0", 0);
/// let mut task = StateManager::new(ctx.clone());
/// task.register(Stores::persistent_key_value_store("s").build(&ctx).unwrap().into());
/// assert_eq!(task.restore_start_offsets().unwrap()["s"], None, "new store: full restore");
/// let kv = task.get_mut("s").unwrap().as_key_value_mut().unwrap();
/// kv.put(Bytes::from_static(b"k"), Some(Bytes::from_static(b"v"))).unwrap();
/// task.commit(&BTreeMap::from([("s".to_owned(), 0)])).unwrap();
/// task.close().unwrap();
///
/// let mut task = StateManager::new(ctx.clone());
/// task.register(Stores::persistent_key_value_store("s").build(&ctx).unwrap().into());
/// assert_eq!(task.restore_start_offsets().unwrap()["s"], Some(1), "resume after the checkpoint");
/// ```
#[derive(Debug)]
pub struct StateManager {
    ctx: StoreContext,
    /// Sorted by name (a store's position is stable once every store is registered).
    stores: Vec<(String, AnyStore)>,
    checkpoint: OffsetCheckpoint,
    offsets: Offsets,
    /// What this manager last wrote to the checkpoint file (empty before its first write, so
    /// the first commit past [`CHECKPOINT_OFFSET_DELTA`] records writes it).
    checkpointed: Offsets,
}

impl StateManager {
    /// The state of the task of `ctx`; its checkpoint is `<task dir>/.checkpoint`.
    #[must_use]
    pub fn new(ctx: StoreContext) -> Self {
        let checkpoint = OffsetCheckpoint::for_task_dir(&ctx.task_dir());
        StateManager { ctx, stores: Vec::new(), checkpoint, offsets: Offsets::new(), checkpointed: Offsets::new() }
    }

    /// Adds a built store (replacing one of the same name).
    pub fn register(&mut self, store: AnyStore) {
        let name = store.state_store().name().to_owned();
        match self.position(&name) {
            Some(at) => self.stores[at].1 = store,
            None => {
                let at = self.stores.partition_point(|(n, _)| *n < name);
                self.stores.insert(at, (name, store));
            }
        }
    }

    /// The position of store `name` among the registered stores (in name order), valid until
    /// the next [`StateManager::register`]: [`StateManager::get_mut_at`] reaches the store
    /// without a lookup by name (a task's processors, per record).
    #[must_use]
    pub fn position(&self, name: &str) -> Option<usize> {
        self.stores.binary_search_by(|(n, _)| n.as_str().cmp(name)).ok()
    }

    /// A store by name, to read (interactive queries, standby tasks).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&AnyStore> {
        self.position(name).map(|at| &self.stores[at].1)
    }

    /// A store by name.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut AnyStore> {
        self.position(name).map(|at| &mut self.stores[at].1)
    }

    /// The store at `position` (see [`StateManager::position`]).
    #[inline]
    pub fn get_mut_at(&mut self, position: usize) -> Option<&mut AnyStore> {
        self.stores.get_mut(position).map(|(_, s)| s)
    }

    /// Names of the registered stores.
    pub fn store_names(&self) -> impl Iterator<Item = &str> {
        self.stores.iter().map(|(n, _)| n.as_str())
    }

    fn key(&self, store: &str) -> TopicPartition {
        TopicPartition::new(self.ctx.changelog_topic(store), self.ctx.partition)
    }

    /// Per store, the changelog offset to start restoring from (`None`: the beginning), from the
    /// offset a transactional store committed with its data, else the checkpoint file.
    ///
    /// # Errors
    /// An unreadable checkpoint file.
    pub fn restore_start_offsets(&self) -> Result<BTreeMap<String, Option<i64>>> {
        let checkpointed = self.checkpoint.read()?;
        Ok(self
            .stores
            .iter()
            .map(|(name, s)| {
                let cp = checkpointed.get(&self.key(name)).copied();
                (name.clone(), restore_start_offset(s.state_store(), cp))
            })
            .collect())
    }

    /// Commits every store; `changelog_offsets` holds, per store, the last offset of its
    /// changelog that its data includes (stores without an entry keep their previous one).
    /// At-least-once, the checkpoint file is rewritten when the offsets moved by more than
    /// 10,000 records since it was last written.
    ///
    /// # Errors
    /// Store or checkpoint I/O errors; the checkpoint is only written when every flush succeeded.
    pub fn commit(&mut self, changelog_offsets: &BTreeMap<String, i64>) -> Result<()> {
        self.commit_stores(changelog_offsets, false)
    }

    /// [`StateManager::commit`]; `force` writes the checkpoint whenever it differs from the file.
    fn commit_stores(&mut self, changelog_offsets: &BTreeMap<String, i64>, force: bool) -> Result<()> {
        for (name, store) in &mut self.stores {
            let name = &*name;
            let offset = changelog_offsets.get(name).copied();
            let store = store.state_store_mut();
            if self.ctx.transactional {
                store.commit(offset)?;
            } else {
                store.flush()?;
            }
            if let (Some(o), true) = (offset, store.persistent()) {
                self.offsets.insert(TopicPartition::new(self.ctx.changelog_topic(name), self.ctx.partition), o);
            }
        }
        if !self.ctx.transactional && !self.offsets.is_empty() && self.checkpoint_due(force) {
            self.checkpoint.write(&self.offsets)?;
            self.checkpointed.clone_from(&self.offsets);
        }
        Ok(())
    }

    /// Whether the checkpoint file should be rewritten: forced and different, or moved past
    /// [`CHECKPOINT_OFFSET_DELTA`] (Kafka's `StateManagerUtil.checkpointNeeded`).
    fn checkpoint_due(&self, force: bool) -> bool {
        if force {
            return self.offsets != self.checkpointed;
        }
        let delta: i64 =
            self.offsets.iter().map(|(tp, o)| o - self.checkpointed.get(tp).copied().unwrap_or(0)).sum();
        delta > CHECKPOINT_OFFSET_DELTA
    }

    /// Closes every store. At-least-once, it flushes them and writes the checkpoint first.
    /// Transactional, call [`StateManager::commit`] with the offsets of the last committed
    /// transaction first: writes not committed by then are dropped (the changelog has them
    /// only if their transaction committed).
    ///
    /// # Errors
    /// As [`StateManager::commit`]; every store is closed even when one fails.
    pub fn close(&mut self) -> Result<()> {
        let committed = if self.ctx.transactional { Ok(()) } else { self.commit_stores(&BTreeMap::new(), true) };
        let mut closed = Ok(());
        for (_, store) in &mut self.stores {
            if let Err(e) = store.state_store_mut().close() {
                closed = closed.and(Err(e));
            }
        }
        committed.and(closed)
    }
}
