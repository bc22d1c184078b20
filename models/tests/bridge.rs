//! The bridge end to end on the engine: a deposit's latency on an idle system to the
//! nanosecond, colluding validators below and at the threshold, a main-chain reorganisation
//! deeper and shallower than the confirmations, validators offline, and light-client packets
//! that time out and are refunded.

mod common;

use common::metric;

use models::bridge::{
    Breach, Bridge, BridgeConfig, Direction, MAIN, Reorg, SIDE, Scripted, SideConsensus, Transfer, Trust,
};
use models::chain::{BftChainConfig, ChainConfig};
use models::pbft::{Costs, PbftConfig};
use simulator::config::{CrashConfig, NetworkConfig};
use simulator::roles::{RoleConfig, RoleNodes};
use simulator::{Report, SimDuration, SimTime};

const DELTA: SimDuration = SimDuration::from_millis(10);
const MAIN_SLOT: SimDuration = SimDuration::from_secs(12);
const SIDE_SLOT: SimDuration = SimDuration::from_secs(2);
/// Bridge validators are nodes 8..13.
const VALIDATORS: std::ops::Range<u32> = 8..13;
const RELAYER: u32 = 13;

/// Four main-chain validators (0..4), four side-chain validators (4..8), five bridge validators
/// (8..13), a relayer (13) and two users (14, 15), with constant latency δ, one core each.
fn network() -> NetworkConfig {
    let mut network = common::constant_latency(16, DELTA);
    network.roles = vec![
        RoleConfig::new("main", RoleNodes::Range(0, 4)),
        RoleConfig::new("side", RoleNodes::Range(4, 8)),
        RoleConfig::new("bridge", RoleNodes::Range(VALIDATORS.start, VALIDATORS.end)),
        RoleConfig::new("relayers", RoleNodes::Nodes(vec![RELAYER])),
    ];
    network
}

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// Threshold 3 of 5, two confirmations on the main chain, one on the side chain, both chains'
/// meshes complete, no random transfers: only `script`.
fn config(script: Vec<Scripted>) -> BridgeConfig {
    let chain = |slot| ChainConfig { slot, mesh_degree: 32, ..ChainConfig::default() };
    BridgeConfig {
        main_chain: chain(MAIN_SLOT),
        side_chain: chain(SIDE_SLOT),
        threshold: 3,
        confirmations: 2,
        side_confirmations: 1,
        rate: 0.0,
        transfers: script,
        ..BridgeConfig::default()
    }
}

fn deposit(at: u64, amount: u64) -> Scripted {
    Scripted { at: secs(at), kind: Direction::Deposit, amount }
}

fn run(network: &NetworkConfig, config: &BridgeConfig, until: SimDuration) -> (Bridge, Report) {
    common::run::<Bridge>(network, config, 3, until)
}

/// The first slot start of `slot` length at or after `t`.
fn next_slot(t: SimTime, slot: SimDuration) -> SimTime {
    SimTime(t.0.div_ceil(slot.0) * slot.0)
}

fn paid_at(t: &Transfer) -> SimTime {
    t.completed.expect("paid out").0
}

/// On an idle system the lock enters the first main slot after the user's transaction reaches
/// the validators (2δ: to the entry validator, then its mesh); validators hold the k-th block on
/// top δ after it is built, sign, and their signatures reach the relayer δ later; the relayer
/// verifies m of them one after another on its core and sends the mint, which reaches the side
/// proposers δ later and enters the next side slot.
#[test]
fn an_idle_deposit_takes_k_slots_and_the_message_and_signing_delays_exactly() {
    let config = config(vec![deposit(1, 100)]);
    let (bridge, report) = run(&network(), &config, secs(120));
    let issued = SimTime::ZERO + secs(1);
    let lock_block = next_slot(issued + DELTA + DELTA, MAIN_SLOT);
    let mint_sent = lock_block
        + SimDuration(MAIN_SLOT.0 * u64::from(config.confirmations))
        + DELTA
        + config.sign
        + DELTA
        + SimDuration(config.verify.0 * u64::from(config.threshold));
    let minted = next_slot(mint_sent + DELTA, SIDE_SLOT);

    let transfer = &bridge.transfers()[0];
    assert_eq!(transfer.source.map(|(_, time)| time), Some(lock_block));
    let mint = bridge.chains().txs(SIDE).iter().find(|tx| tx.payload.is_some()).expect("a mint");
    assert_eq!(mint.submitted, mint_sent);
    assert_eq!(paid_at(transfer), minted);
    assert_eq!(metric(&report, "deposit_latency_p50_s"), minted.since(issued).as_secs_f64());
    assert_eq!(metric(&report, "conservation_violations"), 0.0);
    assert_eq!(bridge.ledger().balances.locked, 100);
    assert_eq!(bridge.ledger().balances.minted, 100);
}

