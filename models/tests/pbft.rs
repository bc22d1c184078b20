//! PBFT end to end on the engine: exact normal-case timing and message counts, batching,
//! parallel execution, checkpoints, view changes under crash, silent and equivocating primaries.

mod common;

use common::metric;

use std::path::Path;

use models::Model;
use models::pbft::{Behaviour, ByzantineConfig, Costs, ExecutionConfig, Load, Pbft, PbftConfig, Replicas};
use simulator::config::{
    BandwidthConfig, CpuConfig, CrashConfig, LatencyConfig, NetworkConfig, NodeSet, PartitionConfig,
};
use simulator::units::{Bandwidth, ByteSize};
use simulator::{Limits, MetricValue, Report, RunStats, SimDuration, SimTime, Simulation, World};

const DELTA: SimDuration = SimDuration::from_millis(10);

/// Replicas plus clients on a complete graph with constant latency δ, no bandwidth limit, and
/// free disks.
fn network(replicas: u32, clients: u32) -> NetworkConfig {
    common::constant_latency(replicas + clients, DELTA)
}

/// A free protocol: no CPU costs, batches of one, one outstanding request per client.
fn free(replicas: u32) -> PbftConfig {
    PbftConfig { replicas: replicas.into(), batch_size: 1, costs: Costs::free(), ..PbftConfig::default() }
}

fn run(network: &NetworkConfig, config: PbftConfig, seed: u64, until: SimDuration) -> (Pbft, RunStats, Report) {
    network.validate().unwrap();
    let Replicas::Count(n) = config.replicas else { panic!("these tests run the first n nodes as replicas") };
    config.validate(n, network.nodes).unwrap();
    let world = World::build(network, seed, Path::new(".")).unwrap();
    let limits = Limits { time: Some(SimTime::ZERO + until), events: None };
    let (pbft, stats) =
        Simulation::new(Pbft::new(config, network.nodes, (0..n).collect(), seed), world, seed, limits).run();
    let report = pbft.report(&stats);
    (pbft, stats, report)
}

fn is_missing(report: &Report, name: &str) -> bool {
    report.metric(name) == Some(MetricValue::Missing)
}

#[test]
fn one_request_takes_exactly_five_one_way_latencies() {
    let config = PbftConfig { requests: Some(1), ..free(4) };
    let (_, _, report) = run(&network(4, 1), config, 1, SimDuration::from_secs(10));
    assert_eq!(metric(&report, "latency_p50_ms"), 5.0 * DELTA.as_millis_f64());
    assert_eq!(report.detail["requests_accepted"], 1);
}

#[test]
fn unbatched_messages_per_request_match_the_protocol() {
    for (n, expected) in [(4u32, 24.0), (7, 84.0), (10, 180.0)] {
        assert_eq!(f64::from((n - 1) + (n - 1) * (n - 1) + n * (n - 1)), expected);
        let config = PbftConfig { requests: Some(6), ..free(n) };
        let (_, _, report) = run(&network(n, 2), config, 2, SimDuration::from_secs(10));
        assert_eq!(report.detail["requests_committed"], 12, "n = {n}");
        assert_eq!(metric(&report, "replica_msgs_per_request"), expected, "n = {n}");
        assert_eq!(metric(&report, "safety_violations"), 0.0);
    }
}

#[test]
fn batching_raises_throughput_under_saturating_load() {
    let mut net = network(4, 4);
    net.bandwidth = BandwidthConfig {
        upload: Bandwidth::BitsPerSec(1_000_000_000),
        download: Bandwidth::BitsPerSec(1_000_000_000),
    };
    net.latency = LatencyConfig::Constant(SimDuration::from_millis(2));
    let throughput = |batch_size: u32| {
        let config = PbftConfig {
            replicas: 4.into(),
            batch_size,
            load: Load::Closed { window: 50 },
            warmup: SimDuration::from_millis(500),
            ..PbftConfig::default()
        };
        let (_, _, report) = run(&net, config, 3, SimDuration::from_secs(3));
        assert_eq!(metric(&report, "safety_violations"), 0.0);
        metric(&report, "throughput_rps")
    };
    let (one, ten, hundred) = (throughput(1), throughput(10), throughput(100));
    assert!(one < ten && ten < hundred, "throughput {one} {ten} {hundred}");
    assert!(hundred > 20.0 * one, "throughput {one} {hundred}");
}

