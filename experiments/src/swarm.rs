//! Seeded fault swarms for PBFT: every seed draws a small network, a workload and a random fault
//! schedule within the protocol's tolerance (at most f replicas crash, go silent or equivocate;
//! any amount of message loss, reordering and healing partitions), runs it, and checks that no two
//! correct replicas disagree. A failing seed is reproduced by running that seed alone, or by
//! running the experiment file [`case`] prints.

use std::path::PathBuf;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::experiment::{Experiment, ProtocolConfig, StopConfig};
use crate::load::LoadedExperiment;
use crate::runner::{RunSpec, execute};
use models::pbft::{Behaviour, ByzantineConfig, ExecutionConfig, Load, PbftConfig};
use simulator::config::{
    BandwidthConfig, Contention, CrashConfig, LatencyConfig, NetworkConfig, NodeSet, PartitionConfig, TopologyConfig,
};
use simulator::rng::{GLOBAL, Purpose, stream};
use simulator::units::{Bandwidth, ByteSize};
use simulator::{MetricValue, SimDuration};

/// Simulated time of every swarm run.
const RUN_TIME: SimDuration = SimDuration::from_secs(4);

fn millis(rng: &mut ChaCha8Rng, low: u64, high: u64) -> SimDuration {
    SimDuration::from_millis(rng.random_range(low..=high))
}

/// The experiment of swarm seed `seed`.
pub fn case(seed: u64) -> Experiment {
    let mut rng = stream(seed, Purpose::Workload, GLOBAL);
    let replicas = if rng.random_bool(0.75) { 4 } else { 7 };
    let f = (replicas - 1) / 3;
    let clients = rng.random_range(1..=3);
    let nodes = replicas + clients;

    let mut faulty: Vec<u32> = (0..replicas).collect();
    for i in 0..faulty.len() {
        let j = rng.random_range(i..faulty.len());
        faulty.swap(i, j);
    }
    faulty.truncate(rng.random_range(0..=f) as usize);
    let mut crashes = Vec::new();
    let mut byzantine = Vec::new();
    for &replica in &faulty {
        let at = millis(&mut rng, 0, 2_500);
        match rng.random_range(0..3) {
            0 => {
                let recover = rng.random_bool(0.5).then(|| at + millis(&mut rng, 100, 1_000));
                crashes.push(CrashConfig { node: replica, at, recover });
            }
            1 => byzantine.push(ByzantineConfig { replica, behaviour: Behaviour::Silent, from: at }),
            _ => byzantine.push(ByzantineConfig { replica, behaviour: Behaviour::Equivocate, from: at }),
        }
    }
    let mut partitions = Vec::new();
    if rng.random_bool(0.3) {
        let from = millis(&mut rng, 0, 2_500);
        let until = Some(from + millis(&mut rng, 50, 1_000));
        let size = rng.random_range(1..nodes);
        let start = rng.random_range(0..=nodes - size);
        partitions.push(PartitionConfig { from, until, nodes: NodeSet::Range(start, start + size) });
    }
    let loss = if rng.random_bool(0.3) { rng.random_range(0.0..0.05) } else { 0.0 };

    let load = if rng.random_bool(0.5) {
        Load::Closed { window: rng.random_range(1..=8) }
    } else {
        Load::Open { rate: rng.random_range(20.0..400.0) }
    };
    let execution = rng.random_bool(0.5).then(|| ExecutionConfig {
        keys: rng.random_range(1..=200),
        reads: rng.random_range(0..=2),
        writes: rng.random_range(0..=2),
        hot_keys: 0,
        hot_share: 0.0,
        cache: rng.random_range(0..=50),
        value_size: ByteSize(128),
    });
    let protocol = PbftConfig {
        replicas: replicas.into(),
        load,
        batch_size: rng.random_range(1..=20),
        batch_timeout: millis(&mut rng, 1, 10),
        in_flight: rng.random_range(1..=4),
        checkpoint_interval: [2, 4, 8, 16][rng.random_range(0..4)],
        persist: rng.random_bool(0.3),
        execution,
        view_change_timeout: millis(&mut rng, 50, 400),
        client_timeout: millis(&mut rng, 100, 800),
        byzantine,
        ..PbftConfig::default()
    };
    let network = NetworkConfig {
        nodes,
        topology: TopologyConfig::Complete,
        bandwidth: BandwidthConfig {
            upload: Bandwidth::BitsPerSec(100_000_000),
            download: Bandwidth::BitsPerSec(100_000_000),
        },
        contention: Contention::FairShare,
        unqueued_up_to: Default::default(),
        // Per-message latencies from a range reorder messages between the same pair of nodes.
        latency: LatencyConfig::Uniform { min: millis(&mut rng, 1, 5), max: millis(&mut rng, 6, 40) },
        loss,
        link_loss: Vec::new(),
        cpu: Default::default(),
        disk: Default::default(),
        faults: simulator::config::FaultsConfig { partitions, crashes },
        roles: Vec::new(),
    };
    Experiment {
        name: format!("pbft-swarm-{seed}"),
        description: format!("PBFT fault swarm case of seed {seed}"),
        label: String::new(),
        seed,
        stop: StopConfig { time: Some(RUN_TIME), ..StopConfig::default() },
        network,
        protocol: ProtocolConfig::new::<models::pbft::Pbft>(protocol),
        replicates: 1,
        sweep: Vec::new(),
        zip: Vec::new(),
        plots: Vec::new(),
    }
}

