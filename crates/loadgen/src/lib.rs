//! loadgen: measures Roster's hot paths at fixed concurrency, each beside a ceiling measured in
//! the same run with the same dependency versions (a bare tonic echo, a bare axum handler, Redis
//! GETs, raw INSERTs into the users table), so the ratios hold on a shared machine where
//! absolute figures drift. It starts the whole stack in its own process (`roster::Stack`, as
//! `roster serve` does) or targets one already running, and reports requests/s, p50/p90/p99,
//! errors, peak memory and the load average, as tables or `--json`.

// A load generator measures wall time: it is the one crate that reads the clocks directly.
#![allow(clippy::disallowed_methods)]

pub mod ceilings;
pub mod http;
pub mod load;
pub mod peers;
pub mod procfs;
pub mod report;
pub mod scenarios;
pub mod stack;
pub mod startup;

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use platform::Shutdown;

use crate::{
    ceilings::{InsertTarget, RedisTarget},
    load::Plan,
    procfs::{Process, RssWatch},
    report::{Config, ProcessPeak, Report, Row, Versions},
    scenarios::{SCENARIOS, Scenario, Side, World},
    stack::{Endpoints, Scratch},
};

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "loadgen", version, about = "Roster's hot paths under load, beside same-run ceilings")]
pub struct Options {
    /// Concurrent callers; each figure is taken at each of these.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,128")]
    pub concurrency: Vec<usize>,
    /// Measured window per figure: 10s, 500ms, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Unmeasured load before each window.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// PostgreSQL URL of a role that may CREATE DATABASE: the stack and the INSERT ceilings each
    /// get a throwaway database there (dropped at the end). Unset: SQLite files in a temp dir.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Redis for the stack's cache (keys under a throwaway prefix) and the Redis GET ceiling.
    /// Unset: the in-process cache, and no Redis ceiling.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Only these scenarios (names or name prefixes, comma-separated; `--list` shows them);
    /// the ceilings they are compared with run too.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Without the ceilings `--only` brings along: Roster's paths alone (for measuring a
    /// stack's CPU per request, as scripts/bench-replicas does).
    #[arg(long, requires = "only")]
    pub no_ceilings: bool,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Write the report as JSON to this file, or to stdout with `--json` or `--json -`.
    #[arg(long, num_args = 0..=1, default_missing_value = "-")]
    pub json: Option<PathBuf>,
    /// Users created as fixtures; validation, reads and session issue cycle through them.
    #[arg(long, default_value_t = 100)]
    pub users: usize,
    /// Rows per statement of the multi-row INSERT ceiling.
    #[arg(long, default_value_t = 10)]
    pub multi_rows: usize,
    /// Also measure start-to-ready and idle memory of the `roster` binary (all-in-one, and each
    /// service alone).
    #[arg(long)]
    pub startup: bool,
    /// The `roster` binary for `--startup`; default: the one next to this binary.
    #[arg(long)]
    pub roster_bin: Option<PathBuf>,
    /// Target a running stack instead of starting one: its gateway URL (http://host:port).
    #[arg(long, requires_all = ["target_token", "target_context", "api_token"])]
    pub target_gateway: Option<String>,
    /// The targeted stack's token-service gRPC URL (http://host:port).
    #[arg(long)]
    pub target_token: Option<String>,
    /// The targeted stack's context-service gRPC URL.
    #[arg(long)]
    pub target_context: Option<String>,
    /// An API token (scope `app`) of the targeted stack, e.g. from `roster apps create`.
    #[arg(long)]
    pub api_token: Option<String>,
    /// The targeted stack's registry gRPC URL, for `--prefill`.
    #[arg(long)]
    pub target_registry: Option<String>,
    /// Users created in the fixtures' application (through the registry's BatchCreateUsers)
    /// before any figure is taken, so creates and reads run against a registry that is not
    /// empty.
    #[arg(long, default_value_t = 0)]
    pub prefill: usize,
    /// Another system's HTTP GET to measure beside Roster's paths (and the bare axum GET):
    /// `NAME=http://host:port/path`, repeatable.
    #[arg(long = "peer")]
    pub peers: Vec<String>,
    /// A header for a peer's requests: `NAME=Header: value`, repeatable.
    #[arg(long = "peer-header")]
    pub peer_headers: Vec<String>,
    /// Processes of a targeted stack on this machine whose peak memory to report (repeatable).
    #[arg(long = "pid")]
    pub pids: Vec<u32>,
    /// Progress lines on stderr as each figure is taken.
    #[arg(long, short)]
    pub verbose: bool,
}

/// `10s`, `500ms`, `2m`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.find(|c: char| !c.is_ascii_digit() && c != '.').map_or((text, ""), |i| text.split_at(i));
    let value: f64 = number.parse().map_err(|_| format!("not a duration: {text:?}"))?;
    let secs = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit in {text:?}: use ms, s or m")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

