//! PBFT swarm cases: a small network, a workload and a random fault schedule within the
//! protocol's tolerance (at most f replicas crash, go silent or equivocate; any amount of message
//! loss, reordering and healing partitions).

use rand::RngExt;

use super::{Outcome, RUN_TIME, count, millis, network, network_faults, nonzero};
use crate::experiment::{Experiment, ProtocolConfig, StopConfig};
use crate::runner::RunRecord;
use models::pbft::{Behaviour, ByzantineConfig, ExecutionConfig, Load, PbftConfig};
use simulator::config::{CrashConfig, FaultsConfig};
use simulator::rng::{GLOBAL, Purpose, stream};
use simulator::units::ByteSize;

/// The PBFT experiment of swarm seed `seed`.
pub(super) fn case(seed: u64) -> Experiment {
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
    let (partitions, loss) = network_faults(&mut rng, nodes);

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
    let network = network(&mut rng, nodes, loss, FaultsConfig { partitions, crashes });
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

/// What a PBFT case showed: safety violations, clients served in the last second, views changed.
pub(super) fn outcome(seed: u64, record: &RunRecord) -> Outcome {
    let detail = &record.report.detail;
    let last_second = (RUN_TIME.as_millis_f64() - 1_000.0)..;
    Outcome {
        seed,
        violations: nonzero(record, &["safety_violations"]),
        live_at_end: detail["last_accept_ms"].as_f64().is_some_and(|t| last_second.contains(&t)),
        view_changes: count(record, "view_changes"),
    }
}
