//! The optimistic rollup end to end on the engine: the throughput ceiling set by L1 data, a wrong
//! root disputed and removed (and finalised when no challenger is online), withdrawals released
//! exactly one challenge window after inclusion, and forced inclusion past a silent sequencer.

mod common;

use common::metric;

use models::chain::{BLOB_USABLE_BYTES, BlobParams, ChainConfig, OtherUsers};
use models::rollup::{Posting, Rollup, RollupConfig, Side, Status, TxSize};
use simulator::config::{CrashConfig, NetworkConfig};
use simulator::roles::{RoleConfig, RoleNodes};
use simulator::{Report, SimDuration, SimTime};

const DELTA: SimDuration = SimDuration::from_millis(10);
const SEQUENCER: u32 = 8;
const VERIFIERS: [u32; 2] = [9, 10];

/// Eight L1 validators (0..8), the sequencer (8), two verifiers (9, 10) and two clients, with
/// constant latency δ and no bandwidth limit.
fn network() -> NetworkConfig {
    let mut network = common::constant_latency(13, DELTA);
    network.roles = vec![
        RoleConfig::new("l1", RoleNodes::Range(0, 8)),
        RoleConfig::new("sequencer", RoleNodes::Nodes(vec![SEQUENCER])),
        RoleConfig::new("verifiers", RoleNodes::Nodes(VERIFIERS.to_vec())),
    ];
    network
}

fn minutes(m: u64) -> SimDuration {
    SimDuration::from_secs(60 * m)
}

/// A rollup with a one-hour challenge window, ten-minute clocks and a 1000-step trace.
fn config() -> RollupConfig {
    RollupConfig {
        rate: 20.0,
        challenge_window: minutes(60),
        clock: minutes(10),
        trace_steps: 1000,
        max_batch_delay: minutes(1),
        ..RollupConfig::default()
    }
}

fn run(network: &NetworkConfig, config: &RollupConfig, until: SimDuration) -> (Rollup, Report) {
    common::run::<Rollup>(network, config, 5, until)
}

/// The checkers found nothing.
fn assert_clean(report: &Report) {
    for name in ["escrow_violations", "early_withdrawals", "bond_violations", "oversize_blocks"] {
        assert_eq!(metric(report, name), 0.0, "{name}");
    }
}

/// Offered more than L1 can carry, the rollup lands L1 data capacity / (bytes per transaction ×
/// compression ratio) transactions a second: blocks are full of blobs, and the backlog grows.
#[test]
fn throughput_is_capped_by_l1_data_capacity() {
    for (blobs, max) in [(BlobParams::Dencun, 6.0), (BlobParams::Pectra, 9.0)] {
        let config = RollupConfig {
            rate: 4_000.0,
            bundle: SimDuration::from_millis(100),
            tx_size: TxSize::Fixed(150),
            chain: ChainConfig { blobs: blobs.clone(), ..ChainConfig::default() },
            warmup: minutes(1),
            ..config()
        };
        let (rollup, report) = run(&network(), &config, minutes(5));
        let capacity = max * BLOB_USABLE_BYTES as f64 / 12.0;
        let expected = capacity / (150.0 * 0.4);
        let measured = metric(&report, "l2_throughput_tps");
        assert!((measured / expected - 1.0).abs() < 0.05, "{blobs:?}: {measured} against {expected}");
        let full = rollup.chain().blocks.iter().skip(10).filter(|b| f64::from(b.blobs) == max).count();
        assert_eq!(full, rollup.chain().blocks.len() - 10, "{blobs:?}: every block after the first few is full");
        assert!(metric(&report, "l1_backlog_max_bytes") > 1e6);
        assert_clean(&report);
    }
}

/// A wrong root at batch 1 is challenged; the bisection takes ⌈log2(1000)⌉ = 10 moves, the
/// sequencer loses its bond, the root and those built on it are removed inside the window and
/// their transactions posted again, and nothing wrong becomes final.
#[test]
fn a_wrong_root_is_disputed_and_removed_before_it_is_final() {
    let config = RollupConfig { invalid_batch: Some(1), ..config() };
    let (rollup, report) = run(&network(), &config, minutes(180));
    let contract = rollup.contract();
    assert_eq!(contract.disputes.len(), 1);
    let dispute = &contract.disputes[0];
    assert_eq!(dispute.moves, 10);
    let (resolved, loser) = dispute.resolved.expect("the dispute ends");
    assert_eq!(loser, Side::Defender);
    let wrong = &contract.assertions[dispute.assertion as usize];
    assert!(wrong.wrong && wrong.status == Status::Removed);
    assert!(resolved < wrong.included_at + config.challenge_window, "removed before it could be final");
    assert!(contract.assertions.iter().all(|a| a.status != Status::Confirmed || !a.tainted));
    assert_eq!(metric(&report, "invalid_finalized"), 0.0);
    assert_eq!(metric(&report, "slashed_bonds"), config.sequencer_bond as f64);
    assert!(metric(&report, "rolled_back_txs") > 0.0);
    // Every transaction of the removed roots landed again, and those early enough became final.
    assert!(contract.assertions.iter().filter(|a| a.status == Status::Confirmed).count() > 3);
    assert!(metric(&report, "final_latency_p50_s") > config.challenge_window.as_secs_f64());
    assert_clean(&report);
}