/// What one swarm case showed.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// Safety violations (must be zero).
    pub violations: u64,
    /// Whether clients were still being served in the last second of the run.
    pub live_at_end: bool,
    /// Views installed after view 0.
    pub view_changes: u64,
}

/// Runs swarm seed `seed`; an error describes a case that could not run.
pub fn run(seed: u64) -> Result<Outcome, String> {
    let experiment = case(seed);
    experiment.validate().map_err(|e| format!("seed {seed}: generated an invalid case: {e}"))?;
    let loaded = LoadedExperiment::single(experiment, PathBuf::from("."));
    let record = execute(&loaded, &RunSpec::new(seed, 0, 0)).map_err(|e| format!("seed {seed}: {e}"))?;
    let count = |name: &str| match record.report.metric(name) {
        Some(MetricValue::Count(c)) => c,
        _ => 0,
    };
    let detail = &record.report.detail;
    let last_second = (RUN_TIME.as_millis_f64() - 1_000.0)..;
    let live_at_end = detail["last_accept_ms"].as_f64().is_some_and(|t| last_second.contains(&t));
    Ok(Outcome { seed, violations: count("safety_violations"), live_at_end, view_changes: count("view_changes") })
}

/// Runs every seed of `seeds` on `jobs` threads; outcomes in seed order.
pub fn run_range(seeds: std::ops::Range<u64>, jobs: usize) -> Vec<Result<Outcome, String>> {
    use rayon::prelude::*;
    match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(pool) => pool.install(|| seeds.into_par_iter().map(run).collect()),
        Err(_) => seeds.map(run).collect(),
    }
}

/// The case of `seed` as an experiment file, for reproducing a failure with `chainsim run`.
pub fn case_file(seed: u64) -> String {
    // Written with the loader's extensions, so `Pbft(replicas: 4, ...)` reads back as it loads.
    crate::load::ron_options()
        .to_string_pretty(&case(seed), ron::ser::PrettyConfig::default())
        .unwrap_or_else(|e| format!("(cannot print the case: {e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_valid_and_reproducible() {
        for seed in 0..50 {
            let case = case(seed);
            case.validate().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert_eq!(case, super::case(seed));
        }
        assert_ne!(case(1), case(2));
    }

    #[test]
    fn a_printed_case_loads_back_as_the_same_experiment() {
        let dir = tempfile::tempdir().unwrap();
        for seed in 0..20 {
            let path = dir.path().join(format!("case-{seed}.ron"));
            std::fs::write(&path, case_file(seed)).unwrap();
            let loaded = crate::load(&path, &[]).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", case_file(seed)));
            assert_eq!(loaded.experiment, case(seed), "seed {seed}");
        }
    }
}
