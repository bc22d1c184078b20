//! Block relay end to end: coverage, exact hop timings of full and compact relay, the Bitcoin
//! preset, mempool misses, forks and determinism.

mod common;

use common::metric;

use std::path::Path;

use models::Model;
use models::bitcoin::{Bitcoin, BitcoinConfig, HashPower, Mempool, Relay, Validation, ValidationOrder};
use simulator::config::{BandwidthConfig, Contention, LatencyConfig, NetworkConfig, TopologyConfig};
use simulator::units::{Bandwidth, ByteSize};
use simulator::{Limits, Report, RunStats, SimDuration, Simulation, World};

const DELTA: SimDuration = SimDuration::from_millis(50);
const RATE: u64 = 10_000_000;

fn network(nodes: u32, topology: TopologyConfig) -> NetworkConfig {
    NetworkConfig {
        nodes,
        topology,
        bandwidth: BandwidthConfig { upload: Bandwidth::BitsPerSec(RATE), download: Bandwidth::BitsPerSec(RATE) },
        contention: Contention::Fifo,
        unqueued_up_to: Default::default(),
        latency: LatencyConfig::Constant(DELTA),
        loss: 0.0,
        link_loss: Vec::new(),
        cpu: Default::default(),
        disk: Default::default(),
        faults: Default::default(),
        roles: Vec::new(),
    }
}

fn run(network: &NetworkConfig, config: BitcoinConfig, seed: u64) -> (Bitcoin, RunStats, Report) {
    network.validate().unwrap();
    config.validate(network.nodes).unwrap();
    let world = World::build(network, seed, Path::new(".")).unwrap();
    let (bitcoin, stats) =
        Simulation::new(Bitcoin::new(config, network.nodes, seed), world, seed, Limits::default()).run();
    let report = bitcoin.report(&stats);
    (bitcoin, stats, report)
}

/// Transfer time of `bytes` over a `RATE` link, rounded up to the nanosecond as the network does.
fn transfer(bytes: u64) -> SimDuration {
    SimDuration((bytes * 8 * 1_000_000_000).div_ceil(RATE))
}

/// The only block's `t100_ms` from the run detail.
fn last_reach_ms(report: &Report) -> f64 {
    report.detail["blocks"][0]["t100_ms"].as_f64().unwrap()
}

#[test]
fn every_block_reaches_every_node_in_both_modes() {
    let net = network(150, TopologyConfig::RandomRegular { degree: 6 });
    for relay in [Relay::Full, Relay::Compact] {
        let config = BitcoinConfig {
            blocks: 8,
            block_size: ByteSize(50_000),
            interval: SimDuration::from_secs(20),
            relay,
            mempool: Mempool::Sampled { miss_rate: 0.001 },
            ..BitcoinConfig::default()
        };
        let (_, _, report) = run(&net, config, 1);
        for block in report.detail["blocks"].as_array().unwrap() {
            assert_eq!(block["nodes_reached"], 150, "{relay:?}: {block}");
        }
    }
}

#[test]
fn full_relay_over_a_line_takes_three_latencies_a_transfer_and_a_validation_per_hop() {
    // 0 — 1 — 2; node 0 mines the one block.
    let net = network(3, TopologyConfig::Edges(vec![(0, 1), (1, 2)]));
    let per_tx = SimDuration::from_micros(100);
    let config = BitcoinConfig {
        blocks: 1,
        block_size: ByteSize(100_000),
        relay: Relay::Full,
        hash_power: HashPower::Miners(vec![(0, 1.0)]),
        validation: Validation { per_tx, order: ValidationOrder::ValidateThenRelay },
        ..BitcoinConfig::default()
    };
    let (_, _, report) = run(&net, config, 2);
    let validation = SimDuration(per_tx.0 * 400);
    // inv, getdata and block each cross the link once (the small ones take microseconds too).
    let hop = transfer(61) + DELTA + transfer(61) + DELTA + transfer(24 + 100_000) + DELTA + validation;
    assert_eq!(last_reach_ms(&report), SimDuration(2 * hop.0).as_millis_f64());
}

#[test]
fn high_bandwidth_compact_relay_takes_half_a_round_trip_or_one_and_a_half() {
    let net = network(2, TopologyConfig::Edges(vec![(0, 1)]));
    let config = |miss_rate: f64| BitcoinConfig {
        blocks: 1,
        // The coinbase and one transaction: with a miss rate of 1 exactly that one is missing.
        block_size: ByteSize(500),
        relay: Relay::Compact,
        hash_power: HashPower::Miners(vec![(0, 1.0)]),
        validation: Validation { per_tx: SimDuration::ZERO, order: ValidationOrder::ValidateThenRelay },
        mempool: Mempool::Sampled { miss_rate },
        ..BitcoinConfig::default()
    };
    let cmpct = 24 + 80 + 8 + 3 + 6 + 2 + 250;
    let (_, _, complete) = run(&net, config(0.0), 3);
    assert_eq!(last_reach_ms(&complete), (transfer(cmpct) + DELTA).as_millis_f64());
    assert_eq!(metric(&complete, "cmpct_reconstruct_rate"), 1.0);

    let (_, _, missing) = run(&net, config(1.0), 3);
    let round_trip = transfer(24 + 35 + 2) + DELTA + transfer(24 + 35 + 250) + DELTA;
    assert_eq!(last_reach_ms(&missing), (transfer(cmpct) + DELTA + round_trip).as_millis_f64());
    assert_eq!(metric(&missing, "cmpct_reconstruct_rate"), 0.0);
    assert_eq!(metric(&missing, "extra_round_trips"), 1.0);
}