/// With both verifiers down from the start, nobody challenges: the wrong root becomes final, the
/// metric says so, and the escrow no longer covers the L2 supply.
#[test]
fn with_every_challenger_offline_the_wrong_root_is_final() {
    let mut network = network();
    network.faults.crashes =
        VERIFIERS.iter().map(|&node| CrashConfig { node, at: SimDuration::ZERO, recover: None }).collect();
    let config = RollupConfig { invalid_batch: Some(1), ..config() };
    let (rollup, report) = run(&network, &config, minutes(180));
    assert!(rollup.contract().disputes.is_empty());
    assert!(metric(&report, "invalid_finalized") >= 1.0);
    assert!(metric(&report, "escrow_violations") >= 1.0);
    assert_eq!(metric(&report, "slashed_bonds"), 0.0);
}

/// An idle rollup where every transaction withdraws: each assertion is confirmed, and its
/// withdrawals released, exactly one challenge window after the L1 block that included it.
#[test]
fn a_withdrawal_completes_exactly_one_window_after_inclusion() {
    let config = RollupConfig { rate: 0.05, withdrawal_share: 1.0, ..config() };
    let (rollup, report) = run(&network(), &config, minutes(180));
    let confirmed: Vec<_> = rollup.contract().assertions.iter().filter(|a| a.status == Status::Confirmed).collect();
    assert!(confirmed.len() >= 3, "{} confirmed", confirmed.len());
    for a in confirmed {
        assert_eq!(a.settled_at, a.included_at + config.challenge_window);
        assert!(!rollup.batch_txs(a.batch).is_empty());
    }
    assert!(metric(&report, "withdrawal_latency_p50_s") > config.challenge_window.as_secs_f64());
    assert_eq!(
        rollup.contract().escrow,
        config.bridged_supply
            - rollup
                .contract()
                .assertions
                .iter()
                .filter(|a| a.status == Status::Confirmed)
                .map(|a| rollup.batch_txs(a.batch).len() as u64)
                .sum::<u64>()
    );
    assert_clean(&report);
}

/// The sequencer goes silent after a minute: clients send what got no receipt to the L1 inbox
/// after `force_after`, and each such transaction is included by force exactly `force_delay`
/// after the block that took it into the inbox.
#[test]
fn a_silent_sequencer_is_bypassed_through_the_inbox() {
    let mut network = network();
    network.faults.crashes = vec![CrashConfig { node: SEQUENCER, at: minutes(1), recover: None }];
    let config = RollupConfig { force_after: minutes(2), force_delay: minutes(10), ..config() };
    let (rollup, report) = run(&network, &config, minutes(30));
    let inbox = &rollup.contract().inbox;
    assert!(!inbox.is_empty());
    let mut forced = 0;
    for entry in inbox {
        for &tx in &entry.txs {
            if entry.included_at + config.force_delay <= SimTime::ZERO + minutes(30) {
                assert_eq!(rollup.forced_at(tx), Some(entry.included_at + config.force_delay));
                forced += 1;
            }
        }
    }
    assert!(forced > 0);
    assert_eq!(metric(&report, "forced_txs"), forced as f64);
    assert_clean(&report);
}

/// Two of the eight L1 validators are down for the whole run: their slots pass without blocks,
/// the others' blocks carry the chain, and nothing is lost.
#[test]
fn offline_proposers_miss_their_slots() {
    let mut network = network();
    network.faults.crashes = [0, 1].map(|node| CrashConfig { node, at: SimDuration::ZERO, recover: None }).to_vec();
    let (rollup, report) = run(&network, &config(), minutes(30));
    let chain = rollup.chain();
    let missed = metric(&report, "missed_slots");
    assert!(missed > 0.0);
    assert_eq!(chain.blocks.len() as f64 - 1.0 + missed, 150.0, "one block or one miss per 12 s slot");
    assert!(chain.blocks.iter().skip(1).all(|b| b.proposer > 1));
    assert!(chain.blocks.windows(2).all(|w| w[0].slot < w[1].slot));
    assert!(metric(&report, "l2_throughput_tps") > 19.0);
    assert_clean(&report);
}

