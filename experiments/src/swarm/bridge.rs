//! Bridge swarm cases: small main and side chains with short slots (or a side chain run by a
//! PBFT group of 4 or 7), a validator bridge (random n and threshold m) or a light client, and
//! faults within the trust assumption: fewer than m colluders forging a deposit, validators,
//! relayers and users crashing (and perhaps returning), at most f side replicas crashing, a
//! reorganisation of the main chain no deeper than the confirmations, loss and healing
//! partitions. Users stop issuing halfway.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{Outcome, count, millis, network, network_faults, nonzero};
use crate::experiment::{Experiment, ProtocolConfig, StopConfig};
use crate::runner::RunRecord;
use models::bridge::{Bridge, BridgeConfig, Reorg, SideConsensus, Trust};
use models::chain::{BftChainConfig, ChainConfig};
use models::pbft::PbftConfig;
use simulator::config::{CrashConfig, FaultsConfig};
use simulator::rng::{GLOBAL, Purpose, stream};
use simulator::roles::{RoleConfig, RoleNodes};
use simulator::{NodeId, SimDuration};

/// Simulated time of every bridge swarm run; users issue during the first half.
const RUN_TIME: SimDuration = SimDuration::from_secs(180);

fn secs(rng: &mut ChaCha8Rng, low: u64, high: u64) -> SimDuration {
    SimDuration::from_secs(rng.random_range(low..=high))
}

/// Crashes of random nodes of `nodes`, each perhaps returning.
fn crashes(rng: &mut ChaCha8Rng, nodes: std::ops::Range<NodeId>, most: usize) -> Vec<CrashConfig> {
    let mut left: Vec<NodeId> = nodes.collect();
    let mut crashes = Vec::new();
    for _ in 0..rng.random_range(0..=most.min(left.len())) {
        let node = left.swap_remove(rng.random_range(0..left.len()));
        let at = secs(rng, 1, 80);
        let recover = rng.random_bool(0.6).then(|| at + secs(rng, 5, 60));
        crashes.push(CrashConfig { node, at, recover });
    }
    crashes
}

/// The bridge experiment of swarm seed `seed`.
pub(super) fn case(seed: u64) -> Experiment {
    let mut rng = stream(seed, Purpose::Workload, GLOBAL);
    let pbft = rng.random_bool(0.3);
    let main = rng.random_range(2..=5u32);
    let side = if pbft { [4, 7][rng.random_range(0..2)] } else { rng.random_range(2..=4u32) };
    let trust = if rng.random_bool(0.7) { Trust::Validators } else { Trust::LightClient };
    let validators = if trust == Trust::Validators { rng.random_range(1..=9u32) } else { 0 };
    let threshold = rng.random_range(1..=validators.max(1));
    let relayers = rng.random_range(1..=2u32);
    let users = rng.random_range(2..=4u32);
    let first_validator = main + side;
    let first_relayer = first_validator + validators;
    let nodes = first_relayer + relayers + users;
    let mut roles = vec![
        RoleConfig::new("main", RoleNodes::Range(0, main)),
        RoleConfig::new("side", RoleNodes::Range(main, first_validator)),
        RoleConfig::new("relayers", RoleNodes::Range(first_relayer, first_relayer + relayers)),
    ];
    if validators > 0 {
        roles.push(RoleConfig::new("bridge", RoleNodes::Range(first_validator, first_relayer)));
    }
    let mut crashed = crashes(&mut rng, first_validator..first_relayer, validators as usize);
    if pbft {
        crashed.extend(crashes(&mut rng, main..first_validator, ((side - 1) / 3) as usize));
    }
    crashed.extend(crashes(&mut rng, first_relayer..first_relayer + relayers, 1));
    crashed.extend(crashes(&mut rng, first_relayer + relayers..nodes, 1));
    let (partitions, loss) = network_faults(&mut rng, nodes);
    let chain = |rng: &mut ChaCha8Rng, slot_ms: (u64, u64)| ChainConfig {
        slot: millis(rng, slot_ms.0, slot_ms.1),
        finality_slots: rng.random_range(2..=8),
        mesh_degree: rng.random_range(2..=8),
        ..ChainConfig::default()
    };
    let confirmations = rng.random_range(0..=6);
    let finality = rng.random_bool(0.15);
    let colluders = if validators > 0 && rng.random_bool(0.3) { rng.random_range(1..=threshold) - 1 } else { 0 };
    let (side_chain, side_consensus) = if pbft {
        let consensus = PbftConfig { batch_size: rng.random_range(1..=10), ..PbftConfig::default() };
        let bft = BftChainConfig { block_interval: millis(&mut rng, 300, 1_500), consensus };
        (BridgeConfig::default().side_chain, SideConsensus::Pbft(Box::new(bft)))
    } else {
        (chain(&mut rng, (300, 1_500)), SideConsensus::Slots)
    };
    let protocol = BridgeConfig {
        main_chain: chain(&mut rng, (800, 3_000)),
        side_chain,
        side_consensus,
        trust,
        threshold,
        confirmations,
        side_confirmations: rng.random_range(0..=4),
        finality,
        resend: secs(&mut rng, 2, 15),
        packet_timeout: secs(&mut rng, 10, 60),
        withdraw_limit: rng
            .random_bool(0.2)
            .then(|| models::bridge::Limit { value: rng.random_range(100..=2_000), period: secs(&mut rng, 2, 20) }),
        rate: rng.random_range(0.5..8.0),
        withdraw_share: rng.random_range(0.0..0.6),
        amount: (1, rng.random_range(1..=500)),
        drain: SimDuration(RUN_TIME.0 / 2),
        colluders,
        forge_at: (colluders > 0).then(|| secs(&mut rng, 10, 80)),
        forge_value: None,
        // No deeper than the confirmations (and none that reverts a final block): within the
        // assumption.
        reorg: (confirmations > 0 && !finality && rng.random_bool(0.3)).then(|| Reorg {
            at: secs(&mut rng, 5, 60),
            depth: rng.random_range(1..=confirmations),
            value: rng.random_range(1..=1_000),
        }),
        ..BridgeConfig::default()
    };
    let mut network = network(&mut rng, nodes, loss, FaultsConfig { partitions, crashes: crashed });
    network.roles = roles;
    Experiment {
        name: format!("bridge-swarm-{seed}"),
        description: format!("Bridge fault swarm case of seed {seed}"),
        label: String::new(),
        seed,
        stop: StopConfig { time: Some(RUN_TIME), ..StopConfig::default() },
        network,
        protocol: ProtocolConfig::new::<Bridge>(protocol),
        replicates: 1,
        sweep: Vec::new(),
        zip: Vec::new(),
        plots: Vec::new(),
    }
}

/// What a bridge case showed: the conservation checker and a PBFT side chain's safety checker
/// must find nothing; it was live if no measured transfer was left unfinished (crashes that
/// never return may rightly stall some).
pub(super) fn outcome(seed: u64, record: &RunRecord) -> Outcome {
    let mut violations = nonzero(record, &["conservation_violations"]);
    let forks = record.report.detail["side_safety_violations"].as_u64().unwrap_or(0);
    if forks > 0 {
        violations.push(("side_safety_violations", forks));
    }
    Outcome { seed, violations, live_at_end: count(record, "stalled_transfers") == 0, view_changes: 0 }
}
