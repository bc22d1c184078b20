//! Flooding end to end on the engine: coverage, partitions, crashes and the reported metrics.

use std::path::Path;

use models::Model;
use models::flood::{Arrivals, Flood, FloodConfig, Sources};
use simulator::config::{
    BandwidthConfig, Contention, CrashConfig, LatencyConfig, NetworkConfig, NodeSet, PartitionConfig, TopologyConfig,
};
use simulator::units::{Bandwidth, ByteSize};
use simulator::{Limits, MetricValue, Report, RunStats, SimDuration, Simulation, StopReason, World};

fn network(nodes: u32, topology: TopologyConfig) -> NetworkConfig {
    NetworkConfig {
        nodes,
        topology,
        bandwidth: BandwidthConfig {
            upload: Bandwidth::BitsPerSec(10_000_000),
            download: Bandwidth::BitsPerSec(20_000_000),
        },
        contention: Contention::FairShare,
        unqueued_up_to: Default::default(),
        latency: LatencyConfig::LogNormal { median: SimDuration::from_millis(40), sigma: 0.5 },
        loss: 0.0,
        link_loss: Vec::new(),
        cpu: Default::default(),
        disk: Default::default(),
        faults: Default::default(),
        roles: Vec::new(),
    }
}

fn flood_config(items: u32, sources: Sources) -> FloodConfig {
    FloodConfig {
        items,
        item_size: ByteSize(50_000),
        interval: SimDuration::from_millis(500),
        arrivals: Arrivals::Poisson,
        sources,
        ..FloodConfig::default()
    }
}

fn run(config: &NetworkConfig, flood: FloodConfig, seed: u64) -> (Flood, RunStats, Report) {
    config.validate().unwrap();
    flood.validate(config.nodes).unwrap();
    let world = World::build(config, seed, Path::new(".")).unwrap();
    let (flood, stats) = Simulation::new(
        Flood::new(flood, config.nodes, &config.roles().unwrap(), seed),
        world,
        seed,
        Limits::default(),
    )
    .run();
    let report = flood.report(&stats);
    (flood, stats, report)
}

fn metric(report: &Report, name: &str) -> MetricValue {
    report.metric(name).unwrap()
}

#[test]
fn every_node_of_a_connected_graph_receives_every_item() {
    for topology in [TopologyConfig::RandomRegular { degree: 6 }, TopologyConfig::ErdosRenyi { p: 0.05 }] {
        let config = network(300, topology);
        let (flood, stats, report) = run(&config, flood_config(5, Sources::Any), 3);
        let world = World::build(&config, 3, Path::new(".")).unwrap();
        assert_eq!(world.topology.components(), 1, "the test needs a connected graph");
        assert_eq!(stats.stop, StopReason::Finished);
        for item in 0..5 {
            assert!((0..300).all(|node| flood.holds(item, node)), "item {item}");
        }
        let p50 = metric(&report, "reach_p50_ms").as_f64().unwrap();
        let p90 = metric(&report, "reach_p90_ms").as_f64().unwrap();
        let p100 = metric(&report, "reach_p100_ms").as_f64().unwrap();
        assert!(0.0 < p50 && p50 <= p90 && p90 <= p100, "{p50} {p90} {p100}");
        assert_eq!(metric(&report, "bytes_sent"), MetricValue::Count(stats.total(|c| c.bytes_sent)));
        assert_eq!(report.detail["coverage"], 1.0);
        let names: Vec<&str> = report.metrics.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, models::flood::METRICS);
    }
}

#[test]
fn a_partition_confines_items_to_the_sources_component() {
    let mut config = network(200, TopologyConfig::RandomRegular { degree: 4 });
    let cut_off = NodeSet::Range(0, 60);
    config.faults.partitions = vec![PartitionConfig { from: SimDuration::ZERO, until: None, nodes: cut_off }];
    let (flood, stats, report) = run(&config, flood_config(3, Sources::Nodes(vec![150])), 5);
    let world = World::build(&config, 5, Path::new(".")).unwrap();
    let reachable = world.topology.reachable_from(150, |a, b| (a < 60) != (b < 60));
    for item in 0..3 {
        for node in 0..200 {
            assert_eq!(flood.holds(item, node), reachable[node as usize], "item {item} node {node}");
        }
    }
    assert!(reachable.iter().filter(|&&r| r).count() >= 130);
    assert_eq!(stats.stop, StopReason::Quiescent);
    assert_eq!(metric(&report, "reach_p100_ms"), MetricValue::Missing);
    assert!(metric(&report, "reach_p50_ms").as_f64().is_some());
    assert!(stats.nodes[..60].iter().all(|c| c.messages_received == 0));
}

#[test]
fn a_crashed_node_receives_nothing_while_down_and_catches_up_after() {
    let mut config = network(100, TopologyConfig::RandomRegular { degree: 6 });
    // Item 0 is created at 0 and item 1 at 2 s; node 7 is down from 0 to 1.5 s.
    config.faults.crashes =
        vec![CrashConfig { node: 7, at: SimDuration::ZERO, recover: Some(SimDuration::from_millis(1500)) }];
    let flood_cfg = FloodConfig {
        items: 2,
        arrivals: Arrivals::Periodic,
        interval: SimDuration::from_secs(2),
        sources: Sources::Nodes(vec![0]),
        ..flood_config(2, Sources::Any)
    };
    let (flood, stats, _) = run(&config, flood_cfg, 8);
    assert!(!flood.holds(0, 7), "item 0 spread while node 7 was down");
    assert!(flood.holds(1, 7), "item 1 spread after recovery");
    assert!(stats.nodes[7].messages_dropped >= 1);
    assert_eq!(stats.nodes[7].messages_received, 6, "one copy of item 1 from each of its 6 peers");
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let config = network(150, TopologyConfig::RandomRegular { degree: 4 });
    let (_, a, ra) = run(&config, flood_config(4, Sources::Any), 21);
    let (_, b, rb) = run(&config, flood_config(4, Sources::Any), 21);
    let (_, c, _) = run(&config, flood_config(4, Sources::Any), 22);
    assert_eq!((a.digest, &a.nodes), (b.digest, &b.nodes));
    assert_eq!(ra, rb);
    assert_ne!(a.digest, c.digest);
}
