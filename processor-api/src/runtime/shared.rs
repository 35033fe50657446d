//! [`SharedRuntime`]: one async runtime for the clients of many [`KafkaStreams`] instances in a
//! process, instead of two private ones per stream thread.
//!
//! Without one, each stream thread's embedded consumer and producer own a one-worker tokio
//! runtime each (for heartbeats and lingering batches), and each instance has a supervisor OS
//! thread: four threads per single-threaded instance. With one, those timers run as tasks on the
//! shared runtime's workers, supervisors are tasks whose checks run on its bounded blocking
//! pool, and an instance's only threads of its own are its stream threads (and its global
//! stream thread, when its topology has global stores).
//!
//! Nothing that can block for long runs on the shared workers: stream threads drive their
//! consumer's `poll` with [`Handle::block_on`] on their own OS thread, the supervisors' admin
//! calls run through `spawn_blocking`, and the heartbeat and linger tasks only touch the
//! in-process group coordinator and partition logs.
//!
//! [`KafkaStreams`]: super::KafkaStreams

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::runtime::{Handle, Runtime};

use crate::error::{Error, Result};

/// An async runtime shared by the clients and supervisors of many
/// [`KafkaStreams`](super::KafkaStreams) instances (pass it to
/// [`KafkaStreams::with_runtime`](super::KafkaStreams::with_runtime)). Cloning is cheap; the
/// runtime stops when the last clone (the instances hold one each) is dropped.
///
/// A process with `Q` instances of `T` stream threads each then has at most
/// `Q x T + workers + max_blocking` threads for them (plus one global stream thread per
/// instance whose topology has global stores), instead of `Q x (3 T + 1)`.
///
/// # Examples
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use brook_processor_api::runtime::Embedded;
/// use brook_processor_api::runtime::SharedRuntime;
/// # use brook_processor_api::{KafkaStreams, SinkOptions, SourceOptions, StreamsConfig, Topology, TopologyTaskFactory};
/// # use brook_state_store::BytesSerde;
/// # use bytes::Bytes;
/// # let rt = tokio::runtime::Runtime::new()?;
/// # let dir = tempfile::tempdir()?;
/// # let broker = rt.block_on(brook_broker::Broker::open(brook_broker::BrokerConfig::new(dir.path().join("log"))))?;
/// # broker.create_topic("in", 1, Default::default())?;
/// # broker.create_topic("out", 1, Default::default())?;
/// let shared = SharedRuntime::new()?;
/// let mut instances = Vec::new();
/// for i in 0..3 {
///     let mut topology = Topology::new();
///     topology
///         .add_source("src", SourceOptions::topics(["in"]))?
///         .add_sink("sink", SinkOptions::<Bytes, Bytes>::topic("out", Arc::new(BytesSerde), Arc::new(BytesSerde)), &["src"])?;
///     let mut config = StreamsConfig::new(format!("app-{i}"));
///     config.state_dir = dir.path().join("state");
///     let factory = Arc::new(TopologyTaskFactory::new(topology, &config)?);
///     instances.push(KafkaStreams::with_runtime(factory, config, Embedded::new(broker.clone()), shared.clone())?);
/// }
/// // Three instances, one thread each of their own; the rest are the shared runtime's.
/// assert_eq!(shared.threads(), SharedRuntime::DEFAULT_WORKERS + SharedRuntime::DEFAULT_MAX_BLOCKING);
/// for s in &instances {
///     s.start()?;
/// }
/// for s in &instances {
///     assert!(s.close(std::time::Duration::from_secs(30)));
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SharedRuntime {
    inner: Arc<Owner>,
}

struct Owner {
    runtime: Option<Runtime>,
    handle: Handle,
    workers: usize,
    max_blocking: usize,
}

impl Drop for Owner {
    fn drop(&mut self) {
        // The last clone may go inside one of the runtime's own tasks (a supervisor holding the
        // last reference to its instance); `shutdown_background` is allowed there.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl fmt::Debug for SharedRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedRuntime")
            .field("workers", &self.inner.workers)
            .field("max_blocking", &self.inner.max_blocking)
            .finish()
    }
}

impl SharedRuntime {
    /// Worker threads of [`SharedRuntime::new`].
    pub const DEFAULT_WORKERS: usize = 2;
    /// Blocking-pool threads of [`SharedRuntime::new`] (supervisor checks).
    pub const DEFAULT_MAX_BLOCKING: usize = 2;

