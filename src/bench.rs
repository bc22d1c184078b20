//! `chainsim bench`: engine throughput and memory on fixed scenarios (flooding, PBFT under
//! saturating load, Bitcoin block relay, sharding at 32 shards, rollups: the largest points of
//! the two rollup studies and a simulated week on 100 L1 validators, the largest points of the
//! two bridge studies). Each scenario runs in its own child process so that its
//! peak memory is its own; `--repeat` runs it several times and keeps the fastest.

use std::process::Command;

use experiments::campaign::{self, Options};
use experiments::{Experiment, LoadedExperiment, ProtocolConfig, ResultDir, RunSpec, StopConfig, execute};
use models::bitcoin::{Bitcoin, BitcoinConfig, Relay};
use models::flood::{Flood, FloodConfig};
use models::pbft::{Auth, Costs, Load, Pbft, PbftConfig};
use models::rollup::{Rollup, RollupConfig};
use models::sharding::{Sharding, ShardingConfig};
use simulator::SimDuration;
use simulator::config::{BandwidthConfig, Contention, LatencyConfig, NetworkConfig, TopologyConfig};
use simulator::roles::{RoleConfig, RoleNodes};
use simulator::units::{Bandwidth, ByteSize};

use crate::commands::{Failure, provenance};
use crate::progress::Reporter;

/// A fixed benchmark workload.
struct Scenario {
    name: &'static str,
    workload: Workload,
}

enum Workload {
    /// Flooding 1 MB items (degree 8, 20/50 Mbps links, log-normal latency, Poisson creations
    /// 10 s apart).
    Flood { nodes: u32, items: u32, contention: Contention },
    /// Bitcoin block relay on the `bitcoin-2019` preset: compact blocks, sampled mempool,
    /// 535 kB blocks 600 s apart.
    Bitcoin { nodes: u32, blocks: u32 },
    /// PBFT with 64 replicas, signatures and batches of 100 for 10 simulated seconds, under more
    /// load than it can serve (16 closed-loop clients keeping 100 requests each outstanding).
    Pbft,
    /// Sharding: 32 shards of 4 replicas, two-phase commit coordinated by the payer's shard,
    /// uniform transfers over 2 million accounts, saturated by 128 closed-loop clients keeping
    /// 100 transfers each outstanding, for 10 simulated seconds (the setting of
    /// `experiments/shard-scaling.ron` at 32 shards).
    Sharding,
    /// One point of a shipped study, as the study file sets it.
    StudyPoint { file: &'static str, text: &'static str, point: usize },
    /// A simulated week of an optimistic rollup on 100 L1 validators with the defaults of
    /// `Rollup(...)` (Pectra blobs, 12 s slots, a 7-day challenge window), 10 transactions/s from
    /// ten clients.
    RollupWeek,
}