/// A withdrawal of what a deposit minted is released on the main chain; the escrow empties.
#[test]
fn a_withdrawal_releases_what_the_deposit_locked() {
    let mut config = config(vec![deposit(1, 100), Scripted { at: secs(60), kind: Direction::Withdrawal, amount: 40 }]);
    config.warmup = SimDuration::ZERO;
    let (bridge, report) = run(&network(), &config, secs(180));
    let withdrawal = &bridge.transfers()[1];
    assert!(withdrawal.completed.is_some(), "released");
    let balances = bridge.ledger().balances;
    assert_eq!((balances.locked, balances.minted, balances.in_flight), (60, 60, 0));
    assert!(metric(&report, "withdraw_latency_p50_s") > 0.0);
    assert_eq!(metric(&report, "conservation_violations"), 0.0);
}

/// m − 1 colluders sign a deposit that never happened: the side chain refuses it. m colluders
/// mint it, the checker reports the forged value at the mint, and their withdrawal of it
/// drains the escrow.
#[test]
fn colluders_below_the_threshold_never_mint_and_at_it_forge_and_drain() {
    let forge_at = secs(60);
    for colluders in [2, 3] {
        let config = BridgeConfig {
            colluders,
            forge_at: Some(forge_at),
            forge_value: Some(70),
            ..config(vec![deposit(1, 100)])
        };
        let (bridge, report) = run(&network(), &config, secs(240));
        let forged = bridge.transfers().iter().find(|t| t.forged).expect("a forgery");
        let violations = &bridge.ledger().checker.violations;
        if colluders < config.threshold {
            assert!(forged.completed.is_none(), "never minted");
            assert!(violations.is_empty(), "{violations:?}");
            assert_eq!(metric(&report, "forged_value"), 0.0);
            assert!(metric(&report, "refused_calls") >= 1.0, "the forged mint was refused");
        } else {
            assert_eq!(violations.len(), 1, "{violations:?}");
            let violation = &violations[0];
            assert_eq!((violation.breach, violation.value), (Breach::ForgedMint, 70));
            assert_eq!(violation.at, paid_at(forged));
            assert_eq!(metric(&report, "forged_value"), 70.0);
            assert_eq!(
                metric(&report, "detection_delay_s"),
                violation.at.since(SimTime::ZERO + forge_at).as_secs_f64()
            );
            // The drain: a real burn of the forged tokens, released from the honest user's lock.
            assert_eq!(bridge.ledger().balances.locked, 30);
            assert_eq!(bridge.ledger().balances.minted, 100);
        }
    }
}

/// The attacker's lock gathers depth − 1 blocks on top, then its branch replaces those `depth`
/// blocks. With fewer confirmations than that the validators attested it: the mint stands on
/// nothing, a `Reorg` breach at the branch. With k ≥ depth nothing was attested, nothing is lost.
#[test]
fn a_reorganisation_deeper_than_the_confirmations_is_a_breach_and_a_shallower_one_costs_nothing() {
    let reorg = Reorg { at: secs(10), depth: 6, value: 500 };
    for confirmations in [5, 6] {
        let config = BridgeConfig { confirmations, reorg: Some(reorg.clone()), ..config(vec![deposit(1, 100)]) };
        let (bridge, report) = run(&network(), &config, secs(300));
        let attack = bridge.transfers().iter().find(|t| t.attack).expect("the attacker's deposit");
        assert!(attack.orphaned);
        let (_, lock_time) = attack.source.expect("locked before the branch");
        let branch = lock_time + SimDuration(MAIN_SLOT.0 * u64::from(reorg.depth) - 1);
        let violations = &bridge.ledger().checker.violations;
        let balances = bridge.ledger().balances;
        if confirmations < reorg.depth {
            assert!(attack.completed.is_some(), "attested and minted");
            assert_eq!(violations.len(), 1, "{violations:?}");
            assert_eq!((violations[0].breach, violations[0].value), (Breach::Reorg, 500));
            assert_eq!(violations[0].at, branch.max(paid_at(attack)));
            assert_eq!(metric(&report, "forged_value"), 500.0);
            assert_eq!(balances.minted, balances.locked + 500);
        } else {
            assert!(attack.completed.is_none(), "never attested");
            assert!(violations.is_empty(), "{violations:?}");
            assert_eq!(metric(&report, "forged_value"), 0.0);
            assert_eq!((balances.locked, balances.minted), (100, 100));
        }
        assert!(bridge.transfers()[0].completed.is_some(), "the honest deposit is unaffected");
    }
}