#[test]
fn conflicting_requests_execute_serially_and_independent_ones_in_parallel() {
    let mut net = network(4, 1);
    net.cpu = CpuConfig { cores: 4 };
    let latency = |keys: u64| {
        let config = PbftConfig {
            batch_size: 10,
            batch_timeout: SimDuration::from_secs(1),
            load: Load::Closed { window: 10 },
            requests: Some(10),
            costs: Costs { execute: SimDuration::from_millis(1), ..Costs::free() },
            execution: Some(ExecutionConfig {
                keys,
                reads: 0,
                writes: 1,
                hot_keys: 0,
                hot_share: 0.0,
                cache: 0,
                value_size: ByteSize(0),
            }),
            ..free(4)
        };
        let (_, _, report) = run(&net, config, 4, SimDuration::from_secs(10));
        metric(&report, "latency_p99_ms")
    };
    // One key: every request writes it, a chain of ten 1 ms requests.
    assert_eq!(latency(1), 5.0 * DELTA.as_millis_f64() + 10.0);
    // A huge key space: no conflicts, ten requests on four cores take three rounds.
    assert_eq!(latency(1 << 40), 5.0 * DELTA.as_millis_f64() + 3.0);
}

#[test]
fn the_state_cache_serves_hot_keys() {
    let hit_rate = |hot_share: f64| {
        let config = PbftConfig {
            batch_size: 20,
            load: Load::Closed { window: 20 },
            execution: Some(ExecutionConfig {
                keys: 1_000_000,
                reads: 2,
                writes: 1,
                hot_keys: 100,
                hot_share,
                cache: 1_000,
                value_size: ByteSize(256),
            }),
            ..free(4)
        };
        let (_, _, report) = run(&network(4, 2), config, 5, SimDuration::from_secs(2));
        metric(&report, "cache_hit_rate")
    };
    let (cold, hot) = (hit_rate(0.0), hit_rate(0.9));
    assert!(cold < 0.01 && hot > 0.85, "hit rates {cold} {hot}");
}

#[test]
fn checkpoints_become_stable_and_truncate_the_log() {
    let config = PbftConfig { checkpoint_interval: 4, load: Load::Closed { window: 1 }, ..free(4) };
    let (pbft, _, report) = run(&network(4, 1), config, 6, SimDuration::from_secs(2));
    let committed = report.detail["batches_committed"].as_u64().unwrap();
    assert!(committed >= 8, "{committed} batches");
    for replica in report.detail["replicas"].as_array().unwrap() {
        let stable = replica["stable_checkpoint"].as_u64().unwrap();
        let executed = replica["last_executed"].as_u64().unwrap();
        assert!(stable % 4 == 0 && executed - stable < 8, "stable {stable}, executed {executed}");
    }
    assert_eq!(pbft.safety_violations(), 0);
    assert!(report.detail["messages"]["checkpoint"].as_u64().unwrap() > 0);
}

#[test]
fn a_crashed_primary_is_replaced_and_a_prepared_batch_is_reproposed() {
    // The primary crashes right after sending its PRE-PREPARE. The backups prepare at 3δ and send
    // COMMITs, which a partition of replica 1 stops: nobody collects 2f + 1 COMMITs. The batch is
    // prepared but committed nowhere; the next view must re-propose it.
    let mut net = network(4, 1);
    let ms = SimDuration::from_millis;
    net.faults.crashes = vec![CrashConfig { node: 0, at: ms(15), recover: None }];
    net.faults.partitions = vec![PartitionConfig { from: ms(35), until: Some(ms(45)), nodes: NodeSet::Nodes(vec![1]) }];
    let config = PbftConfig { requests: Some(3), client_timeout: ms(200), view_change_timeout: ms(100), ..free(4) };
    let (pbft, _, report) = run(&net, config, 7, SimDuration::from_secs(5));
    assert_eq!(metric(&report, "view_changes"), 1.0);
    assert_eq!(pbft.highest_view(), 1);
    assert_eq!(report.detail["requests_accepted"], 3);
    assert_eq!(report.detail["reproposed"], 1);
    assert_eq!(metric(&report, "safety_violations"), 0.0);
    // Crash at 15 ms; clients resend at 200 ms + 10 ms; backups time out 100 ms later; NEW-VIEW
    // and the re-proposed batch's three phases follow.
    let recovery = metric(&report, "recovery_ms");
    assert!(recovery > 285.0 && recovery < 400.0, "recovery {recovery} ms");
}

#[test]
fn an_equivocating_primary_cannot_break_safety() {
    // With n = 7 the two halves of the backups (3 and 3) each miss the 2f = 4 PREPAREs they need.
    let config = PbftConfig {
        load: Load::Closed { window: 4 },
        batch_size: 2,
        byzantine: vec![ByzantineConfig { replica: 0, behaviour: Behaviour::Equivocate, from: SimDuration::ZERO }],
        client_timeout: SimDuration::from_millis(200),
        view_change_timeout: SimDuration::from_millis(100),
        ..free(7)
    };
    let (pbft, _, report) = run(&network(7, 2), config, 8, SimDuration::from_secs(3));
    assert_eq!(metric(&report, "safety_violations"), 0.0);
    assert!(pbft.highest_view() >= 1);
    assert!(pbft.accepted_requests() > 100, "{} accepted", pbft.accepted_requests());
    assert!(!is_missing(&report, "recovery_ms"));
}