fn preset(nodes: u32) -> NetworkConfig {
    let mut net = simulator::presets::preset("bitcoin-2019").unwrap();
    net.nodes = nodes;
    net
}

#[test]
fn compact_blocks_propagate_faster_than_full_blocks_on_the_2019_network() {
    let net = preset(300);
    let t50 = |relay: Relay| {
        let config = BitcoinConfig { blocks: 10, relay, ..BitcoinConfig::default() };
        metric(&run(&net, config, 4).2, "block_t50_ms")
    };
    let (full, compact) = (t50(Relay::Full), t50(Relay::Compact));
    assert!(compact < full / 3.0, "t50 compact {compact} ms, full {full} ms");
}

#[test]
fn more_missing_transactions_mean_fewer_blocks_rebuilt_at_once() {
    let net = preset(200);
    let rate = |miss_rate: f64| {
        let config = BitcoinConfig { blocks: 10, mempool: Mempool::Sampled { miss_rate }, ..BitcoinConfig::default() };
        metric(&run(&net, config, 5).2, "cmpct_reconstruct_rate")
    };
    let rates = [rate(0.00001), rate(0.0001), rate(0.001)];
    // P(nothing missing among 2,139 transactions) = 0.979, 0.807, 0.118.
    assert!(rates[0] > rates[1] && rates[1] > rates[2], "{rates:?}");
    assert!((rates[1] - 0.807).abs() < 0.05, "{rates:?}");
}

/// The chain height and fork series agree with the blocks of the run file: one bucket per block
/// interval, levels that never fall, ending at the main chain's length and the stale blocks.
fn check_series(report: &Report) {
    let [height, forks] = [0, 1].map(|i| &report.series[i]);
    assert_eq!((height.name.as_str(), forks.name.as_str()), ("chain_height", "forks"));
    let blocks = report.detail["blocks"].as_array().unwrap();
    let last_mined = blocks.iter().map(|b| b["mined_ms"].as_f64().unwrap()).fold(0.0, f64::max);
    assert!(height.values.len() as f64 >= last_mined / height.bucket.as_millis_f64());
    for series in [height, forks] {
        assert!(series.values.windows(2).all(|w| w[0] <= w[1]), "{series:?}");
    }
    assert_eq!(height.values.last().copied(), report.detail["main_chain_length"].as_f64());
    let stale = report.detail["stale_blocks"].as_f64().unwrap();
    assert_eq!(forks.values.last().copied().unwrap_or(0.0), stale);
    assert!(stale > 0.0 || forks.values.iter().all(|&v| v == 0.0));
}

#[test]
fn larger_blocks_fork_more_often() {
    let net = preset(200);
    let stale = |block_size: u64| -> f64 {
        (0..3)
            .map(|seed| {
                let config = BitcoinConfig {
                    blocks: 60,
                    block_size: ByteSize(block_size),
                    interval: SimDuration::from_secs(30),
                    relay: Relay::Full,
                    ..BitcoinConfig::default()
                };
                let report = run(&net, config, 10 + seed).2;
                check_series(&report);
                metric(&report, "stale_rate")
            })
            .sum()
    };
    let (small, large) = (stale(50_000), stale(2_000_000));
    assert!(large > small, "stale rates summed over seeds: small blocks {small}, large {large}");
}

#[test]
fn same_seed_same_run_in_both_modes() {
    let net = preset(120);
    for relay in [Relay::Full, Relay::Compact] {
        let config = BitcoinConfig { blocks: 5, relay, ..BitcoinConfig::default() };
        let (_, a, report_a) = run(&net, config.clone(), 6);
        let (_, b, report_b) = run(&net, config.clone(), 6);
        let (_, c, _) = run(&net, config, 7);
        assert_eq!(a.digest, b.digest, "{relay:?}");
        assert_eq!(report_a, report_b, "{relay:?}");
        assert_ne!(a.digest, c.digest, "{relay:?}");
    }
}

