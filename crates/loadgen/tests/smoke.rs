//! The tool against live stacks, every scenario for a blink (tens of milliseconds each): each
//! must report successful requests and no errors, and the JSON report must parse. Behaviour
//! only; no figure is asserted.

use clap::Parser;
use loadgen::{Options, report::Report, scenarios::Side};

/// A blink of load per scenario at concurrency 2, three fixture users; no warm-up beyond each
/// caller's first call, so even a path slower than the window counts one call.
fn blink(extra: &[&str]) -> Options {
    let mut args = vec!["loadgen", "--duration", "20ms", "--warmup", "0s", "--concurrency", "2", "--users", "3"];
    args.extend_from_slice(extra);
    Options::parse_from(args)
}

fn assert_clean(report: &Report, expected_scenarios: usize) {
    assert_eq!(report.results.len(), expected_scenarios, "{:#?}", report.results);
    for row in &report.results {
        let m = &row.measurement;
        assert!(m.requests > 0, "{} answered nothing: {m:?}", row.scenario);
        assert_eq!(m.errors, 0, "{}: {m:?}", row.scenario);
        assert!(m.p50_us > 0 && m.p50_us <= m.p99_us, "{}: {m:?}", row.scenario);
        assert!(row.peak_rss_kb.iter().all(|p| p.kb.is_some_and(|kb| kb > 0)), "{row:?}");
    }
    let roster_rows = report.results.iter().filter(|r| r.side == Side::Roster).count();
    assert!(report.comparisons.len() >= roster_rows, "each Roster path beside a ceiling");
    assert!(report.comparisons.iter().all(|c| c.ratio > 0.0 && c.p99_ratio > 0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_clean_against_an_embedded_stack() {
    test_support::init_logging();
    let report = loadgen::run(&blink(&[])).await.expect("the run completes");
    // Every scenario but the Redis ceiling, which needs Redis.
    assert_clean(&report, loadgen::scenarios::SCENARIOS.len() - 1);
    assert_eq!(report.config.database, "sqlite");
    assert!(report.stack_start_ms.is_some_and(|ms| ms > 0.0));
    let json = serde_json::to_string(&report).expect("serialises");
    let back: Report = serde_json::from_str(&json).expect("parses back");
    assert_eq!(back.results.len(), report.results.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_clean_against_postgres_and_redis() {
    test_support::init_logging();
    let database = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL: run with scripts/test");
    let redis = test_support::redis_url();
    let report = loadgen::run(&blink(&["--database-url", &database, "--redis-url", &redis])).await.expect("run");
    assert_clean(&report, loadgen::scenarios::SCENARIOS.len());
    assert_eq!(report.config.database, "postgres");
    assert!(report.config.redis);
}

#[test]
fn the_binary_writes_json_that_parses() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["--duration", "20ms", "--warmup", "0s", "--concurrency", "1", "--users", "2"])
        .args(["--only", "validate-session/shared", "--json"])
        .output()
        .expect("loadgen runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let scenarios: Vec<&str> =
        report["results"].as_array().expect("results").iter().filter_map(|r| r["scenario"].as_str()).collect();
    assert_eq!(scenarios, ["echo/shared", "validate-session/shared"]);
    assert!(report["results"][1]["requests"].as_u64().is_some_and(|n| n > 0), "{report}");
    assert_eq!(report["comparisons"][0]["ceiling"], "echo/shared");
}

/// `--peer` measures another system's GET beside the bare axum GET (here a second axum server
/// standing in for a peer, with a header), and `--prefill` fills the registry first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_are_measured_beside_axum_and_prefill_fills_first() {
    test_support::init_logging();
    let shutdown = platform::Shutdown::new();
    let stand_in = loadgen::ceilings::spawn_axum(&shutdown).await.expect("a server");
    let peer = format!("stand-in=http://{stand_in}/json");
    let options = blink(&["--only", "rest-get-user", "--prefill", "1500", "--peer", &peer]);
    let options = Options { peer_headers: vec!["stand-in=X-Probe: 1".into()], ..options };
    let report = loadgen::run(&options).await.expect("the run completes");
    shutdown.trigger();
    assert_eq!(report.config.prefill, 1500);
    let row = report.results.iter().find(|r| r.scenario == "peer/stand-in").expect("the peer's row");
    assert_eq!((row.side, row.measurement.errors), (Side::Peer, 0));
    assert!(row.measurement.requests > 0);
    assert!(report.comparisons.iter().any(|c| c.scenario == "peer/stand-in" && c.ceiling == "axum-get"));
    assert!(report.results.iter().any(|r| r.scenario == "rest-get-user" && r.measurement.errors == 0));
}
