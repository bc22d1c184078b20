//! Sharding end to end on the engine: the exact latency of one transfer under each mechanism,
//! conflicting transfers, value in flight under relay, a coordinator primary crashing mid-commit,
//! the cross-shard fraction and scaling with the shard count.

mod common;

use common::metric;

use models::pbft::{Costs, Load, PbftConfig};
use models::registry::{Registered, Setting};
use models::sharding::{Assignment, Locking, Mechanism, ScriptedTransfer, Sharding, ShardingConfig, Validators};
use simulator::config::{CrashConfig, FaultsConfig, LatencyConfig, LinkLoss, NetworkConfig};
use simulator::roles::{RoleConfig, RoleNodes};
use simulator::{Report, SimDuration, SimTime};

const DELTA: SimDuration = SimDuration::from_millis(10);

/// `nodes` nodes on a complete graph with constant latency δ and no bandwidth limit.
fn network(nodes: u32) -> NetworkConfig {
    common::constant_latency(nodes, DELTA)
}

/// Two shards of 4 over accounts 0..100 by range (0..50 in shard 0), free consensus with batches
/// of one, and `script` as the only transfers.
fn scripted(mechanism: Mechanism, script: Vec<ScriptedTransfer>) -> ShardingConfig {
    ShardingConfig {
        shards: 2,
        accounts: 100,
        balance: 1_000,
        assignment: Assignment::Range,
        mechanism,
        script,
        consensus: PbftConfig { batch_size: 1, costs: Costs::free(), ..PbftConfig::default() },
        ..ShardingConfig::default()
    }
}

fn transfer(at: SimDuration, client: u32, accounts: &[u32], amount: u64) -> ScriptedTransfer {
    ScriptedTransfer { at, client, accounts: accounts.to_vec(), amount }
}

fn run(network: &NetworkConfig, config: &ShardingConfig, seed: u64, until: SimDuration) -> (Sharding, Report) {
    common::run::<Sharding>(network, config, seed, until)
}

/// The checkers found nothing and nothing was left undone.
fn assert_clean(report: &Report) {
    for name in
        ["atomicity_violations", "conservation_violations", "double_spends", "locks_held_at_end", "safety_violations"]
    {
        assert_eq!(metric(report, name), 0.0, "{name}");
    }
}

fn delta_times(n: u64) -> SimDuration {
    SimDuration(DELTA.0 * n)
}

/// On an idle system with constant latency δ and free consensus, a PBFT round from the moment a
/// request reaches the primary takes 3δ (PRE-PREPARE, PREPARE, COMMIT), and a call takes δ to
/// reach the primary: an intra-shard transfer finishes at 4δ. Two-phase commit driven by the
/// client: prepare (4δ), votes back (δ), decision (4δ): 9δ. Coordinated by the payer's shard:
/// `Begin` there (4δ), `Prepare` call to the other shard (4δ), votes back (δ), the decision
/// ordered in the coordinator shard (3δ), the decision call (4δ): 16δ. Relay: debit (4δ), credit
/// call (4δ): 8δ. ARCHITECTURE.md derives the same numbers.
#[test]
fn one_transfer_takes_the_documented_rounds_under_each_mechanism() {
    let cases = [(Mechanism::TwoPhaseClient, 9), (Mechanism::TwoPhaseShard, 16), (Mechanism::Relay, 8)];
    for (mechanism, deltas) in cases {
        let config = scripted(mechanism, vec![transfer(SimDuration::ZERO, 0, &[1, 60], 5)]);
        let (sharding, report) = run(&network(9), &config, 1, SimDuration::from_secs(2));
        let txs: Vec<_> = sharding.transactions().collect();
        assert_eq!(txs.len(), 1);
        assert_eq!(txs[0].finished, Some(SimTime::ZERO + delta_times(deltas)), "{mechanism:?}");
        assert_eq!(txs[0].committed, Some(true));
        assert_eq!((sharding.balance(1), sharding.balance(60)), (995, 1_005));
        assert_clean(&report);
    }
    let config = scripted(Mechanism::TwoPhaseShard, vec![transfer(SimDuration::ZERO, 0, &[1, 2], 5)]);
    let (sharding, _) = run(&network(9), &config, 1, SimDuration::from_secs(2));
    let intra = sharding.transactions().next().unwrap();
    assert_eq!((intra.cross_shard, intra.finished), (false, Some(SimTime::ZERO + delta_times(4))));
}

/// Two clients spend from account 1 at once: the first transfer ordered locks it, the other finds
/// it locked and aborts (no-wait); the balances hold what the committed transfer moved.
#[test]
fn conflicting_transfers_commit_one_and_abort_the_other() {
    for mechanism in [Mechanism::TwoPhaseShard, Mechanism::TwoPhaseClient] {
        let script = vec![transfer(SimDuration::ZERO, 0, &[1, 60], 5), transfer(SimDuration::ZERO, 1, &[1, 61], 7)];
        let (sharding, report) = run(&network(10), &scripted(mechanism, script), 2, SimDuration::from_secs(2));
        let outcomes: Vec<Option<bool>> = sharding.transactions().map(|tx| tx.committed).collect();
        assert!(outcomes.contains(&Some(true)) && outcomes.contains(&Some(false)), "{mechanism:?}: {outcomes:?}");
        let paid = if outcomes[0] == Some(true) { 5 } else { 7 };
        assert_eq!(sharding.balance(1), 1_000 - paid);
        assert_eq!(sharding.balance(60) + sharding.balance(61), 2_000 + paid);
        assert_eq!(metric(&report, "abort_rate"), 0.5);
        assert_clean(&report);
    }
}