/// Three of five validators offline (two online, threshold three): a deposit stalls until they
/// return, then completes once, and nothing is lost.
#[test]
fn with_fewer_than_m_validators_online_deposits_stall_then_complete_once() {
    let back = secs(150);
    let mut network = network();
    network.faults.crashes = (8..11).map(|node| CrashConfig { node, at: secs(5), recover: Some(back) }).collect();
    let (bridge, report) = run(&network, &config(vec![deposit(10, 100)]), secs(300));
    let transfer = &bridge.transfers()[0];
    let minted = paid_at(transfer);
    assert!(minted > SimTime::ZERO + back, "stalled while offline: paid at {minted}");
    assert!(minted < SimTime::ZERO + back + secs(40), "resumed after recovery: paid at {minted}");
    assert_eq!(transfer.payouts, 1);
    assert_eq!(metric(&report, "conservation_violations"), 0.0);
    assert_eq!(metric(&report, "stalled_transfers"), 0.0);
    let balances = bridge.ledger().balances;
    assert_eq!((balances.locked, balances.minted, balances.in_flight), (100, 100, 0));
    // Cut off before the validators return, the same deposit is reported unfinished.
    let (_, report) = run(&network, &config(vec![deposit(10, 100)]), secs(140));
    assert_eq!(metric(&report, "stalled_transfers"), 1.0);
    assert_eq!(report.metric("deposit_latency_p50_s"), Some(simulator::MetricValue::Missing));
}

/// Light client, over a slot side chain and over a PBFT one (whose ticks keep headers coming
/// while nothing else is sent): with its relayer up, a packet is received and acknowledged; with
/// the relayer offline it times out and the user's refund returns the lock. Never both.
#[test]
fn a_light_client_packet_without_relayers_times_out_and_is_refunded_never_both() {
    let timeout = secs(90);
    for side_consensus in [SideConsensus::Slots, pbft_side(secs(1))] {
        let config = BridgeConfig {
            trust: Trust::LightClient,
            packet_timeout: timeout,
            ..with_side(side_consensus, config(vec![deposit(1, 100)]))
        };
        let (bridge, report) = run(&network(), &config, secs(300));
        let transfer = &bridge.transfers()[0];
        assert!(transfer.completed.is_some() && transfer.acknowledged && transfer.refunded.is_none());
        assert_eq!(metric(&report, "refunded_transfers"), 0.0);

        let mut offline = network();
        offline.faults.crashes = vec![CrashConfig { node: RELAYER, at: SimDuration::from_millis(1), recover: None }];
        let (bridge, report) = run(&offline, &config, secs(300));
        let transfer = &bridge.transfers()[0];
        assert!(transfer.completed.is_none(), "nobody relayed it");
        let (_, lock_time) = transfer.source.expect("locked");
        let refunded = transfer.refunded.expect("refunded");
        assert!(refunded >= lock_time + timeout, "not before the timeout");
        assert_eq!(metric(&report, "refunded_transfers"), 1.0);
        assert_eq!(metric(&report, "conservation_violations"), 0.0);
        let balances = bridge.ledger().balances;
        assert_eq!((balances.locked, balances.minted, balances.in_flight), (0, 0, 0));
        assert!(bridge.chains().blocks(MAIN).len() > 1);
    }
}

