//! The report: every measurement, each Roster figure beside its ceilings as ratios, the machine,
//! the versions and the load average; printed as tables or written as JSON.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::{load::Measurement, procfs::Machine, scenarios::Side, startup::Startup};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub machine: Machine,
    pub versions: Versions,
    pub config: Config,
    /// 1-, 5- and 15-minute load averages before the first measurement.
    pub load_before: Option<[f64; 3]>,
    /// `roster::Stack::start` in this process, on an empty database (migrations included).
    pub stack_start_ms: Option<f64>,
    pub results: Vec<Row>,
    pub comparisons: Vec<Comparison>,
    pub startup: Option<Startup>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Versions {
    pub roster: String,
    pub rustc: String,
    pub dependencies: String,
}

impl Versions {
    pub fn current() -> Self {
        Self {
            roster: env!("CARGO_PKG_VERSION").to_owned(),
            rustc: env!("LOADGEN_RUSTC").to_owned(),
            dependencies: env!("LOADGEN_DEPS").to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub duration_ms: u64,
    pub warmup_ms: u64,
    pub concurrency: Vec<usize>,
    /// `sqlite` or `postgres`: the stack's database and the INSERT ceilings'.
    pub database: String,
    pub redis: bool,
    /// The stack was one already running elsewhere, not started here.
    pub targeted: bool,
    pub fixture_users: usize,
    /// Users created in the fixtures' application before any figure (`--prefill`).
    #[serde(default)]
    pub prefill: usize,
}

/// One scenario at one concurrency.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub scenario: String,
    pub side: Side,
    pub what: String,
    pub concurrency: usize,
    /// Rows per statement for the multi-row INSERT, else 1.
    pub ops_per_request: usize,
    #[serde(flatten)]
    pub measurement: Measurement,
    /// `requests_per_sec` times `ops_per_request`.
    pub ops_per_sec: f64,
    /// The 1-minute load average right after the window.
    pub load1: Option<f64>,
    pub peak_rss_kb: Vec<ProcessPeak>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessPeak {
    pub process: String,
    pub kb: Option<u64>,
}

/// A Roster figure over a ceiling's at the same concurrency.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub scenario: String,
    pub ceiling: String,
    pub concurrency: usize,
    pub ops_per_sec: f64,
    pub ceiling_ops_per_sec: f64,
    /// Roster's rate over the ceiling's.
    pub ratio: f64,
    pub p99_us: u64,
    pub ceiling_p99_us: u64,
    /// Roster's p99 over the ceiling's.
    pub p99_ratio: f64,
}

/// Every (Roster row, ceiling) pair measured at the same concurrency.
pub fn compare(rows: &[Row]) -> Vec<Comparison> {
    let mut out = Vec::new();
    for row in rows.iter().filter(|r| r.side != Side::Ceiling) {
        let ceilings = match crate::scenarios::find(&row.scenario) {
            Some(scenario) => scenario.ceilings,
            None if row.side == Side::Peer => &["axum-get"][..],
            None => continue,
        };
        for name in ceilings {
            let Some(ceiling) = rows.iter().find(|r| r.scenario == *name && r.concurrency == row.concurrency) else {
                continue;
            };
            out.push(Comparison {
                scenario: row.scenario.clone(),
                ceiling: ceiling.scenario.clone(),
                concurrency: row.concurrency,
                ops_per_sec: row.ops_per_sec,
                ceiling_ops_per_sec: ceiling.ops_per_sec,
                ratio: ratio(row.ops_per_sec, ceiling.ops_per_sec),
                p99_us: row.measurement.p99_us,
                ceiling_p99_us: ceiling.measurement.p99_us,
                p99_ratio: ratio(row.measurement.p99_us as f64, ceiling.measurement.p99_us as f64),
            });
        }
    }
    out
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or_else(|| "-".into(), |kb| format!("{:.0}", kb as f64 / 1024.0))
}

/// The human-readable report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let m = &report.machine;
    let c = &report.config;
    let _ = writeln!(out, "machine: {} CPUs ({}), {} MB, Linux {}", m.cpus, m.cpu_model, mb(m.memory_kb), m.kernel);
    let v = &report.versions;
    let _ = writeln!(out, "roster {} built by {}; {}", v.roster, v.rustc, v.dependencies);
    let _ = writeln!(
        out,
        "database {}, redis {}, {}; {} ms warm-up + {} ms per figure; load average before: {}",
        c.database,
        if c.redis { "yes" } else { "no (in-process cache)" },
        if c.targeted { "targeted stack" } else { "stack in this process" },
        c.warmup_ms,
        c.duration_ms,
        report.load_before.map_or_else(|| "-".into(), |l| format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])),
    );
    if let Some(ms) = report.stack_start_ms {
        let _ = writeln!(out, "in-process Stack::start on an empty database: {ms:.0} ms");
    }
    let _ = writeln!(
        out,
        "\n{:<28} {:>4} {:>10} {:>8} {:>8} {:>8} {:>8} {:>6} {:>8}",
        "scenario", "c", "ops/s", "p50 ms", "p90 ms", "p99 ms", "errors", "load1", "peak MB"
    );
    for row in &report.results {
        let r = &row.measurement;
        let peak = row.peak_rss_kb.iter().map(|p| mb(p.kb)).collect::<Vec<_>>().join("/");
        let _ = writeln!(
            out,
            "{:<28} {:>4} {:>10.0} {:>8} {:>8} {:>8} {:>8} {:>6} {:>8}",
            row.scenario,
            row.concurrency,
            row.ops_per_sec,
            ms(r.p50_us),
            ms(r.p90_us),
            ms(r.p99_us),
            r.errors,
            row.load1.map_or_else(|| "-".into(), |l| format!("{l:.2}")),
            peak,
        );
        if let Some(err) = &r.first_error {
            let _ = writeln!(out, "    first error: {}", err.chars().take(200).collect::<String>());
        }
    }
    let _ = writeln!(
        out,
        "\n{:<28} {:>4} {:>10} {:<16} {:>10} {:>7} {:>8} {:>8} {:>6}",
        "roster path", "c", "ops/s", "ceiling", "ops/s", "ratio", "p99 ms", "ceil p99", "x p99"
    );
    for cmp in &report.comparisons {
        let _ = writeln!(
            out,
            "{:<28} {:>4} {:>10.0} {:<16} {:>10.0} {:>6.0}% {:>8} {:>8} {:>6.2}",
            cmp.scenario,
            cmp.concurrency,
            cmp.ops_per_sec,
            cmp.ceiling,
            cmp.ceiling_ops_per_sec,
            cmp.ratio * 100.0,
            ms(cmp.p99_us),
            ms(cmp.ceiling_p99_us),
            cmp.p99_ratio,
        );
    }
    if let Some(startup) = &report.startup {
        out.push('\n');
        out.push_str(&startup.render());
    }
    out
}