/// The sequencer posts a wrong root and goes silent before the dispute: it never answers, so its
/// clock runs out and it loses on time, one clock after the challenge (to the next block).
#[test]
fn a_defender_that_never_answers_loses_on_its_clock() {
    let mut network = network();
    // Batch 0 is cut 34 s in (30 s after the first L2 block holding a transaction) and included at
    // 36 s; the challenge comes in a later block.
    network.faults.crashes = vec![CrashConfig { node: SEQUENCER, at: SimDuration::from_secs(40), recover: None }];
    let config = RollupConfig { invalid_batch: Some(0), max_batch_delay: SimDuration::from_secs(30), ..config() };
    let (rollup, report) = run(&network, &config, minutes(60));
    let dispute = &rollup.contract().disputes[0];
    assert_eq!(dispute.moves, 0);
    let (resolved, loser) = dispute.resolved.expect("the clock runs out");
    assert_eq!(loser, Side::Defender);
    let waited = resolved.since(dispute.opened_at);
    assert!(waited > config.clock && waited <= config.clock + config.chain.slot, "{waited}");
    assert_eq!(metric(&report, "slashed_bonds"), config.sequencer_bond as f64);
    assert_clean(&report);
}

/// A challenger that comes after the window has closed is refused, and the wrong root is final.
#[test]
fn a_challenger_later_than_the_window_is_refused() {
    let config = RollupConfig { invalid_batch: Some(1), challenger_delay: minutes(61), ..config() };
    let (rollup, report) = run(&network(), &config, minutes(120));
    assert!(rollup.contract().disputes.is_empty());
    assert!(rollup.contract().refused_challenges > 0);
    assert_eq!(metric(&report, "invalid_finalized"), 1.0);
}

/// Batches in calldata: no blobs, each batch's data pays 16 gas a byte, and the L1 bytes per
/// transaction are the compressed bytes.
#[test]
fn calldata_batches_pay_gas_per_byte() {
    let config =
        RollupConfig { posting: Posting::Calldata, tx_size: TxSize::Fixed(150), compression_ratio: 0.5, ..config() };
    let (rollup, report) = run(&network(), &config, minutes(30));
    let chain = rollup.chain();
    assert!(chain.blocks.iter().all(|b| b.blobs == 0));
    let batches: Vec<_> =
        chain.txs.iter().filter(|tx| matches!(tx.payload, Some(models::rollup::Call::Batch(_)))).collect();
    assert!(!batches.is_empty());
    for tx in &batches {
        assert_eq!(tx.blobs, 0);
        assert_eq!(tx.gas, 21_000 + config.contract_gas + 16 * tx.calldata);
    }
    let per_tx = metric(&report, "l1_bytes_per_tx");
    assert!((per_tx - 75.0).abs() < 0.5, "{per_tx}");
    assert_clean(&report);
}

/// Other L1 users want 12 blob transactions a slot where blocks carry 9 blobs: the blob base fee
/// climbs until those whose cap it passes wait, no block takes a blob below its cap, and the
/// rollup, paying whatever it takes and bidding up as its backlog grows, still lands its load.
#[test]
fn other_users_are_priced_out_of_blobs_and_the_rollup_lands_its_load() {
    let chain = ChainConfig {
        others: OtherUsers { blob_txs_per_slot: 12.0, ..OtherUsers::default() },
        ..ChainConfig::default()
    };
    let config = RollupConfig { rate: 200.0, chain, warmup: minutes(5), ..config() };
    let (rollup, report) = run(&network(), &config, minutes(60));
    let chain = rollup.chain();
    for block in &chain.blocks {
        for &id in &block.txs {
            let tx = &chain.txs[id as usize];
            assert!(tx.blobs == 0 || tx.max_blob_fee >= block.blob_base_fee, "a blob below its cap");
        }
    }
    let last = chain.blocks.last().unwrap();
    assert!(last.blob_base_fee > 1_000_000, "the fee rose: {}", last.blob_base_fee);
    let waiting = chain.txs.iter().filter(|tx| tx.payload.is_none() && tx.block.is_none()).count();
    assert!(waiting > 100, "{waiting} priced out");
    let full = chain.blocks.iter().skip(20).filter(|b| b.blobs >= 8).count();
    assert!(full * 10 >= (chain.blocks.len() - 20) * 9, "blocks stay nearly full");
    let throughput = metric(&report, "l2_throughput_tps");
    assert!((throughput / 200.0 - 1.0).abs() < 0.05, "{throughput}");
    assert_clean(&report);
}