#[test]
fn a_silent_primary_is_replaced() {
    let config = PbftConfig {
        load: Load::Closed { window: 2 },
        byzantine: vec![ByzantineConfig {
            replica: 0,
            behaviour: Behaviour::Silent,
            from: SimDuration::from_millis(500),
        }],
        client_timeout: SimDuration::from_millis(200),
        view_change_timeout: SimDuration::from_millis(100),
        ..free(4)
    };
    let (pbft, _, report) = run(&network(4, 1), config, 9, SimDuration::from_secs(3));
    assert_eq!(metric(&report, "safety_violations"), 0.0);
    assert_eq!(pbft.highest_view(), 1);
    let recovery = metric(&report, "recovery_ms");
    assert!(recovery > 300.0 && recovery < 500.0, "recovery {recovery} ms");
}

#[test]
fn f_crashed_backups_do_not_stop_progress() {
    let mut net = network(7, 2);
    let ms = SimDuration::from_millis;
    net.faults.crashes =
        vec![CrashConfig { node: 5, at: ms(300), recover: None }, CrashConfig { node: 6, at: ms(600), recover: None }];
    let config = PbftConfig { load: Load::Closed { window: 2 }, ..free(7) };
    let (before, _, _) = run(&net, config.clone(), 10, ms(600));
    let (after, _, report) = run(&net, config, 10, SimDuration::from_secs(3));
    assert_eq!(metric(&report, "safety_violations"), 0.0);
    assert_eq!(metric(&report, "view_changes"), 0.0);
    // Progress goes on at the same pace with 5 of 7 replicas.
    let (b, a) = (before.accepted_requests() as f64, after.accepted_requests() as f64);
    let (rate_before, rate_after) = (b / 0.6, (a - b) / 2.4);
    assert!(b > 0.0 && rate_after > 0.9 * rate_before, "{rate_before} then {rate_after} requests/s");
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let mut net = network(4, 2);
    net.latency = LatencyConfig::Uniform { min: SimDuration::from_millis(1), max: SimDuration::from_millis(20) };
    net.loss = 0.01;
    let config = PbftConfig { load: Load::Open { rate: 200.0 }, batch_size: 5, ..PbftConfig::default() };
    let (_, a, report_a) = run(&net, config.clone(), 11, SimDuration::from_secs(2));
    let (_, b, report_b) = run(&net, config.clone(), 11, SimDuration::from_secs(2));
    let (_, c, _) = run(&net, config, 12, SimDuration::from_secs(2));
    assert_eq!(a.digest, b.digest);
    assert_eq!(report_a, report_b);
    assert_ne!(a.digest, c.digest);
}

#[test]
fn committed_batches_execute_back_to_back_when_execution_takes_time() {
    // With pipelining, later batches commit while an earlier one still runs on the CPU; each
    // must start as soon as its predecessor finishes, not wait for some later commit.
    let config = PbftConfig {
        requests: Some(20),
        load: Load::Closed { window: 4 },
        in_flight: 4,
        costs: Costs { execute: SimDuration::from_millis(30), ..Costs::free() },
        ..free(4)
    };
    let (pbft, _, report) = run(&network(4, 1), config, 12, SimDuration::from_secs(10));
    assert_eq!(pbft.accepted_requests(), 20);
    assert_eq!(metric(&report, "view_changes"), 0.0);
}

#[test]
fn lost_messages_are_resent_instead_of_changing_views() {
    let mut net = network(4, 2);
    net.loss = 0.02;
    let run_with = |resend_interval: SimDuration| {
        let config = PbftConfig {
            load: Load::Closed { window: 2 },
            resend_interval,
            client_timeout: SimDuration::from_millis(300),
            view_change_timeout: SimDuration::from_millis(400),
            ..free(4)
        };
        let (pbft, _, report) = run(&net, config, 13, SimDuration::from_secs(10));
        assert_eq!(metric(&report, "safety_violations"), 0.0);
        (pbft.accepted_requests(), metric(&report, "view_changes"))
    };
    let (with_resend, views_with) = run_with(SimDuration::from_millis(100));
    let (without, views_without) = run_with(SimDuration::ZERO);
    assert!(views_with < views_without, "view changes {views_with} vs {views_without}");
    assert!(with_resend > without, "accepted {with_resend} vs {without}");
}