/// An older transfer (issued first, paying from shard 0 to account 60) reaches shard 1 while a
/// younger one (paying from account 60) holds account 60's lock. No-wait: the older is refused and
/// aborts. Wait-die: being older, it waits until the younger commits, then takes the lock and
/// commits too; balances hold both transfers.
#[test]
fn an_older_transfer_waits_under_wait_die_and_aborts_under_no_wait() {
    let script = vec![transfer(SimDuration::ZERO, 0, &[1, 60], 5), transfer(DELTA, 1, &[60, 2], 7)];
    for (locking, older_commits) in [(Locking::NoWait, false), (Locking::WaitDie, true)] {
        let mut config = scripted(Mechanism::TwoPhaseShard, script.clone());
        config.locking = locking;
        let (sharding, report) = run(&network(10), &config, 8, SimDuration::from_secs(2));
        let [older, younger] = sharding.transactions().collect::<Vec<_>>()[..] else { panic!("two transfers") };
        assert_eq!((older.committed, younger.committed), (Some(older_commits), Some(true)), "{locking:?}");
        let older_paid = if older_commits { 5 } else { 0 };
        assert_eq!(
            [1, 60, 2].map(|a| sharding.balance(a)),
            [1_000 - older_paid, 1_000 + older_paid - 7, 1_007],
            "{locking:?}"
        );
        if older_commits {
            // It waited for the younger transfer's decision at shard 1 before it could vote.
            assert!(older.finished > younger.finished, "{older:?} {younger:?}");
        }
        assert_clean(&report);
    }
}

/// Committees taken from a role per shard, anywhere among the nodes: the other nodes are the
/// clients. A role named for two shards is refused.
#[test]
fn committees_can_be_a_role_per_shard() {
    let role = RoleConfig::new;
    let mut network = network(14);
    network.roles = vec![role("near", RoleNodes::Range(0, 4)), role("far", RoleNodes::Nodes(vec![8, 9, 10, 11]))];
    let mut config = scripted(Mechanism::TwoPhaseShard, vec![transfer(SimDuration::ZERO, 5, &[1, 60], 5)]);
    config.validators = Some(Validators::PerShard(vec!["near".into(), "far".into()]));
    // Clients are nodes 4..8, 12 and 13: client 5 is node 12.
    let (sharding, report) = run(&network, &config, 9, SimDuration::from_secs(1));
    assert_eq!(sharding.transactions().next().unwrap().finished, Some(SimTime::ZERO + delta_times(16)));
    assert_clean(&report);

    config.validators = Some(Validators::PerShard(vec!["near".into(), "near".into()]));
    let setting = Setting { network: &network, stop_time: Some(SimDuration::from_secs(1)) };
    let error = Sharding::validate(&config, &setting).unwrap_err();
    assert_eq!(error.path, "protocol.validators");
    assert!(error.message.contains("node 0 is in two committees"), "{}", error.message);
}

/// Outcomes lost on the way to a closed-loop client: it asks the shard again after a client
/// timeout, so its window does not fill with transfers long finished.
#[test]
fn a_client_that_misses_outcomes_asks_again() {
    for mechanism in [Mechanism::TwoPhaseShard, Mechanism::Relay] {
        let mut network = network(9);
        // Half of what passes between the client (node 8) and shard 0's replicas is lost.
        network.link_loss = (0..4).map(|replica| LinkLoss { a: 8, b: replica, probability: 0.5 }).collect();
        let config = ShardingConfig {
            shards: 2,
            mechanism,
            assignment: Assignment::Range,
            accounts: 100,
            cross_shard_ratio: Some(1.0),
            load: Load::Closed { window: 1 },
            consensus: PbftConfig {
                costs: Costs::free(),
                client_timeout: SimDuration::from_millis(200),
                ..PbftConfig::default()
            },
            ..ShardingConfig::default()
        };
        let (sharding, report) = run(&network, &config, 10, SimDuration::from_secs(4));
        let issued = sharding.transactions().count();
        // One at a time, about 0.2-0.4 s each with the losses and resends.
        assert!(issued >= 8, "{mechanism:?}: the client issued {issued} transfers");
        assert!(
            sharding
                .transactions()
                .filter(|tx| tx.issued < SimTime::ZERO + SimDuration::from_secs(2))
                .all(|tx| tx.finished.is_some()),
            "{mechanism:?}"
        );
        assert_eq!(metric(&report, "atomicity_violations"), 0.0);
    }
}

