//! The SQL engine on its own OS thread. [`Engine`] is synchronous (`&mut self`) and its calls
//! start and stop stream threads and touch RocksDB, so it never runs on a tokio worker: handlers
//! send it a closure and await the answer.

use std::sync::mpsc;
use std::thread;

use brook_sql_engine::Engine;
use tokio::sync::oneshot;

use crate::{Error, Result};

enum Job {
    Run(Box<dyn FnOnce(&mut Engine) + Send>),
    /// Drops the engine (stopping its queries) and says when it is gone.
    Stop(oneshot::Sender<()>),
}

/// A handle on the engine thread; the thread (and the engine, with its queries) stops when the
/// last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct EngineThread {
    jobs: mpsc::Sender<Job>,
}

impl EngineThread {
    /// Starts the thread and builds the engine on it with `make` (inside the caller's tokio
    /// runtime, if any).
    pub(crate) fn spawn<F>(make: F) -> Result<Self>
    where
        F: FnOnce() -> brook_sql_engine::Result<Engine> + Send + 'static,
    {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<std::result::Result<(), String>>();
        // Live queries reach the broker through the runtime the server runs on.
        let runtime = tokio::runtime::Handle::try_current().ok();
        thread::Builder::new().name("brook-ksql-engine".into()).spawn(move || {
            let _entered = runtime.as_ref().map(tokio::runtime::Handle::enter);
            let mut engine = match make() {
                Ok(e) => {
                    let _ = ready_tx.send(Ok(()));
                    e
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            while let Ok(job) = rx.recv() {
                match job {
                    Job::Run(f) => f(&mut engine),
                    Job::Stop(done) => {
                        drop(engine);
                        let _ = done.send(());
                        return;
                    }
                }
            }
        })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(EngineThread { jobs }),
            Ok(Err(message)) => Err(Error::Generic { code: crate::error::SERVER_ERROR, message }),
            Err(_) => Err(Error::ShuttingDown),
        }
    }

    /// Runs `f` on the engine and returns its answer.
    ///
    /// # Cancel safety
    /// Dropping the future does not cancel `f`: a statement sent runs to its end.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine) -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job::Run(Box::new(move |e: &mut Engine| {
                let _ = tx.send(f(e));
            })))
            .map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)
    }

    /// Stops the engine and its queries; later calls fail with [`Error::ShuttingDown`].
    ///
    /// # Cancel safety
    /// Dropping the future does not cancel the stop.
    pub(crate) async fn stop(&self) {
        let (tx, rx) = oneshot::channel();
        if self.jobs.send(Job::Stop(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}
