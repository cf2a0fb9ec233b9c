//! One shutdown signal for the whole process, and a bounded drain: all at once (`drain`), or
//! in stages (`Stages`), callers before the services they call.

use std::{collections::HashMap, future::Future, time::Duration};

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

/// Tasks that stop in order, within one drain bound. Each stage is told to stop only once every
/// task of the stages before it has ended: in one process the gateway finishes its in-flight
/// requests before the registry it calls stops, and the registry before token- and
/// context-service. A task that ends before shutdown ends the process, as with `drain`.
pub struct Stages {
    tasks: JoinSet<anyhow::Result<()>>,
    stage_of: HashMap<tokio::task::Id, usize>,
    stops: Vec<Shutdown>,
}

impl Stages {
    pub fn new(count: usize) -> Self {
        Self { tasks: JoinSet::new(), stage_of: HashMap::new(), stops: (0..count).map(|_| Shutdown::new()).collect() }
    }

    /// Spawns the task `start` makes in `stage` (0 stops first); it is handed the signal that
    /// says its stage's turn has come.
    pub fn spawn<F, Fut>(&mut self, stage: usize, start: F)
    where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let handle = self.tasks.spawn(start(self.stops[stage].clone()));
        self.stage_of.insert(handle.id(), stage);
    }

    /// Runs until `shutdown` is requested (or a task ends), then stops the stages in order; at
    /// `timeout` whatever still runs is aborted. Returns the first task error, if any.
    pub async fn drain(mut self, shutdown: &Shutdown, timeout: Duration) -> anyhow::Result<()> {
        let mut running = vec![0usize; self.stops.len()];
        for stage in self.stage_of.values() {
            running[*stage] += 1;
        }
        let mut first_error = None;
        tokio::select! {
            _ = shutdown.requested() => {},
            Some(joined) = self.tasks.join_next_with_id() => {
                let (stage, error) = self.ended(joined);
                running[stage] -= 1;
                first_error = error;
                shutdown.trigger();
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut stage = 0;
        loop {
            while stage < running.len() && running[stage] == 0 {
                stage += 1;
            }
            let Some(stop) = self.stops.get(stage) else { break };
            stop.trigger();
            tokio::select! {
                joined = self.tasks.join_next_with_id() => match joined {
                    Some(joined) => {
                        let (ended, error) = self.ended(joined);
                        running[ended] -= 1;
                        if let Some(error) = error {
                            first_error.get_or_insert(error);
                        }
                    }
                    None => break,
                },
                _ = &mut deadline => {
                    tracing::warn!(remaining = self.tasks.len(), stage, "drain timeout reached; aborting");
                    self.tasks.abort_all();
                    break;
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The stage of a task that ended, and its error.
    fn ended(
        &self,
        joined: Result<(tokio::task::Id, anyhow::Result<()>), tokio::task::JoinError>,
    ) -> (usize, Option<anyhow::Error>) {
        let (id, error) = match joined {
            Ok((id, result)) => (id, result.err()),
            Err(err) => (err.id(), Some(anyhow::anyhow!("task failed: {err}"))),
        };
        (self.stage_of.get(&id).copied().unwrap_or(0), error)
    }
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

    #[tokio::test]
    async fn stages_stop_in_order_each_after_the_one_before_has_ended() {
        let shutdown = Shutdown::new();
        let mut stages = Stages::new(3);
        let (log_tx, mut log) = tokio::sync::mpsc::unbounded_channel();
        // Stage 0 (the gateway) finishes only once it is told the middle stage is still up.
        let (middle_up_tx, middle_up) = tokio::sync::oneshot::channel::<()>();
        let tx = log_tx.clone();
        stages.spawn(0, move |stop| async move {
            stop.requested().await;
            tx.send("front told").unwrap();
            middle_up.await.unwrap();
            tx.send("front ended").unwrap();
            Ok(())
        });
        let tx = log_tx.clone();
        stages.spawn(1, move |stop| async move {
            // Told only after the front ended: until then it is the one answering it.
            middle_up_tx.send(()).unwrap();
            stop.requested().await;
            tx.send("middle told").unwrap();
            Ok(())
        });
        let tx = log_tx;
        stages.spawn(2, move |stop| async move {
            stop.requested().await;
            tx.send("back told").unwrap();
            Ok(())
        });
        shutdown.trigger();
        stages.drain(&shutdown, Duration::from_secs(30)).await.expect("clean");
        let mut order = Vec::new();
        while let Ok(line) = log.try_recv() {
            order.push(line);
        }
        assert_eq!(order, ["front told", "front ended", "middle told", "back told"]);
    }

    #[tokio::test(start_paused = true)]
    async fn stages_are_bounded_as_a_whole_and_report_a_failure() {
        let shutdown = Shutdown::new();
        let mut stages = Stages::new(2);
        stages.spawn(1, |_| async { Err(anyhow::anyhow!("bind failed")) });
        stages.spawn(0, |_| std::future::pending::<anyhow::Result<()>>());
        let started = tokio::time::Instant::now();
        let err = tokio::time::timeout(Duration::from_secs(60), stages.drain(&shutdown, Duration::from_secs(5)))
            .await
            .expect("the drain gave up at its bound")
            .expect_err("the failure is reported");
        assert!(err.to_string().contains("bind failed"));
        assert!(shutdown.is_requested(), "a task that ends early shuts the rest down");
        assert_eq!(started.elapsed().as_secs(), 5);
    }
}
