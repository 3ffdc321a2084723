//! Sync control: the shell reports connectivity, asks for a sync now, or waits for one explicit
//! cycle (or for the outbox to drain). The sync loop itself lives in `crate::sync`; the engine
//! only wakes it and watches its status, so none of these calls holds a lock while it waits.

use std::time::Duration;

use super::{Engine, Error};
use crate::sync::SyncStatus;

impl Engine {
    /// The shell reports connectivity; coming online starts a sync at once, retrying every
    /// waiting item without its backoff (the backoff was about the outage that just ended).
    pub fn set_online(&self, online: bool) {
        let was_online = self.shared.online.send_replace(online);
        if online {
            if !was_online {
                self.request_explicit_retry();
            }
            self.shared.wake.notify_one();
        }
    }

    /// Starts a sync cycle now ("sync now"): every waiting item is retried at once; the
    /// backoff applies between automatic retries only.
    pub fn sync_now(&self) {
        self.request_explicit_retry();
        self.shared.wake.notify_one();
    }

    fn request_explicit_retry(&self) {
        self.shared
            .retry_waiting_now
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Runs one explicit sync cycle (every waiting item retried at once, then a pull) and
    /// waits at most `timeout` for it: the status when it worked, [`Error::SyncFailed`] with
    /// the cycle's error when it did not, [`Error::SyncTimeout`] when it took longer. Unlike
    /// [`Engine::sync_until_idle`] it never waits for a later cycle, so a dead endpoint is
    /// reported as soon as the attempt fails.
    pub async fn sync_once(&self, timeout: Duration) -> Result<SyncStatus, Error> {
        self.await_cycle(timeout, |s| {
            Some(match &s.last_error {
                None => Ok(s.clone()),
                Some(reason) => Err(Error::SyncFailed {
                    pending: s.pending,
                    reason: reason.clone(),
                }),
            })
        })
        .await
    }

    /// Starts an explicit sync cycle and waits, at most `timeout`, until `outcome` gives an
    /// answer for the status of a cycle that completed after this call started (`None`: keep
    /// waiting). The two public waits differ only in what ends them.
    async fn await_cycle(
        &self,
        timeout: Duration,
        outcome: impl Fn(&SyncStatus) -> Option<Result<SyncStatus, Error>>,
    ) -> Result<SyncStatus, Error> {
        if !self.has_endpoints {
            return Err(Error::NoEndpoints);
        }
        if !*self.shared.online.borrow() {
            return Err(Error::Offline);
        }
        let mut status = self.shared.status.subscribe();
        let started_before = status.borrow_and_update().cycles_started;
        self.sync_now();
        let wait = async {
            loop {
                {
                    let s = status.borrow_and_update();
                    if s.cycles > started_before
                        && let Some(result) = outcome(&s)
                    {
                        return result;
                    }
                }
                if status.changed().await.is_err() {
                    return Err(Error::Offline);
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result,
            Err(_) => {
                let s = self.status();
                Err(Error::SyncTimeout {
                    pending: s.pending,
                    last_error: s.last_error,
                })
            }
        }
    }

    /// [`Engine::sync_once`] for callers without a runtime (the CLI).
    pub fn sync_once_blocking(&self, timeout: Duration) -> Result<SyncStatus, Error> {
        match &self.runtime {
            Some(rt) => rt.block_on(self.sync_once(timeout)),
            None => Err(Error::Config {
                reason: "this engine runs on a caller's runtime; use sync_once".into(),
            }),
        }
    }

    /// Starts a sync cycle and waits until a cycle that started after this call has completed
    /// cleanly (every endpoint call worked or was refused for good) with nothing left to
    /// deliver — parked items wait for the engineer and do not count — or until `timeout`.
    pub async fn sync_until_idle(&self, timeout: Duration) -> Result<SyncStatus, Error> {
        self.await_cycle(timeout, |s| {
            (s.pending == 0 && s.last_error.is_none()).then(|| Ok(s.clone()))
        })
        .await
    }

    /// [`Engine::sync_until_idle`] for callers without a runtime (the CLI, the FFI).
    pub fn sync_until_idle_blocking(&self, timeout: Duration) -> Result<SyncStatus, Error> {
        match &self.runtime {
            Some(rt) => rt.block_on(self.sync_until_idle(timeout)),
            None => Err(Error::Config {
                reason: "this engine runs on a caller's runtime; use sync_until_idle".into(),
            }),
        }
    }
}
