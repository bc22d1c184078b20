//! `chainsim bench`: engine throughput and memory on fixed flooding scenarios. Each scenario runs
//! in its own child process so that its peak memory is its own.

use std::process::Command;

use experiments::campaign::{self, Options};
use experiments::{Experiment, LoadedExperiment, ProtocolConfig, ResultDir, RunSpec, StopConfig, execute};
use models::flood::FloodConfig;
use simulator::SimDuration;
use simulator::config::{BandwidthConfig, Contention, LatencyConfig, NetworkConfig, TopologyConfig};
use simulator::units::{Bandwidth, ByteSize};

use crate::commands::{Failure, provenance};
use crate::progress::Reporter;

/// A fixed benchmark workload: flooding 1 MB items (degree 8, 20/50 Mbps links, log-normal
/// latency, Poisson creations 10 s apart).
struct Scenario {
    name: &'static str,
    nodes: u32,
    items: u32,
    contention: Contention,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario { name: "flood-10k-fifo", nodes: 10_000, items: 10, contention: Contention::Fifo },
    Scenario { name: "flood-10k-fair", nodes: 10_000, items: 10, contention: Contention::FairShare },
    Scenario { name: "flood-100k-fifo", nodes: 100_000, items: 3, contention: Contention::Fifo },
    Scenario { name: "flood-100k-fair", nodes: 100_000, items: 3, contention: Contention::FairShare },
];

fn experiment(s: &Scenario) -> Experiment {
    Experiment {
        name: "bench".to_string(),
        description: String::new(),
        seed: 1,
        stop: StopConfig::default(),
        replicates: 1,
        sweep: Vec::new(),
        zip: Vec::new(),
        plots: Vec::new(),
        network: NetworkConfig {
            nodes: s.nodes,
            topology: TopologyConfig::RandomRegular { degree: 8 },
            bandwidth: BandwidthConfig {
                upload: Bandwidth::BitsPerSec(20_000_000),
                download: Bandwidth::BitsPerSec(50_000_000),
            },
            contention: s.contention,
            latency: LatencyConfig::LogNormal { median: SimDuration::from_millis(50), sigma: 0.5 },
            loss: 0.0,
            link_loss: Vec::new(),
            cpu: Default::default(),
            disk: Default::default(),
            faults: Default::default(),
        },
        protocol: ProtocolConfig::Flood(FloodConfig {
            items: s.items,
            item_size: ByteSize(1_000_000),
            interval: SimDuration::from_secs(10),
            ..FloodConfig::default()
        }),
    }
}

/// Peak resident memory of this process in MiB (Linux), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn run_scenario(name: &str) -> Result<(), Failure> {
    let scenario = SCENARIOS.iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        Failure { code: 2, message: format!("unknown scenario `{name}`; scenarios: {}", names.join(", ")) }
    })?;
    let experiment = experiment(scenario);
    experiment.validate().map_err(Failure::run)?;
    let loaded = LoadedExperiment::single(experiment, ".".into());
    let record = execute(&loaded, &RunSpec::new(1, 0, 0)).map_err(Failure::run)?;
    println!(
        "{}",
        serde_json::json!({
            "scenario": name,
            "nodes": scenario.nodes,
            "items": scenario.items,
            "events": record.events,
            "setup_seconds": record.timing.setup.as_secs_f64(),
            "simulate_seconds": record.timing.simulate.as_secs_f64(),
            "events_per_second": record.timing.events_per_second(record.events),
            "peak_rss_mib": peak_rss_mib(),
        })
    );
    Ok(())
}

/// Wall time of a 16-run sweep (flood over 3,000 nodes, 16 replicates) with 1 and 2 worker
/// threads, and the speed-up.
fn sweep_speedup() -> Result<(), Failure> {
    let mut experiment = experiment(&Scenario { name: "sweep", nodes: 3_000, items: 10, contention: Contention::Fifo });
    experiment.replicates = 16;
    let loaded = LoadedExperiment::single(experiment, ".".into());
    let mut walls = Vec::new();
    for jobs in [1, 2] {
        let dir = std::env::temp_dir().join(format!("chainsim-bench-{}-{jobs}", std::process::id()));
        let options = Options { jobs, shard: None, fresh: true };
        let outcome = campaign::run(&loaded, &ResultDir::new(&dir), &options, &provenance(), &Reporter::Quiet);
        let _ = std::fs::remove_dir_all(&dir);
        let outcome = outcome.map_err(Failure::run)?;
        if !outcome.failures.is_empty() {
            return Err(Failure::run(format!("{} benchmark runs failed", outcome.failures.len())));
        }
        println!("sweep of {} runs, --jobs {jobs}: {:.2} s", outcome.runs, outcome.wall_seconds);
        walls.push(outcome.wall_seconds);
    }
    println!("speed-up --jobs 2 over --jobs 1: {:.2}", walls[0] / walls[1]);
    Ok(())
}

pub fn main(only: Option<&str>) -> Result<(), Failure> {
    if let Some(name) = only {
        return run_scenario(name);
    }
    let exe = std::env::current_exe().map_err(Failure::run)?;
    println!(
        "{:<16} {:>8} {:>6} {:>12} {:>8} {:>8} {:>12} {:>10}",
        "scenario", "nodes", "items", "events", "setup s", "loop s", "M events/s", "peak MiB"
    );
    for Scenario { name, .. } in SCENARIOS {
        let output = Command::new(&exe).args(["bench", "--scenario", name]).output().map_err(Failure::run)?;
        if !output.status.success() {
            return Err(Failure::run(format!("{name}: {}", String::from_utf8_lossy(&output.stderr).trim())));
        }
        let line: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(Failure::run)?;
        println!(
            "{:<16} {:>8} {:>6} {:>12} {:>8.2} {:>8.2} {:>12.2} {:>10.0}",
            name,
            line["nodes"],
            line["items"],
            line["events"],
            line["setup_seconds"].as_f64().unwrap_or(f64::NAN),
            line["simulate_seconds"].as_f64().unwrap_or(f64::NAN),
            line["events_per_second"].as_f64().unwrap_or(f64::NAN) / 1e6,
            line["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
        );
    }
    println!();
    sweep_speedup()
}
