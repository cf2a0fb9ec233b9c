//! The closed loop: `concurrency` callers, each sending its next request as soon as the last one
//! answered, for a warm-up and then a measured window. Latencies go into one HdrHistogram
//! (microseconds, 3 significant digits); a call started in the window counts, one started in the
//! warm-up does not.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::{task::JoinSet, time::Instant};

/// How long to warm up and how long to measure, at every concurrency.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warmup: Duration,
    pub duration: Duration,
}

/// One caller of a scenario: its own connection or a clone of a shared one, its own counters.
pub trait Caller: Send + 'static {
    /// One request; `Err` carries why the answer was wrong (a transport error, an unexpected
    /// status, a refused token).
    fn call(&mut self) -> impl Future<Output = Result<(), String>> + Send;
}

/// What one scenario did at one concurrency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Successful calls started in the measured window.
    pub requests: u64,
    pub errors: u64,
    /// The first error seen, to tell what went wrong.
    pub first_error: Option<String>,
    pub requests_per_sec: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

struct Tally {
    latencies: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// Calls still running this long after the window closed are abandoned and counted as errors.
const GRACE: Duration = Duration::from_secs(15);

/// A first call that takes longer than this (connecting, say) stops waiting for it.
const PRIMING_LIMIT: Duration = Duration::from_secs(10);

/// Runs `callers` concurrently for `plan` and answers what the window measured. Each caller
/// first makes one call off the clock (connections open lazily), then the clock starts for all.
pub async fn measure<C: Caller>(callers: Vec<C>, plan: Plan) -> Measurement {
    let latencies = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
    let tally = Arc::new(Mutex::new(Tally { latencies, errors: 0, first_error: None }));
    let (primed_tx, mut primed_rx) = tokio::sync::mpsc::channel::<()>(callers.len().max(1));
    let (start_tx, start_rx) = tokio::sync::watch::channel(None::<Instant>);
    let callers_count = callers.len();
    let mut tasks = JoinSet::new();
    for mut caller in callers {
        let tally = Arc::clone(&tally);
        let primed = primed_tx.clone();
        let mut start = start_rx.clone();
        tasks.spawn(async move {
            let _ = tokio::time::timeout(PRIMING_LIMIT, caller.call()).await;
            let _ = primed.send(()).await;
            let Ok(start) = start.wait_for(Option::is_some).await.map(|s| s.expect("set")) else { return };
            let (from, until) = (start + plan.warmup, start + plan.warmup + plan.duration);
            loop {
                let began = Instant::now();
                if began >= until {
                    break;
                }
                let outcome = caller.call().await;
                if began < from {
                    continue;
                }
                let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
                let mut tally = tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                match outcome {
                    Ok(()) => tally.latencies.saturating_record(micros),
                    Err(err) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(err);
                    }
                }
            }
        });
    }
    drop(primed_tx);
    for _ in 0..callers_count {
        if primed_rx.recv().await.is_none() {
            break;
        }
    }
    let until = Instant::now() + plan.warmup + plan.duration;
    let _ = start_tx.send(Some(Instant::now()));
    let abandoned =
        match tokio::time::timeout_at(until + GRACE, async { while tasks.join_next().await.is_some() {} }).await {
            Ok(()) => 0,
            Err(_) => {
                let left = tasks.len() as u64;
                tasks.abort_all();
                left
            }
        };
    let tally = tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let h = &tally.latencies;
    let requests = h.len();
    let mut first_error = tally.first_error.clone();
    if abandoned > 0 {
        first_error.get_or_insert_with(|| format!("{abandoned} calls had no answer {GRACE:?} after the window"));
    }
    Measurement {
        requests,
        errors: tally.errors + abandoned,
        first_error,
        requests_per_sec: requests as f64 / plan.duration.as_secs_f64(),
        p50_us: h.value_at_quantile(0.50),
        p90_us: h.value_at_quantile(0.90),
        p99_us: h.value_at_quantile(0.99),
        max_us: h.max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sleeper {
        calls: u32,
        fail_every: u32,
    }

    impl Caller for Sleeper {
        async fn call(&mut self) -> Result<(), String> {
            self.calls += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
            if self.fail_every > 0 && self.calls.is_multiple_of(self.fail_every) {
                Err("every nth call fails".into())
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn counts_successes_and_errors_in_the_window_only() {
        let plan = Plan { warmup: Duration::from_millis(20), duration: Duration::from_millis(60) };
        let callers = (0..4).map(|_| Sleeper { calls: 0, fail_every: 3 }).collect();
        let m = measure(callers, plan).await;
        assert!(m.requests > 0, "{m:?}");
        assert!(m.errors > 0, "{m:?}");
        assert_eq!(m.first_error.as_deref(), Some("every nth call fails"));
        assert!(m.p50_us >= 1000 && m.p50_us <= m.p90_us && m.p90_us <= m.p99_us && m.p99_us <= m.max_us, "{m:?}");
        assert!(m.requests_per_sec > 0.0);
    }
}