impl Options {
    /// The scenarios `--only` names, with the ceilings they are compared with (the axum GET too
    /// when there are peers).
    pub fn scenarios(&self) -> Vec<&'static Scenario> {
        let named = |name: &str| self.only.is_empty() || self.only.iter().any(|f| name == f || name.starts_with(f));
        let mut wanted: Vec<&str> = SCENARIOS.iter().filter(|s| named(s.name)).map(|s| s.name).collect();
        if !self.peers.is_empty() {
            wanted.push("axum-get");
        }
        if !self.no_ceilings {
            for s in SCENARIOS.iter().filter(|s| named(s.name)) {
                wanted.extend(s.ceilings.iter().copied());
            }
        }
        SCENARIOS.iter().filter(|s| wanted.contains(&s.name)).collect()
    }

    fn targeted(&self) -> bool {
        self.target_gateway.is_some()
    }
}

/// The stack under load, and what to stop or remove afterwards.
struct Target {
    endpoints: Endpoints,
    stack: Option<roster::Stack>,
    scratch: Option<Scratch>,
    start_ms: Option<f64>,
}

async fn start_target(options: &Options, prefix: &str) -> anyhow::Result<Target> {
    if let Some(gateway) = &options.target_gateway {
        let endpoints = Endpoints {
            gateway: http::resolve(gateway).await?,
            token: options.target_token.clone().context("--target-token")?,
            context: options.target_context.clone().context("--target-context")?,
            api_token: options.api_token.clone().context("--api-token")?,
            registry: options.target_registry.clone(),
        };
        return Ok(Target { endpoints, stack: None, scratch: None, start_ms: None });
    }
    let scratch = Scratch::new(options.database_url.as_deref(), "stack").await?;
    let settings = stack::stack_settings(&scratch, options.redis_url.as_deref(), prefix);
    let started = std::time::Instant::now();
    let stack = roster::Stack::start(settings).await?;
    let start_ms = started.elapsed().as_secs_f64() * 1000.0;
    let first = stack.first_application.clone().context("a fresh stack creates its first application")?;
    let endpoints = Endpoints {
        gateway: stack.gateway,
        token: format!("http://{}", stack.token),
        context: format!("http://{}", stack.context),
        api_token: first.api_token,
        registry: Some(format!("http://{}", stack.registry)),
    };
    Ok(Target { endpoints, stack: Some(stack), scratch: Some(scratch), start_ms: Some(start_ms) })
}

/// Runs every selected scenario at every concurrency and answers the report.
pub async fn run(options: &Options) -> anyhow::Result<Report> {
    platform::telemetry::install_propagator();
    let load_before = procfs::load_average();
    let run_id = stack::random_hex(4);
    let prefix = format!("bench{run_id}");
    let shutdown = Shutdown::new();
    let target = start_target(options, &prefix).await?;
    let (ceiling_db, outcome) = match Scratch::new(options.database_url.as_deref(), "ceiling").await {
        Ok(db) => {
            let outcome = measure_all(options, &target, &db, &shutdown, &run_id, &prefix).await;
            (Some(db), outcome)
        }
        Err(err) => (None, Err(err)),
    };
    shutdown.trigger();
    if let Some(stack) = target.stack {
        stack.stop().await?;
    }
    for scratch in [target.scratch, ceiling_db].into_iter().flatten() {
        scratch.remove().await?;
    }
    let (results, startup) = outcome?;
    let database = if options.database_url.is_some() { "postgres" } else { "sqlite" };
    Ok(Report {
        machine: procfs::Machine::read(),
        versions: Versions::current(),
        config: Config {
            duration_ms: options.duration.as_millis() as u64,
            warmup_ms: options.warmup.as_millis() as u64,
            concurrency: options.concurrency.clone(),
            database: database.into(),
            redis: options.redis_url.is_some(),
            targeted: options.targeted(),
            fixture_users: options.users,
            prefill: options.prefill,
        },
        load_before,
        stack_start_ms: target.start_ms,
        comparisons: report::compare(&results),
        results,
        startup,
    })
}

