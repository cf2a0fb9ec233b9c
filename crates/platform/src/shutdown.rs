//! One shutdown signal for the whole process, and a bounded drain.

use std::{future::Future, time::Duration};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Cloned into every server; `requested()` resolves once shutdown begins.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(CancellationToken);

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn trigger(&self) {
        self.0.cancel();
    }

    pub fn is_requested(&self) -> bool {
        self.0.is_cancelled()
    }

    pub fn requested(&self) -> impl Future<Output = ()> + Send + 'static {
        self.0.clone().cancelled_owned()
    }

    /// Triggers on SIGINT (Ctrl-C) or SIGTERM (Kubernetes).
    pub fn trigger_on_signals(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(err) => {
                        tracing::warn!(%err, "cannot listen for SIGTERM");
                        let _ = ctrl_c.await;
                        this.trigger();
                        return;
                    }
                };
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            #[cfg(not(unix))]
            let _ = ctrl_c.await;
            tracing::info!("shutdown requested; draining in-flight requests");
            this.trigger();
        });
    }
}

/// Waits for every task after shutdown was requested, at most `timeout`; whatever is still
/// running then is aborted. Returns the first task error, if any.
pub async fn drain(
    mut tasks: JoinSet<anyhow::Result<()>>,
    shutdown: &Shutdown,
    timeout: Duration,
) -> anyhow::Result<()> {
    let mut first_error = None;
    // Until shutdown, a task that ends (with an error or not) ends the process.
    tokio::select! {
        _ = shutdown.requested() => {},
        Some(joined) = tasks.join_next() => {
            first_error = task_error(joined);
            shutdown.trigger();
        }
    }
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(joined) => {
                    if let Some(err) = task_error(joined) {
                        first_error.get_or_insert(err);
                    }
                }
                None => break,
            },
            _ = &mut deadline => {
                tracing::warn!(remaining = tasks.len(), "drain timeout reached; aborting");
                tasks.abort_all();
                break;
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn task_error(joined: Result<anyhow::Result<()>, tokio::task::JoinError>) -> Option<anyhow::Error> {
    match joined {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(err),
        Err(err) => Some(anyhow::anyhow!("task failed: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_tasks_that_finish_after_the_signal() {
        let shutdown = Shutdown::new();
        let mut tasks = JoinSet::new();
        let s = shutdown.clone();
        tasks.spawn(async move {
            s.requested().await;
            Ok(())
        });
        shutdown.trigger();
        drain(tasks, &shutdown, Duration::from_secs(30)).await.expect("clean");
    }

    #[tokio::test(start_paused = true)]
    async fn drain_is_bounded() {
        let shutdown = Shutdown::new();
        let mut tasks = JoinSet::new();
        tasks.spawn(std::future::pending::<anyhow::Result<()>>());
        shutdown.trigger();
        // Time is paused and jumps when every task waits: a drain that did not give up at its
        // bound would meet this outer limit and fail the test, never hang it.
        let started = tokio::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(60), drain(tasks, &shutdown, Duration::from_secs(5)))
            .await
            .expect("the drain gave up at its bound")
            .expect("aborted, not failed");
        assert_eq!(started.elapsed().as_secs(), 5, "gave up at the bound, not before");
    }

    #[tokio::test]
    async fn a_failing_task_shuts_everything_down() {
        let shutdown = Shutdown::new();
        let mut tasks = JoinSet::new();
        tasks.spawn(async { Err(anyhow::anyhow!("bind failed")) });
        let s = shutdown.clone();
        tasks.spawn(async move {
            s.requested().await;
            Ok(())
        });
        let err = drain(tasks, &shutdown, Duration::from_secs(30)).await.expect_err("fails");
        assert!(err.to_string().contains("bind failed"));
        assert!(shutdown.is_requested());
    }
}
