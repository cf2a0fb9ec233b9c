//! Start-up and idle memory, measured on the real `roster` binary in child processes: the
//! all-in-one `roster serve` from spawn to `/readyz` answering 200 (on an empty data directory,
//! then again on the one it left), and each service alone (`roster serve --service NAME`, the
//! Kubernetes shape) with its resident memory once ready and idle. SQLite and the in-process
//! cache, as the embedded default runs.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tokio::{process::Command, time::Instant};

use crate::procfs;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Startup {
    /// Empty data directory: migrations, generated keys, the first application.
    pub cold_start_to_ready_ms: f64,
    /// The same directory again.
    pub warm_start_to_ready_ms: f64,
    pub all_in_one_idle_rss_kb: Option<u64>,
    pub services: Vec<ServiceIdle>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceIdle {
    pub service: String,
    /// Resident memory after start and a second of idling.
    pub idle_rss_kb: Option<u64>,
    /// The high-water mark by then (start-up included).
    pub peak_rss_kb: Option<u64>,
}

/// How long a process idles before its memory is read.
const IDLE: Duration = Duration::from_secs(1);
const READY_LIMIT: Duration = Duration::from_secs(30);

impl Startup {
    pub fn render(&self) -> String {
        let kb = |kb: Option<u64>| kb.map_or_else(|| "-".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0));
        let mut out = format!(
            "all-in-one start to ready: {:.0} ms on an empty data directory, {:.0} ms on an existing one; idle RSS {}\n",
            self.cold_start_to_ready_ms,
            self.warm_start_to_ready_ms,
            kb(self.all_in_one_idle_rss_kb)
        );
        for s in &self.services {
            out.push_str(&format!(
                "  {:<10} alone: idle RSS {}, peak {}\n",
                s.service,
                kb(s.idle_rss_kb),
                kb(s.peak_rss_kb)
            ));
        }
        out
    }
}

/// The `roster` binary next to this one (`cargo build --release -p roster -p loadgen` puts both
/// in `target/release`).
pub fn default_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.join("roster");
    candidate.exists().then_some(candidate)
}

pub async fn measure(binary: &Path) -> anyhow::Result<Startup> {
    let dir = tempfile::tempdir()?;
    let (cold, idle) = all_in_one(binary, dir.path(), true).await?;
    let (warm, _) = all_in_one(binary, dir.path(), false).await?;
    let services = separately(binary).await?;
    Ok(Startup {
        cold_start_to_ready_ms: cold.as_secs_f64() * 1000.0,
        warm_start_to_ready_ms: warm.as_secs_f64() * 1000.0,
        all_in_one_idle_rss_kb: idle,
        services,
    })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `roster` with this environment's Roster settings removed and the data directory set; the
/// first application's token it prints goes nowhere.
fn command(binary: &Path, data_dir: &Path) -> Command {
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars() {
        if name.starts_with("ROSTER_")
            || name.starts_with("OTEL_")
            || ["DATABASE_URL", "REDIS_URL", "RUST_LOG"].contains(&name.as_str())
        {
            command.env_remove(name);
        }
    }
    command
        .env("ROSTER_DATA_DIR", data_dir)
        .env("ROSTER_TELEMETRY__FILTER", "warn")
        .env("ROSTER_METRICS__LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Spawn to ready; with `idle`, also the resident memory after idling.
async fn all_in_one(binary: &Path, data_dir: &Path, idle: bool) -> anyhow::Result<(Duration, Option<u64>)> {
    let gateway: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let mut command = command(binary, data_dir);
    command.env("ROSTER_GATEWAY__LISTEN", gateway.to_string());
    for service in ["REGISTRY", "TOKEN", "CONTEXT", "EVENTS"] {
        command.env(format!("ROSTER_{service}__LISTEN"), "127.0.0.1:0");
    }
    let started = Instant::now();
    let mut child = command.arg("serve").spawn()?;
    crate::stack::wait_ready(gateway, READY_LIMIT).await?;
    let ready = started.elapsed();
    let rss = if idle {
        tokio::time::sleep(IDLE).await;
        child.id().and_then(|pid| procfs::rss_kb(Some(pid)))
    } else {
        None
    };
    child.kill().await?;
    Ok((ready, rss))
}

/// Each service in a process of its own, all five at once; each one's memory once the gateway
/// reports all four behind it ready and a second has passed.
async fn separately(binary: &Path) -> anyhow::Result<Vec<ServiceIdle>> {
    let dir = tempfile::tempdir()?;
    let names = ["registry", "token", "context", "events", "gateway"];
    let mut env = Vec::new();
    for name in &names[..4] {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let upper = name.to_uppercase();
        env.push((format!("ROSTER_{upper}__LISTEN"), addr.clone()));
        env.push((format!("ROSTER_{upper}__ENDPOINT"), format!("http://{addr}")));
    }
    let gateway: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    env.push(("ROSTER_GATEWAY__LISTEN".into(), gateway.to_string()));
    let mut children = Vec::new();
    for name in names {
        let mut command = command(binary, dir.path());
        command.envs(env.iter().cloned()).args(["serve", "--service", name]);
        children.push((name, command.spawn()?));
    }
    crate::stack::wait_ready(gateway, READY_LIMIT).await?;
    tokio::time::sleep(IDLE).await;
    let mut out = Vec::new();
    for (name, mut child) in children {
        let pid = child.id();
        out.push(ServiceIdle {
            service: name.to_owned(),
            idle_rss_kb: pid.and_then(|pid| procfs::rss_kb(Some(pid))),
            peak_rss_kb: pid.and_then(|pid| procfs::peak_rss_kb(Some(pid))),
        });
        child.kill().await?;
    }
    Ok(out)
}