#[test]
fn a_sampled_mempool_at_the_measured_miss_rate_matches_real_gossip() {
    // Transactions arrive slower than blocks can hold them, so miners include the newest ones,
    // which have not reached every node yet: real misses.
    let net = preset(150);
    let config = |mempool: Mempool| BitcoinConfig {
        blocks: 20,
        block_size: ByteSize(100_000),
        interval: SimDuration::from_secs(30),
        mempool,
        ..BitcoinConfig::default()
    };
    let seeds = 20u64..24;
    let mut gossip_t50 = 0.0;
    let mut equivalent = 0.0;
    for seed in seeds.clone() {
        let (bitcoin, _, report) =
            run(&net, config(Mempool::Gossip { tx_rate: 10.0, trickle: SimDuration::from_secs(5) }), seed);
        gossip_t50 += metric(&report, "block_t50_ms");
        equivalent += bitcoin.equivalent_miss_rate().unwrap();
        assert!(report.detail["measured_miss_rate"].as_f64().unwrap() > 0.0);
    }
    let miss_rate = equivalent / seeds.clone().count() as f64;
    let sampled_t50: f64 = seeds
        .clone()
        .map(|seed| metric(&run(&net, config(Mempool::Sampled { miss_rate }), seed).2, "block_t50_ms"))
        .sum();
    let ratio = sampled_t50 / gossip_t50;
    assert!((ratio - 1.0).abs() < 0.1, "t50 sampled / gossip = {ratio} (miss rate {miss_rate})");
}

/// The triangle 0-1-2 where node 0 mines one 1,000-byte block, validated at once, that nodes
/// cannot rebuild from their mempool; `cut` takes node 2 off the network for that interval.
fn triangle(
    relay: Relay,
    interval: SimDuration,
    request_timeout: Option<SimDuration>,
    cut: Option<(SimDuration, SimDuration)>,
) -> (NetworkConfig, BitcoinConfig) {
    use simulator::config::{NodeSet, PartitionConfig};
    let mut net = network(3, TopologyConfig::Edges(vec![(0, 1), (0, 2), (1, 2)]));
    net.faults.partitions = cut
        .map(|(from, until)| PartitionConfig { from, until: Some(until), nodes: NodeSet::Nodes(vec![2]) })
        .into_iter()
        .collect();
    let config = BitcoinConfig {
        blocks: 1,
        block_size: ByteSize(1_000),
        interval,
        relay,
        hash_power: HashPower::Miners(vec![(0, 1.0)]),
        mempool: Mempool::Sampled { miss_rate: 1.0 },
        validation: Validation { per_tx: SimDuration::ZERO, order: ValidationOrder::ValidateThenRelay },
        request_timeout,
        high_bandwidth_peers: 0,
        ..BitcoinConfig::default()
    };
    (net, config)
}

#[test]
fn a_request_that_gets_no_answer_goes_to_the_next_announcer() {
    // Node 0 mines at once. Node 2 is cut off just while its request (full relay) or the compact
    // block it asked for (low-bandwidth compact relay) is on the way, so it must fall back to
    // node 1 after the request timeout, for a full block.
    let ms = SimDuration::from_millis;
    let timeout = SimDuration::from_secs(1);
    for (relay, cut) in [(Relay::Full, (ms(55), ms(120))), (Relay::Compact, (ms(120), ms(180)))] {
        let (net, config) = triangle(relay, SimDuration::from_micros(1), Some(timeout), Some(cut));
        let (_, _, report) = run(&net, config, 8);
        assert_eq!(report.detail["blocks"][0]["nodes_reached"], 3, "{relay:?}");
        let last = last_reach_ms(&report);
        assert!(last > timeout.as_millis_f64() && last < 1_400.0, "{relay:?}: last node at {last} ms");
        assert!(metric(&report, "extra_round_trips") > 0.0, "{relay:?}");
    }
}

#[test]
fn an_unset_request_timeout_waits_one_block_interval() {
    // As above with full relay, but the timeout is left to Bitcoin Core's rule: one interval
    // while no other download is under way. The mining time scales with the interval, so a
    // first run without the cut finds it.
    let ms = SimDuration::from_millis;
    let interval = SimDuration::from_secs(2);
    let (net, config) = triangle(Relay::Full, interval, None, None);
    let (_, _, uncut) = run(&net, config, 8);
    let mined = ms(uncut.detail["blocks"][0]["mined_ms"].as_f64().unwrap().round() as u64);
    let (net, config) = triangle(Relay::Full, interval, None, Some((mined + ms(55), mined + ms(120))));
    let (_, _, report) = run(&net, config, 8);
    assert_eq!(report.detail["blocks"][0]["nodes_reached"], 3);
    // Node 0's inv to node 2 leaves after the one to node 1; node 2 asks node 1 one interval
    // after it asked node 0.
    let inv = transfer(61) + transfer(61) + DELTA;
    let retry = interval + transfer(61) + DELTA + transfer(24 + 1_000) + DELTA;
    assert_eq!(last_reach_ms(&report), (inv + retry).as_millis_f64());
}