/// A relay transfer cut off between its debit (4δ) and its credit (8δ): the value is in flight,
/// counted, and conservation holds with it.
#[test]
fn relay_counts_value_in_flight() {
    let config = scripted(Mechanism::Relay, vec![transfer(SimDuration::ZERO, 0, &[1, 60, 70], 5)]);
    let (sharding, report) = run(&network(9), &config, 3, delta_times(6));
    assert_eq!(metric(&report, "value_in_flight"), 10.0);
    assert_eq!(metric(&report, "conservation_violations"), 0.0);
    assert_eq!(metric(&report, "unfinished"), 1.0);
    assert_eq!((sharding.balance(1), sharding.balance(60), sharding.balance(70)), (990, 1_000, 1_000));
    let (finished, report) = run(&network(9), &config, 3, SimDuration::from_secs(1));
    assert_eq!(metric(&report, "value_in_flight"), 0.0);
    assert_eq!((finished.balance(60), finished.balance(70)), (1_005, 1_005));
    assert_clean(&report);
}

/// The coordinator shard's primary crashes after its shard prepared and asked the other shard to
/// prepare: the other replicas change view, the new primary orders the decision, and the
/// transfer commits everywhere; no lock is held at the end.
#[test]
fn a_coordinator_primary_crashing_after_prepare_leaves_no_lock_held() {
    let mut network = network(9);
    network.faults = FaultsConfig {
        partitions: Vec::new(),
        crashes: vec![CrashConfig { node: 0, at: delta_times(5), recover: None }],
    };
    let config = scripted(Mechanism::TwoPhaseShard, vec![transfer(SimDuration::ZERO, 0, &[1, 60], 5)]);
    let (sharding, report) = run(&network, &config, 4, SimDuration::from_secs(3));
    let tx = sharding.transactions().next().unwrap();
    assert_eq!(tx.committed, Some(true));
    assert!(tx.finished.unwrap() > SimTime::ZERO + config.consensus.view_change_timeout, "{tx:?}");
    assert_eq!((sharding.balance(1), sharding.balance(60)), (995, 1_005));
    assert_clean(&report);
}

/// The client driving a two-phase commit crashes once both shards prepared: after
/// `recovery_after`, the shards holding its locks ask each other to resolve, find both votes yes,
/// and commit in its stead.
#[test]
fn a_client_coordinator_crashing_after_prepare_leaves_no_lock_held() {
    let mut network = network(9);
    network.faults.crashes = vec![CrashConfig { node: 8, at: delta_times(2), recover: None }];
    let mut config = scripted(Mechanism::TwoPhaseClient, vec![transfer(SimDuration::ZERO, 0, &[1, 60], 5)]);
    config.recovery_after = SimDuration::from_secs(1);
    let (sharding, report) = run(&network, &config, 7, SimDuration::from_secs(3));
    let tx = sharding.transactions().next().unwrap();
    assert_eq!(tx.committed, Some(true));
    assert!(tx.finished.unwrap() > SimTime::ZERO + config.recovery_after, "{tx:?}");
    assert_eq!((sharding.balance(1), sharding.balance(60)), (995, 1_005));
    assert_clean(&report);
}

/// Uniform two-account transfers cross shards with probability 1 − 1/k.
#[test]
fn the_cross_shard_fraction_is_one_minus_one_over_k() {
    for shards in [2, 4, 16] {
        let config = ShardingConfig {
            shards,
            load: Load::Open { rate: 200.0 },
            drain: SimDuration::from_secs(1),
            consensus: PbftConfig { batch_size: 100, in_flight: 4, costs: Costs::free(), ..PbftConfig::default() },
            ..ShardingConfig::default()
        };
        let (_, report) = run(&network(shards * 4 + 16), &config, 5, SimDuration::from_secs(3));
        let expected = 1.0 - 1.0 / f64::from(shards);
        let seen = metric(&report, "cross_shard_fraction");
        assert!((seen - expected).abs() < 0.02, "k = {shards}: {seen} vs {expected}");
        assert_clean(&report);
    }
}

/// Without cross-shard transactions, shards do not interact: at saturation, 8 shards commit at
/// least 7 times what one does.
#[test]
fn without_cross_shard_transactions_throughput_scales_with_shards() {
    let throughput = |shards: u32| {
        let config = ShardingConfig {
            shards,
            cross_shard_ratio: Some(0.0),
            load: Load::Closed { window: 50 },
            drain: SimDuration::from_millis(300),
            warmup: SimDuration::from_millis(300),
            consensus: PbftConfig {
                batch_size: 50,
                costs: Costs { execute: SimDuration::from_micros(200), ..Costs::default() },
                ..PbftConfig::default()
            },
            ..ShardingConfig::default()
        };
        let mut network = network(shards * 4 + 2 * shards);
        network.latency = LatencyConfig::Constant(SimDuration::from_millis(2));
        let (_, report) = run(&network, &config, 6, SimDuration::from_secs(1));
        assert_clean(&report);
        metric(&report, "throughput_tps")
    };
    let (one, eight) = (throughput(1), throughput(8));
    assert!(eight >= 7.0 * one, "k = 1: {one} tps, k = 8: {eight} tps");
}