const SCENARIOS: [Scenario; 14] = [
    Scenario {
        name: "flood-10k-fifo",
        workload: Workload::Flood { nodes: 10_000, items: 10, contention: Contention::Fifo },
    },
    Scenario {
        name: "flood-10k-fair",
        workload: Workload::Flood { nodes: 10_000, items: 10, contention: Contention::FairShare },
    },
    Scenario {
        name: "flood-100k-fifo",
        workload: Workload::Flood { nodes: 100_000, items: 3, contention: Contention::Fifo },
    },
    Scenario {
        name: "flood-100k-fair",
        workload: Workload::Flood { nodes: 100_000, items: 3, contention: Contention::FairShare },
    },
    Scenario { name: "pbft-64", workload: Workload::Pbft },
    Scenario { name: "sharding-32x4", workload: Workload::Sharding },
    Scenario { name: "bitcoin-10k", workload: Workload::Bitcoin { nodes: 10_000, blocks: 100 } },
    Scenario { name: "bitcoin-100k", workload: Workload::Bitcoin { nodes: 100_000, blocks: 10 } },
    // The largest points: 8,000 transactions/s on BPO2 blobs at ratio 0.25; a 2^40-step trace
    // with the challenger six days late.
    Scenario {
        name: "rollup-capacity",
        workload: Workload::StudyPoint {
            file: "rollup-capacity.ron",
            text: include_str!("../experiments/rollup-capacity.ron"),
            point: 60,
        },
    },
    Scenario {
        name: "rollup-dispute",
        workload: Workload::StudyPoint {
            file: "rollup-dispute.ron",
            text: include_str!("../experiments/rollup-dispute.ron"),
            point: 17,
        },
    },
    Scenario { name: "rollup-week-100", workload: Workload::RollupWeek },
    // The largest points: 32 confirmations, m = 7, a light client (headers and acknowledgements
    // relayed both ways); all nine validators colluding with a 16-block reorganisation and 12
    // confirmations.
    Scenario {
        name: "bridge-latency",
        workload: Workload::StudyPoint {
            file: "bridge-latency.ron",
            text: include_str!("../experiments/bridge-latency.ron"),
            point: 35,
        },
    },
    Scenario {
        name: "bridge-attacks",
        workload: Workload::StudyPoint {
            file: "bridge-attacks.ron",
            text: include_str!("../experiments/bridge-attacks.ron"),
            point: 149,
        },
    },
    // The PBFT side chain with 8 side confirmations (which it does not wait for).
    Scenario {
        name: "bridge-side-chains",
        workload: Workload::StudyPoint {
            file: "bridge-side-chains.ron",
            text: include_str!("../experiments/bridge-side-chains.ron"),
            point: 7,
        },
    },
];

