//! The thread that encodes scrapes under a timeout. A scrape with a timeout must run off the
//! async worker (a collector may block), but tokio's blocking pool lets an idle thread go after
//! 10 s, so at Prometheus' usual 15 s interval every scrape would start a new OS thread. One
//! thread per handler is kept instead, started at the first scrape and ended when the last clone
//! of the handler is dropped; a scrape that finds it busy (another scrape, or a collector stuck
//! past its timeout) runs on the blocking pool as before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
pub(crate) struct ScrapeThread {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    busy: Arc<AtomicBool>,
}

impl ScrapeThread {
    /// Runs `job` on the kept thread if it is idle, on tokio's blocking pool otherwise.
    pub(crate) fn run(
        &self,
        runtime: &tokio::runtime::Handle,
        job: impl FnOnce() + Send + 'static,
    ) {
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            match self.send(Box::new(job)) {
                Ok(()) => return,
                Err(mpsc::SendError(job)) => {
                    self.busy.store(false, Ordering::Release);
                    drop(runtime.spawn_blocking(job));
                    return;
                }
            }
        }
        drop(runtime.spawn_blocking(job));
    }

    fn send(&self, job: Job) -> Result<(), mpsc::SendError<Job>> {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if jobs.is_none() {
            let (tx, rx) = mpsc::channel::<Job>();
            let busy = self.busy.clone();
            let started = std::thread::Builder::new()
                .name("vitalsign-scrape".into())
                .spawn(move || {
                    for job in rx {
                        job();
                        busy.store(false, Ordering::Release);
                    }
                });
            if started.is_err() {
                return Err(mpsc::SendError(job));
            }
            *jobs = Some(tx);
        }
        match jobs.as_ref() {
            Some(tx) => tx.send(job),
            None => Err(mpsc::SendError(job)),
        }
    }
}

impl std::fmt::Debug for ScrapeThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeThread")
            .field("busy", &self.busy.load(Ordering::Relaxed))
            .finish()
    }
}
