//! Seeded fault swarms: every seed draws a small network, a workload and a random fault schedule
//! within the protocol's tolerance, runs it, and checks what must never happen (correct replicas
//! disagreeing; for sharding also broken atomicity or conservation and double spends; for a
//! bridge, a breach of conservation). A failing
//! seed is reproduced by running that seed alone, or by running the experiment file
//! [`case_file`] prints.

mod bridge;
mod pbft;
mod sharding;

use std::path::PathBuf;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::experiment::Experiment;
use crate::load::LoadedExperiment;
use crate::runner::{RunRecord, RunSpec, execute};
use simulator::config::{
    BandwidthConfig, Contention, FaultsConfig, LatencyConfig, NetworkConfig, NodeSet, PartitionConfig, TopologyConfig,
};
use simulator::units::Bandwidth;
use simulator::{MetricValue, SimDuration};

/// Simulated time of every swarm run.
const RUN_TIME: SimDuration = SimDuration::from_secs(4);

/// The protocol a swarm exercises.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// One PBFT group.
    Pbft,
    /// Sharded PBFT committees with cross-shard transfers.
    Sharding,
    /// A bridge between two chains.
    Bridge,
}

impl Subject {
    /// Every subject, by its name on the command line.
    pub const ALL: [(&'static str, Subject); 3] =
        [("Pbft", Subject::Pbft), ("Sharding", Subject::Sharding), ("Bridge", Subject::Bridge)];

    /// Its name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, s)| *s == self).map_or("", |(name, _)| name)
    }

    /// The experiment of swarm seed `seed`.
    pub fn case(self, seed: u64) -> Experiment {
        match self {
            Subject::Pbft => pbft::case(seed),
            Subject::Sharding => sharding::case(seed),
            Subject::Bridge => bridge::case(seed),
        }
    }

    /// What a live run showed at its end, in words.
    pub fn live(self) -> &'static str {
        match self {
            Subject::Pbft => "clients served in the last second",
            Subject::Sharding => "no lock held and no value in flight after the drain",
            Subject::Bridge => "no transfer unfinished at the end",
        }
    }

    /// The file name (without extension) of the case of `seed`.
    pub fn case_name(self, seed: u64) -> String {
        format!("{}-swarm-{seed}", self.name().to_lowercase())
    }
}

/// What one swarm case showed.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// The checks that failed, with their counts (empty when every check held).
    pub violations: Vec<(&'static str, u64)>,
    /// Whether the run was still making progress at its end (PBFT: clients served in the last
    /// second; sharding: no lock held and no value in flight after the drain).
    pub live_at_end: bool,
    /// Views installed after view 0 (summed over groups).
    pub view_changes: u64,
}

impl Outcome {
    /// The failed checks in words, e.g. "2 atomicity_violations".
    pub fn describe(&self) -> String {
        self.violations.iter().map(|(name, n)| format!("{n} {name}")).collect::<Vec<_>>().join(", ")
    }
}

/// The count metric `name` of a run (0 when absent).
fn count(record: &RunRecord, name: &str) -> u64 {
    match record.report.metric(name) {
        Some(MetricValue::Count(c)) => c,
        _ => 0,
    }
}

