//! What Linux says about processes and the machine: resident memory (`/proc/<pid>/status`),
//! the load average (`/proc/loadavg`), CPU and memory size. Everything answers `None` (or is
//! left out) where `/proc` does not exist.

use std::{collections::HashMap, time::Duration};

use serde::{Deserialize, Serialize};

/// A process whose memory is reported: this one (`pid: None`) or a targeted stack's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Process {
    pub label: String,
    pub pid: Option<u32>,
}

fn status_path(pid: Option<u32>) -> String {
    pid.map_or_else(|| "/proc/self/status".to_owned(), |pid| format!("/proc/{pid}/status"))
}

/// A `kB` field of a status file (`VmRSS`, `VmHWM`), in kilobytes.
pub fn status_kb(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn read_status_kb(pid: Option<u32>, field: &str) -> Option<u64> {
    status_kb(&std::fs::read_to_string(status_path(pid)).ok()?, field)
}

/// Current resident set, kB.
pub fn rss_kb(pid: Option<u32>) -> Option<u64> {
    read_status_kb(pid, "VmRSS")
}

/// Peak resident set since start or the last [`reset_peak`], kB.
pub fn peak_rss_kb(pid: Option<u32>) -> Option<u64> {
    read_status_kb(pid, "VmHWM")
}

/// Resets the process's peak resident set to its current one (`echo 5 > clear_refs`), so the
/// next peak belongs to what runs next; false when not allowed.
pub fn reset_peak(pid: Option<u32>) -> bool {
    let path = pid.map_or_else(|| "/proc/self/clear_refs".to_owned(), |pid| format!("/proc/{pid}/clear_refs"));
    std::fs::write(path, "5").is_ok()
}

/// The 1-, 5- and 15-minute load averages.
pub fn load_average() -> Option<[f64; 3]> {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

pub fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// The machine the figures were taken on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    pub cpu_model: String,
    pub cpus: usize,
    pub memory_kb: Option<u64>,
    pub kernel: String,
}

impl Machine {
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
        Self {
            cpu_model,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            memory_kb: status_kb(&meminfo, "MemTotal"),
            kernel,
        }
    }
}

/// Peak memory of each watched process over one scenario: the kernel's own high-water mark
/// where it could be reset, else the highest of samples taken every 50 ms.
pub struct RssWatch {
    processes: Vec<Process>,
    reset: Vec<bool>,
    sampler: tokio::task::JoinHandle<HashMap<usize, u64>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl RssWatch {
    pub fn start(processes: &[Process]) -> Self {
        let reset = processes.iter().map(|p| reset_peak(p.pid)).collect();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let pids: Vec<Option<u32>> = processes.iter().map(|p| p.pid).collect();
        let sampler = tokio::spawn(async move {
            let mut peaks = HashMap::new();
            loop {
                for (i, pid) in pids.iter().enumerate() {
                    if let Some(kb) = rss_kb(*pid) {
                        let peak = peaks.entry(i).or_insert(0);
                        *peak = kb.max(*peak);
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    _ = stopped.changed() => break,
                }
            }
            peaks
        });
        Self { processes: processes.to_vec(), reset, sampler, stop }
    }

    /// Each process's label and peak, kB.
    pub async fn finish(self) -> Vec<(String, Option<u64>)> {
        let _ = self.stop.send(true);
        let sampled = self.sampler.await.unwrap_or_default();
        self.processes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let hwm = if self.reset[i] { peak_rss_kb(p.pid) } else { None };
                let peak = match (hwm, sampled.get(&i).copied()) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                (p.label.clone(), peak)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_fields_and_the_load_average() {
        let status = "Name:\tloadgen\nVmHWM:\t   51234 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(status_kb(status, "VmHWM"), Some(51234));
        assert_eq!(status_kb(status, "VmRSS"), Some(40960));
        assert_eq!(status_kb(status, "VmSwap"), None);
        assert_eq!(parse_loadavg("0.52 0.61 0.70 2/180 12345\n"), Some([0.52, 0.61, 0.70]));
        assert_eq!(parse_loadavg("garbage"), None);
    }

    #[test]
    fn this_process_has_a_resident_set() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(rss_kb(None).is_some_and(|kb| kb > 0));
            assert!(peak_rss_kb(None).is_some_and(|kb| kb > 0));
        }
    }
}