/// A side chain run by the side validators as a PBFT group (free CPU, batches of one) with a
/// tick every `block_interval`.
fn pbft_side(block_interval: SimDuration) -> SideConsensus {
    let consensus = PbftConfig { batch_size: 1, costs: Costs::free(), ..PbftConfig::default() };
    SideConsensus::Pbft(Box::new(BftChainConfig { block_interval, consensus }))
}

/// `config` with its side chain built by `side_consensus` (a PBFT side chain leaves the slot
/// chain's settings at their defaults).
fn with_side(side_consensus: SideConsensus, config: BridgeConfig) -> BridgeConfig {
    let side_chain = match side_consensus {
        SideConsensus::Slots => config.side_chain,
        SideConsensus::Pbft(_) => BridgeConfig::default().side_chain,
    };
    BridgeConfig { side_consensus, side_chain, ..config }
}

/// PBFT side chain on an idle system: the relayer's mint reaches the primary δ after it is
/// sent and commits 3δ later (PRE-PREPARE, PREPARE, COMMIT), final in that block. A burn is
/// final the same way; the bridge validators receive its block δ later from the replicas and
/// attest at once, with no side confirmations to wait for. (Ticks every 7 s fall clear of both.)
#[test]
fn a_pbft_side_chain_mints_at_commit_and_its_burns_are_final_at_once() {
    let burn_at = secs(60);
    let script = vec![deposit(1, 100), Scripted { at: burn_at, kind: Direction::Withdrawal, amount: 40 }];
    let config = BridgeConfig { warmup: SimDuration::ZERO, ..with_side(pbft_side(secs(7)), config(script)) };
    let (bridge, report) = run(&network(), &config, secs(120));
    let signed_and_verified =
        |sent: SimTime| sent + DELTA + config.sign + DELTA + SimDuration(config.verify.0 * u64::from(config.threshold));
    let lock_block = next_slot(SimTime::ZERO + secs(1) + DELTA + DELTA, MAIN_SLOT);
    let mint_sent = signed_and_verified(lock_block + SimDuration(MAIN_SLOT.0 * u64::from(config.confirmations)));
    let deposit = &bridge.transfers()[0];
    assert_eq!(paid_at(deposit), mint_sent + SimDuration(4 * DELTA.0));

    let withdrawal = &bridge.transfers()[1];
    let burned = SimTime::ZERO + burn_at + SimDuration(4 * DELTA.0);
    assert_eq!(withdrawal.source.map(|(_, time)| time), Some(burned));
    let release_sent = signed_and_verified(burned);
    let release = bridge.chains().txs(MAIN).iter().filter(|tx| tx.payload.is_some()).nth(1).expect("a release");
    assert_eq!(release.submitted, release_sent);
    assert_eq!(paid_at(withdrawal), next_slot(release_sent + DELTA, MAIN_SLOT));
    assert_eq!(metric(&report, "conservation_violations"), 0.0);
    assert_eq!(bridge.chains().side_safety_violations(), 0);
    let balances = bridge.ledger().balances;
    assert_eq!((balances.locked, balances.minted, balances.in_flight), (60, 60, 0));
}

/// The PBFT side chain's primary crashes before the mint is sent: the mint, sent to it, is lost;
/// the backups change the view (their tick goes unordered), and the relayer's resend to every
/// replica gets the mint ordered by the new primary. Paid once, nothing lost, no fork.
#[test]
fn a_pbft_side_chain_survives_its_primary_crashing() {
    let mut network = network();
    network.faults.crashes = vec![CrashConfig { node: 4, at: secs(30), recover: Some(secs(200)) }];
    let config = with_side(pbft_side(secs(1)), config(vec![deposit(1, 100)]));
    let (bridge, report) = run(&network, &config, secs(240));
    let transfer = &bridge.transfers()[0];
    let minted = paid_at(transfer);
    let resend = config.resend;
    assert!(minted > SimTime::ZERO + secs(37), "later than through a live primary: {minted}");
    assert!(minted <= SimTime::ZERO + secs(37) + resend, "within one resend: {minted}");
    assert_eq!(transfer.payouts, 1);
    assert_eq!(metric(&report, "conservation_violations"), 0.0);
    assert_eq!(bridge.chains().side_safety_violations(), 0);
    assert_eq!(report.detail["side_safety_violations"], 0);
    let balances = bridge.ledger().balances;
    assert_eq!((balances.locked, balances.minted, balances.in_flight), (100, 100, 0));
}