/// The nonzero counts among `names`.
fn nonzero(record: &RunRecord, names: &[&'static str]) -> Vec<(&'static str, u64)> {
    names.iter().map(|&name| (name, count(record, name))).filter(|&(_, n)| n > 0).collect()
}

fn millis(rng: &mut ChaCha8Rng, low: u64, high: u64) -> SimDuration {
    SimDuration::from_millis(rng.random_range(low..=high))
}

/// A partition of a random range of nodes that heals (30 % of cases) and a message loss rate
/// below 5 % (30 % of cases).
fn network_faults(rng: &mut ChaCha8Rng, nodes: u32) -> (Vec<PartitionConfig>, f64) {
    let mut partitions = Vec::new();
    if rng.random_bool(0.3) {
        let from = millis(rng, 0, 2_500);
        let until = Some(from + millis(rng, 50, 1_000));
        let size = rng.random_range(1..nodes);
        let start = rng.random_range(0..=nodes - size);
        partitions.push(PartitionConfig { from, until, nodes: NodeSet::Range(start, start + size) });
    }
    let loss = if rng.random_bool(0.3) { rng.random_range(0.0..0.05) } else { 0.0 };
    (partitions, loss)
}

/// A complete graph of `nodes` nodes with 100 Mbps links shared fairly, per-message latencies
/// from a random range (which reorders messages between the same pair of nodes), `loss` and
/// `faults`.
fn network(rng: &mut ChaCha8Rng, nodes: u32, loss: f64, faults: FaultsConfig) -> NetworkConfig {
    let mbps = Bandwidth::BitsPerSec(100_000_000);
    NetworkConfig {
        nodes,
        topology: TopologyConfig::Complete,
        bandwidth: BandwidthConfig { upload: mbps, download: mbps },
        contention: Contention::FairShare,
        unqueued_up_to: Default::default(),
        latency: LatencyConfig::Uniform { min: millis(rng, 1, 5), max: millis(rng, 6, 40) },
        loss,
        link_loss: Vec::new(),
        cpu: Default::default(),
        disk: Default::default(),
        faults,
        roles: Vec::new(),
    }
}

/// Runs swarm seed `seed` of `subject`; an error describes a case that could not run.
pub fn run(subject: Subject, seed: u64) -> Result<Outcome, String> {
    let experiment = subject.case(seed);
    experiment.validate().map_err(|e| format!("seed {seed}: generated an invalid case: {e}"))?;
    let loaded = LoadedExperiment::single(experiment, PathBuf::from("."));
    let record = execute(&loaded, &RunSpec::new(seed, 0, 0)).map_err(|e| format!("seed {seed}: {e}"))?;
    Ok(match subject {
        Subject::Pbft => pbft::outcome(seed, &record),
        Subject::Sharding => sharding::outcome(seed, &record),
        Subject::Bridge => bridge::outcome(seed, &record),
    })
}

/// Runs every seed of `seeds` on `jobs` threads; outcomes in seed order.
pub fn run_range(subject: Subject, seeds: std::ops::Range<u64>, jobs: usize) -> Vec<Result<Outcome, String>> {
    use rayon::prelude::*;
    match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(pool) => pool.install(|| seeds.into_par_iter().map(|seed| run(subject, seed)).collect()),
        Err(_) => seeds.map(|seed| run(subject, seed)).collect(),
    }
}

/// The case of `seed` as an experiment file, for reproducing a failure with `chainsim run`.
pub fn case_file(subject: Subject, seed: u64) -> String {
    // Written with the loader's extensions, so `Pbft(replicas: 4, ...)` reads back as it loads.
    crate::load::ron_options()
        .to_string_pretty(&subject.case(seed), ron::ser::PrettyConfig::default())
        .unwrap_or_else(|e| format!("(cannot print the case: {e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_valid_and_reproducible() {
        for (_, subject) in Subject::ALL {
            for seed in 0..50 {
                let case = subject.case(seed);
                case.validate().unwrap_or_else(|e| panic!("{subject:?} seed {seed}: {e}"));
                assert_eq!(case, subject.case(seed));
            }
            assert_ne!(subject.case(1), subject.case(2));
        }
    }

    #[test]
    fn a_printed_case_loads_back_as_the_same_experiment() {
        let dir = tempfile::tempdir().unwrap();
        for (_, subject) in Subject::ALL {
            for seed in 0..20 {
                let path = dir.path().join(format!("{}.ron", subject.case_name(seed)));
                let text = case_file(subject, seed);
                std::fs::write(&path, &text).unwrap();
                let loaded = crate::load(&path, &[]).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
                assert_eq!(loaded.experiment, subject.case(seed), "{subject:?} seed {seed}");
            }
        }
    }
}
