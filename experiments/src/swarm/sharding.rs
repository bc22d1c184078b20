//! Sharding swarm cases: a few shards of 4 or 7 replicas, a contended workload (few accounts, low
//! balances), any of the three mechanisms, no-wait or wait-die locks, and faults: up to f replicas of each shard crash (or
//! one replica index of every shard goes silent or equivocates), a client, which coordinates its
//! own two-phase commits in `TwoPhaseClient`, may crash, and loss and healing partitions as for
//! PBFT. Clients stop issuing halfway; the second half drains what was begun.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{Outcome, count, millis, network, network_faults, nonzero};
use crate::experiment::{Experiment, ProtocolConfig, StopConfig};
use crate::runner::RunRecord;
use models::pbft::{Behaviour, ByzantineConfig, Load, PbftConfig};
use models::sharding::{Assignment, Locking, Mechanism, Sharding, ShardingConfig};
use simulator::config::{CrashConfig, FaultsConfig};
use simulator::rng::{GLOBAL, Purpose, stream};
use simulator::{MetricValue, SimDuration};

/// Simulated time of every sharding swarm run; clients issue during the first half.
const RUN_TIME: SimDuration = SimDuration::from_secs(8);

/// Crashes of up to f replicas in each of `shards` committees of `committee`, or one replica index
/// misbehaving in every committee.
fn replica_faults(rng: &mut ChaCha8Rng, shards: u32, committee: u32) -> (Vec<CrashConfig>, Vec<ByzantineConfig>) {
    let f = (committee - 1) / 3;
    if rng.random_bool(0.25) {
        let behaviour = if rng.random_bool(0.5) { Behaviour::Silent } else { Behaviour::Equivocate };
        let replica = rng.random_range(0..committee);
        return (Vec::new(), vec![ByzantineConfig { replica, behaviour, from: millis(rng, 0, 2_500) }]);
    }
    let mut crashes = Vec::new();
    for shard in 0..shards {
        let mut members: Vec<u32> = (0..committee).collect();
        for _ in 0..rng.random_range(0..=f) {
            let replica = members.swap_remove(rng.random_range(0..members.len()));
            let at = millis(rng, 0, 2_500);
            let recover = rng.random_bool(0.5).then(|| at + millis(rng, 100, 1_000));
            crashes.push(CrashConfig { node: shard * committee + replica, at, recover });
        }
    }
    (crashes, Vec::new())
}

/// The sharding experiment of swarm seed `seed`.
pub(super) fn case(seed: u64) -> Experiment {
    let mut rng = stream(seed, Purpose::Workload, GLOBAL);
    let shards = rng.random_range(2..=4);
    let committee = if rng.random_bool(0.75) { 4 } else { 7 };
    let clients = rng.random_range(1..=4);
    let nodes = shards * committee + clients;
    let mechanism = [Mechanism::TwoPhaseShard, Mechanism::TwoPhaseClient, Mechanism::Relay][rng.random_range(0..3)];
    let (mut crashes, byzantine) = replica_faults(&mut rng, shards, committee);
    if rng.random_bool(0.3) {
        let client = shards * committee + rng.random_range(0..clients);
        crashes.push(CrashConfig { node: client, at: millis(&mut rng, 0, 2_500), recover: None });
    }
    let (partitions, loss) = network_faults(&mut rng, nodes);
    let load = if rng.random_bool(0.5) {
        Load::Closed { window: rng.random_range(1..=6) }
    } else {
        Load::Open { rate: rng.random_range(5.0..60.0) }
    };
    let cross_shard_ratio = rng.random_bool(0.3).then(|| rng.random_range(0.0..=1.0));
    let protocol = ShardingConfig {
        shards,
        committee,
        accounts: rng.random_range(40..=200),
        balance: rng.random_range(50..=500),
        amount: rng.random_range(1..=20),
        // Forced ratios draw receivers within a shard: ranges give every shard its share.
        assignment: if cross_shard_ratio.is_some() { Assignment::Range } else { Assignment::Hash },
        accounts_per_tx: rng.random_range(2..=3),
        skew: if rng.random_bool(0.3) { rng.random_range(0.5..1.5) } else { 0.0 },
        cross_shard_ratio,
        load,
        mechanism,
        locking: if rng.random_bool(0.5) { Locking::WaitDie } else { Locking::NoWait },
        vote_timeout: millis(&mut rng, 200, 800),
        recovery_after: millis(&mut rng, 500, 1_500),
        drain: SimDuration(RUN_TIME.0 / 2),
        consensus: PbftConfig {
            batch_size: rng.random_range(1..=20),
            batch_timeout: millis(&mut rng, 1, 10),
            in_flight: rng.random_range(1..=4),
            checkpoint_interval: [2, 4, 8, 16][rng.random_range(0..4)],
            persist: rng.random_bool(0.3),
            view_change_timeout: millis(&mut rng, 50, 400),
            client_timeout: millis(&mut rng, 100, 800),
            byzantine,
            ..PbftConfig::default()
        },
        ..ShardingConfig::default()
    };
    Experiment {
        name: format!("sharding-swarm-{seed}"),
        description: format!("Sharding fault swarm case of seed {seed}"),
        label: String::new(),
        seed,
        stop: StopConfig { time: Some(RUN_TIME), ..StopConfig::default() },
        network: network(&mut rng, nodes, loss, FaultsConfig { partitions, crashes }),
        protocol: ProtocolConfig::new::<Sharding>(protocol),
        replicates: 1,
        sweep: Vec::new(),
        zip: Vec::new(),
        plots: Vec::new(),
    }
}

/// What a sharding case showed: atomicity, conservation, double spends and per-shard PBFT
/// safety must hold; it was live if no lock was held and no value was in flight after the drain
/// (transactions a crashed client issued and no shard heard of stay unfinished, rightly).
pub(super) fn outcome(seed: u64, record: &RunRecord) -> Outcome {
    let shards = record.report.detail["shards"].as_array().cloned().unwrap_or_default();
    Outcome {
        seed,
        violations: nonzero(
            record,
            &["atomicity_violations", "conservation_violations", "double_spends", "safety_violations"],
        ),
        live_at_end: count(record, "locks_held_at_end") == 0
            && record.report.metric("value_in_flight").and_then(MetricValue::as_f64) == Some(0.0),
        view_changes: shards.iter().filter(|s| s["highest_view"].as_u64().is_some_and(|v| v > 0)).count() as u64,
    }
}