    /// A runtime of [`DEFAULT_WORKERS`](Self::DEFAULT_WORKERS) workers and at most
    /// [`DEFAULT_MAX_BLOCKING`](Self::DEFAULT_MAX_BLOCKING) blocking threads.
    ///
    /// # Errors
    /// The OS refused the threads.
    pub fn new() -> Result<SharedRuntime> {
        SharedRuntime::with_threads(Self::DEFAULT_WORKERS, Self::DEFAULT_MAX_BLOCKING)
    }

    /// A runtime of `workers` worker threads and at most `max_blocking` blocking threads (each
    /// at least 1).
    ///
    /// # Errors
    /// The OS refused the threads.
    pub fn with_threads(workers: usize, max_blocking: usize) -> Result<SharedRuntime> {
        let (workers, max_blocking) = (workers.max(1), max_blocking.max(1));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .max_blocking_threads(max_blocking)
            .thread_name("brook-streams-shared")
            .enable_all()
            .build()
            .map_err(|e| Error::Broker(brook_broker::Error::storage("starting the shared streams runtime", e)))?;
        let handle = runtime.handle().clone();
        Ok(SharedRuntime { inner: Arc::new(Owner { runtime: Some(runtime), handle, workers, max_blocking }) })
    }

    /// The most threads the runtime runs: workers plus the blocking pool.
    pub fn threads(&self) -> usize {
        self.inner.workers + self.inner.max_blocking
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        &self.inner.handle
    }
}

/// The runtime a client drives its async calls on: its own, or the shared one.
pub(crate) enum ClientRuntime {
    /// Private to this client (no shared runtime given).
    Own(Runtime),
    /// Shared with every client of the process that was given it.
    Shared(SharedRuntime),
}

impl ClientRuntime {
    /// The shared runtime when there is one, else a private multi-thread runtime with one worker
    /// thread named `name`.
    pub(crate) fn one_worker(shared: Option<&SharedRuntime>, name: String) -> Result<ClientRuntime> {
        match shared {
            Some(s) => Ok(ClientRuntime::Shared(s.clone())),
            None => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name(name)
                .enable_all()
                .build()
                .map(ClientRuntime::Own)
                .map_err(|e| Error::Broker(brook_broker::Error::storage("starting a client runtime", e))),
        }
    }

    /// The shared runtime when there is one, else a private current-thread runtime.
    pub(crate) fn current_thread(shared: Option<&SharedRuntime>) -> Result<ClientRuntime> {
        match shared {
            Some(s) => Ok(ClientRuntime::Shared(s.clone())),
            None => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(ClientRuntime::Own)
                .map_err(|e| Error::Broker(brook_broker::Error::storage("starting a client runtime", e))),
        }
    }

    pub(crate) fn handle(&self) -> &Handle {
        match self {
            ClientRuntime::Own(rt) => rt.handle(),
            ClientRuntime::Shared(s) => s.handle(),
        }
    }

    /// Runs `f` to completion on the calling (stream) thread; tasks it spawns go to the runtime.
    ///
    /// # Panics
    /// Inside an async context, as [`Handle::block_on`] does.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        match self {
            ClientRuntime::Own(rt) => rt.block_on(f),
            ClientRuntime::Shared(s) => s.handle().block_on(f),
        }
    }

    /// Enters the runtime's context (to create clients that spawn tasks).
    pub(crate) fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.handle().enter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threads() -> usize {
        std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
    }

    #[test]
    fn clients_on_a_shared_runtime_start_no_threads_and_its_last_clone_may_drop_inside_it() {
        let shared = SharedRuntime::with_threads(1, 1).unwrap();
        let before = threads();
        let clients: Vec<ClientRuntime> =
            (0..50).map(|i| ClientRuntime::one_worker(Some(&shared), format!("c{i}")).unwrap()).collect();
        assert!(threads() <= before, "{} threads after 50 shared clients, {before} before", threads());
        assert_eq!(clients[7].block_on(async { 7 }), 7);
        // A task holding the last clone drops it on a worker thread without panicking.
        let (tx, rx) = std::sync::mpsc::channel();
        let last = shared.clone();
        drop(clients);
        drop(shared);
        let handle = last.handle().clone();
        handle.spawn(async move {
            drop(last);
            let _ = tx.send(());
        });
        rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    }
}