async fn measure_all(
    options: &Options,
    target: &Target,
    ceiling_db: &Scratch,
    shutdown: &Shutdown,
    run_id: &str,
    prefix: &str,
) -> anyhow::Result<(Vec<Row>, Option<startup::Startup>)> {
    let redis = match &options.redis_url {
        Some(url) => Some(RedisTarget::connect(url, prefix).await?),
        None => None,
    };
    let specs = peers::parse(&options.peers, &options.peer_headers).map_err(anyhow::Error::msg)?;
    let mut peers = Vec::with_capacity(specs.len());
    for spec in specs {
        peers.push(peers::resolve(spec).await?);
    }
    let fixtures = stack::fixtures(&target.endpoints, options.users, run_id).await?;
    if options.prefill > 0 {
        let started = std::time::Instant::now();
        stack::prefill(&target.endpoints, &fixtures.app_id, options.prefill, run_id).await?;
        if options.verbose {
            eprintln!("prefilled {} users in {:.1} s", options.prefill, started.elapsed().as_secs_f64());
        }
    }
    let world = World {
        fixtures,
        endpoints: target.endpoints.clone(),
        echo_url: ceilings::spawn_echo(shutdown).await?,
        axum: ceilings::spawn_axum(shutdown).await?,
        redis,
        inserts: InsertTarget::open(&ceiling_db.settings).await?,
        multi_rows: options.multi_rows.max(1),
        run_id: run_id.to_owned(),
    };
    let mut processes =
        vec![Process { label: if options.targeted() { "loadgen".into() } else { "loadgen+stack".into() }, pid: None }];
    processes.extend(options.pids.iter().map(|pid| Process { label: format!("pid {pid}"), pid: Some(*pid) }));
    let plan = Plan { warmup: options.warmup, duration: options.duration };
    let selected: Vec<&Scenario> = options.scenarios().into_iter().filter(|s| world.can_run(s)).collect();
    let mut rows = Vec::new();
    // Concurrency outermost: a Roster figure and its ceiling's are taken minutes apart at most.
    for &c in &options.concurrency {
        for scenario in &selected {
            let watch = RssWatch::start(&processes);
            let measurement = scenarios::run(&world, scenario, c.max(1), plan).await?;
            let peaks = watch.finish().await;
            let ops = world.ops_per_request(scenario);
            let row = Row {
                scenario: scenario.name.into(),
                side: scenario.side,
                what: scenario.what.into(),
                concurrency: c,
                ops_per_request: ops,
                ops_per_sec: measurement.requests_per_sec * ops as f64,
                measurement,
                load1: procfs::load_average().map(|l| l[0]),
                peak_rss_kb: peaks.into_iter().map(|(process, kb)| ProcessPeak { process, kb }).collect(),
            };
            if options.verbose {
                eprintln!(
                    "{:<28} c={:<4} {:>9.0} ops/s p99 {:.3} ms errors {}",
                    row.scenario,
                    c,
                    row.ops_per_sec,
                    row.measurement.p99_us as f64 / 1000.0,
                    row.measurement.errors
                );
            }
            rows.push(row);
        }
        for peer in &peers {
            let watch = RssWatch::start(&processes);
            let measurement = scenarios::peer(peer, c.max(1), plan).await?;
            let peaks = watch.finish().await;
            let row = Row {
                scenario: peer.scenario(),
                side: Side::Peer,
                what: format!("GET {}", peer.spec.url),
                concurrency: c,
                ops_per_request: 1,
                ops_per_sec: measurement.requests_per_sec,
                measurement,
                load1: procfs::load_average().map(|l| l[0]),
                peak_rss_kb: peaks.into_iter().map(|(process, kb)| ProcessPeak { process, kb }).collect(),
            };
            if options.verbose {
                eprintln!("{:<28} c={:<4} {:>9.0} ops/s", row.scenario, c, row.ops_per_sec);
            }
            rows.push(row);
        }
    }
    // Peers (no position among the scenarios) last.
    rows.sort_by_key(|r| {
        (SCENARIOS.iter().position(|s| s.name == r.scenario).unwrap_or(usize::MAX), r.scenario.clone(), r.concurrency)
    });
    if let Some(redis) = &world.redis {
        let _ = redis::cmd("DEL").arg(&redis.key).query_async::<()>(&mut redis.connection.clone()).await;
    }
    let startup = if options.startup {
        let binary = options.roster_bin.clone().or_else(startup::default_binary).context(
            "--startup needs the roster binary: build it (cargo build --release -p roster) or pass --roster-bin",
        )?;
        Some(startup::measure(&binary).await?)
    } else {
        None
    };
    Ok((rows, startup))
}

/// `--list`: each scenario, its side and what it measures.
pub fn list() -> String {
    SCENARIOS
        .iter()
        .map(|s| {
            let side = match s.side {
                Side::Roster => "roster ",
                Side::Ceiling => "ceiling",
                Side::Peer => "peer   ",
            };
            let vs = if s.ceilings.is_empty() { String::new() } else { format!(" (vs {})", s.ceilings.join(", ")) };
            format!("{:<28} {side} {}{vs}\n", s.name, s.what)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn only_brings_the_ceilings_along() {
        let options = Options::parse_from(["loadgen", "--only", "rest-create-user,validate-session/shared"]);
        let names: Vec<&str> = options.scenarios().iter().map(|s| s.name).collect();
        assert_eq!(names, ["echo/shared", "validate-session/shared", "axum-post", "insert-single", "rest-create-user"]);
        let alone = Options::parse_from(["loadgen", "--only", "rest-create-user", "--no-ceilings"]);
        let names: Vec<&str> = alone.scenarios().iter().map(|s| s.name).collect();
        assert_eq!(names, ["rest-create-user"]);
        let all = Options::parse_from(["loadgen"]);
        assert_eq!(all.scenarios().len(), SCENARIOS.len());
        assert_eq!(all.concurrency, [1, 8, 32, 128]);
        assert_eq!(all.duration, Duration::from_secs(10));
    }

    #[test]
    fn every_ceiling_named_exists_and_runs_before_its_roster_path() {
        for (i, s) in SCENARIOS.iter().enumerate() {
            for c in s.ceilings {
                let at = SCENARIOS.iter().position(|x| x.name == *c).expect("named ceiling exists");
                assert!(at < i, "{c} runs before {}", s.name);
                assert_eq!(SCENARIOS[at].side, Side::Ceiling);
            }
        }
    }
}