/// The experiment of a scenario, with its grid expanded.
fn experiment(workload: &Workload) -> Result<LoadedExperiment, Failure> {
    let single = |experiment: Experiment| {
        experiment.validate().map_err(Failure::run)?;
        Ok(LoadedExperiment::single(experiment, ".".into()))
    };
    match *workload {
        Workload::Flood { nodes, items, contention } => single(flood_experiment(nodes, items, contention)),
        Workload::Pbft => single(pbft_experiment()),
        Workload::Sharding => single(sharding_experiment()),
        Workload::Bitcoin { nodes, blocks } => single(bitcoin_experiment(nodes, blocks)),
        Workload::RollupWeek => single(rollup_week_experiment()),
        Workload::StudyPoint { file, text, .. } => {
            let dir = std::env::temp_dir().join(format!("chainsim-bench-study-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(Failure::run)?;
            let path = dir.join(file);
            std::fs::write(&path, text).map_err(Failure::run)?;
            let loaded = experiments::load(&path, &[]);
            let _ = std::fs::remove_dir_all(&dir);
            loaded.map_err(|e| Failure::run(e.to_string()))
        }
    }
}

const ROLLUP_VALIDATORS: u32 = 100;

fn rollup_week_experiment() -> Experiment {
    let mut experiment = flood_experiment(ROLLUP_VALIDATORS + 1 + 2 + 10, 1, Contention::Fifo);
    experiment.stop.time = Some(SimDuration::from_secs(7 * 24 * 3600));
    let network = &mut experiment.network;
    network.topology = TopologyConfig::Complete;
    network.bandwidth =
        BandwidthConfig { upload: Bandwidth::BitsPerSec(100_000_000), download: Bandwidth::BitsPerSec(100_000_000) };
    network.roles = vec![
        RoleConfig::new("l1", RoleNodes::Count(ROLLUP_VALIDATORS)),
        RoleConfig::new("sequencer", RoleNodes::Count(1)),
        RoleConfig::new("verifiers", RoleNodes::Count(2)),
    ];
    experiment.protocol = ProtocolConfig::new::<Rollup>(RollupConfig {
        rate: 10.0,
        bundle: SimDuration::from_secs(1),
        ..RollupConfig::default()
    });
    experiment
}

fn bitcoin_experiment(nodes: u32, blocks: u32) -> Experiment {
    let mut experiment = flood_experiment(nodes, 1, Contention::FairShare);
    let mut network = simulator::presets::preset("bitcoin-2019").expect("a built-in preset");
    network.nodes = nodes;
    experiment.network = network;
    experiment.protocol =
        ProtocolConfig::new::<Bitcoin>(BitcoinConfig { blocks, relay: Relay::Compact, ..BitcoinConfig::default() });
    experiment
}

const PBFT_REPLICAS: u32 = 64;
const PBFT_CLIENTS: u32 = 16;

/// `nodes` nodes in one data centre (a complete graph, 1 Gbps links, log-normal latency around
/// `median`, `cores` cores each), for 10 simulated seconds; the protocol is set by the caller.
fn data_centre(nodes: u32, median: SimDuration, cores: u32) -> Experiment {
    let mut experiment = flood_experiment(nodes, 1, Contention::Fifo);
    experiment.stop.time = Some(SimDuration::from_secs(10));
    let network = &mut experiment.network;
    network.topology = TopologyConfig::Complete;
    network.bandwidth = BandwidthConfig {
        upload: Bandwidth::BitsPerSec(1_000_000_000),
        download: Bandwidth::BitsPerSec(1_000_000_000),
    };
    network.latency = LatencyConfig::LogNormal { median, sigma: 0.3 };
    network.cpu.cores = cores;
    experiment
}

fn pbft_experiment() -> Experiment {
    let mut experiment = data_centre(PBFT_REPLICAS + PBFT_CLIENTS, SimDuration::from_millis(10), 4);
    experiment.protocol = ProtocolConfig::new::<Pbft>(PbftConfig {
        replicas: PBFT_REPLICAS.into(),
        batch_size: 100,
        in_flight: 4,
        auth: Auth::Signatures,
        load: Load::Closed { window: 100 },
        // Long enough that queueing alone never triggers retransmissions.
        client_timeout: SimDuration::from_secs(5),
        ..PbftConfig::default()
    });
    experiment
}

const SHARDS: u32 = 32;

fn sharding_experiment() -> Experiment {
    let mut experiment = data_centre(SHARDS * 4 + SHARDS * 4, SimDuration::from_millis(5), 1);
    experiment.protocol = ProtocolConfig::new::<Sharding>(ShardingConfig {
        shards: SHARDS,
        committee: 4,
        accounts: 2_000_000,
        load: Load::Closed { window: 100 },
        warmup: SimDuration::from_secs(1),
        consensus: PbftConfig {
            batch_size: 200,
            in_flight: 4,
            auth: Auth::Macs,
            costs: Costs { execute: SimDuration::from_micros(200), ..Costs::default() },
            client_timeout: SimDuration::from_secs(30),
            view_change_timeout: SimDuration::from_secs(30),
            ..PbftConfig::default()
        },
        ..ShardingConfig::default()
    });
    experiment
}

fn flood_experiment(nodes: u32, items: u32, contention: Contention) -> Experiment {
    Experiment {
        name: "bench".to_string(),
        description: String::new(),
        label: String::new(),
        seed: 1,
        stop: StopConfig::default(),
        replicates: 1,
        sweep: Vec::new(),
        zip: Vec::new(),
        plots: Vec::new(),
        network: NetworkConfig {
            nodes,
            topology: TopologyConfig::RandomRegular { degree: 8 },
            bandwidth: BandwidthConfig {
                upload: Bandwidth::BitsPerSec(20_000_000),
                download: Bandwidth::BitsPerSec(50_000_000),
            },
            contention,
            unqueued_up_to: Default::default(),
            latency: LatencyConfig::LogNormal { median: SimDuration::from_millis(50), sigma: 0.5 },
            loss: 0.0,
            link_loss: Vec::new(),
            cpu: Default::default(),
            disk: Default::default(),
            faults: Default::default(),
            roles: Vec::new(),
        },
        protocol: ProtocolConfig::new::<Flood>(FloodConfig {
            items,
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
    let loaded = experiment(&scenario.workload)?;
    let point = match scenario.workload {
        Workload::StudyPoint { point, .. } => point,
        _ => 0,
    };
    let nodes = loaded.points[point].experiment.network.nodes;
    let record = execute(&loaded, &RunSpec::new(loaded.experiment.seed, point, 0)).map_err(Failure::run)?;
    let messages: u64 = record.nodes.iter().map(|c| c.messages_sent).sum();
    let seconds = record.timing.simulate.as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "scenario": name,
            "nodes": nodes,
            "events": record.events,
            "messages": messages,
            "messages_per_second": if seconds > 0.0 { messages as f64 / seconds } else { 0.0 },
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
    let mut experiment = flood_experiment(3_000, 10, Contention::Fifo);
    experiment.replicates = 16;
    let loaded = LoadedExperiment::single(experiment, ".".into());
    let mut walls = Vec::new();
    for jobs in [1, 2] {
        let dir = std::env::temp_dir().join(format!("chainsim-bench-{}-{jobs}", std::process::id()));
        let options = Options { jobs, slice: None, fresh: true };
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

/// The loop time of one run's JSON line.
fn loop_seconds(line: &serde_json::Value) -> f64 {
    line["simulate_seconds"].as_f64().unwrap_or(f64::NAN)
}

/// Runs `name` `repeat` times in a child process and returns its JSON lines.
fn run_child(exe: &std::path::Path, name: &str, repeat: u32) -> Result<Vec<serde_json::Value>, Failure> {
    let repeat = repeat.to_string();
    let output =
        Command::new(exe).args(["bench", "--scenario", name, "--repeat", &repeat]).output().map_err(Failure::run)?;
    if !output.status.success() {
        return Err(Failure::run(format!("{name}: {}", String::from_utf8_lossy(&output.stderr).trim())));
    }
    serde_json::Deserializer::from_slice(&output.stdout)
        .into_iter()
        .collect::<Result<Vec<serde_json::Value>, _>>()
        .map_err(Failure::run)
}

pub fn main(only: Option<&str>, repeat: u32) -> Result<(), Failure> {
    if let Some(name) = only {
        return (0..repeat).try_for_each(|_| run_scenario(name));
    }
    let exe = std::env::current_exe().map_err(Failure::run)?;
    println!("best of {repeat} run(s) per scenario");
    println!(
        "{:<16} {:>8} {:>12} {:>8} {:>8} {:>10} {:>12} {:>14} {:>10}",
        "scenario", "nodes", "events", "setup s", "loop s", "median s", "M events/s", "M messages/s", "peak MiB"
    );
    for Scenario { name, .. } in SCENARIOS {
        let mut lines = run_child(&exe, name, repeat)?;
        lines.sort_by(|a, b| loop_seconds(a).total_cmp(&loop_seconds(b)));
        let Some(best) = lines.first() else { return Err(Failure::run(format!("{name}: no figures printed"))) };
        let median = loop_seconds(&lines[lines.len() / 2]);
        let peak = lines.iter().filter_map(|l| l["peak_rss_mib"].as_f64()).fold(f64::NAN, f64::max);
        println!(
            "{:<16} {:>8} {:>12} {:>8.2} {:>8.2} {:>10.2} {:>12.2} {:>14.2} {:>10.0}",
            name,
            best["nodes"].as_u64().unwrap_or(0),
            best["events"].as_u64().unwrap_or(0),
            best["setup_seconds"].as_f64().unwrap_or(f64::NAN),
            loop_seconds(best),
            median,
            best["events_per_second"].as_f64().unwrap_or(f64::NAN) / 1e6,
            best["messages_per_second"].as_f64().unwrap_or(f64::NAN) / 1e6,
            peak,
        );
    }
    println!();
    sweep_speedup()
}
