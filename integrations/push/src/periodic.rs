//! Pushes that happen by themselves, on an interval, from a thread of their own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::error::{PushError, PushErrorKind};

/// A registry pushed on an interval: [`Pushgateway::push_every`](crate::Pushgateway::push_every),
/// [`RemoteWrite::push_every`](crate::RemoteWrite::push_every). Stopped (or dropped), it pushes a
/// last time.
#[derive(Debug)]
pub struct PeriodicPush {
    state: Arc<Periodic>,
    /// The pushing thread, which returns its last push's result.
    thread: Option<std::thread::JoinHandle<Result<(), PushError>>>,
}

#[derive(Debug, Default)]
struct Periodic {
    stop: Mutex<bool>,
    wake: Condvar,
    failures: AtomicU64,
}

impl Periodic {
    /// Waits `interval`, or until stopped; whether it was stopped.
    fn wait(&self, interval: Duration) -> bool {
        let stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        let (stop, _) = self
            .wake
            .wait_timeout_while(stop, interval, |stop| !*stop)
            .unwrap_or_else(PoisonError::into_inner);
        *stop
    }
}

impl PeriodicPush {
    /// Runs `push` now and every `interval` from a thread of its own, and once more when
    /// stopped.
    pub(crate) fn start(
        interval: Duration,
        mut push: impl FnMut() -> Result<(), PushError> + Send + 'static,
    ) -> Result<Self, PushError> {
        let state = Arc::new(Periodic::default());
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("vitalsign-push".into())
            .spawn(move || {
                let mut stopped = false;
                while !stopped {
                    if let Err(e) = push() {
                        shared.failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("vitalsign: {e}");
                    }
                    stopped = shared.wait(interval);
                }
                push()
            })
            .map_err(|e| {
                let context = "periodic push failed".to_owned();
                PushError::io(PushErrorKind::Send, context, "cannot start its thread", e)
            })?;
        Ok(Self {
            state,
            thread: Some(thread),
        })
    }

    /// How many pushes have failed so far (the last one not counted until it has run).
    pub fn failures(&self) -> u64 {
        self.state.failures.load(Ordering::Relaxed)
    }

    /// Stops pushing, pushes a last time and returns how that went.
    pub fn stop(mut self) -> Result<(), PushError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), PushError> {
        *self
            .state
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.state.wake.notify_all();
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        thread.join().unwrap_or_else(|_| {
            Err(PushError::new(
                PushErrorKind::Send,
                "periodic push failed".into(),
                "the pushing thread panicked".into(),
            ))
        })
    }
}

impl Drop for PeriodicPush {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            eprintln!("vitalsign: {e}");
        }
    }
}
