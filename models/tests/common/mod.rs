//! Networks, runs and metric reads shared by the model tests.

#![allow(dead_code)] // Each test file uses a different part of this helper.

use std::path::Path;

use models::registry::{Registered, Setting};
use simulator::config::{BandwidthConfig, Contention, CpuConfig, LatencyConfig, NetworkConfig, TopologyConfig};
use simulator::disk::DiskConfig;
use simulator::units::{Bandwidth, Throughput};
use simulator::{Limits, MetricValue, Report, SimDuration, SimTime, Simulation, World};

/// `nodes` nodes on a complete graph with constant latency `delta`, no bandwidth limit, one core
/// each and free disks: message timings are whole multiples of `delta`.
pub fn constant_latency(nodes: u32, delta: SimDuration) -> NetworkConfig {
    NetworkConfig {
        nodes,
        topology: TopologyConfig::Complete,
        bandwidth: BandwidthConfig { upload: Bandwidth::Unlimited, download: Bandwidth::Unlimited },
        contention: Contention::Fifo,
        unqueued_up_to: Default::default(),
        latency: LatencyConfig::Constant(delta),
        loss: 0.0,
        link_loss: Vec::new(),
        cpu: CpuConfig { cores: 1 },
        disk: DiskConfig {
            read_latency: SimDuration::ZERO,
            read_throughput: Throughput::Unlimited,
            write_latency: SimDuration::ZERO,
            write_throughput: Throughput::Unlimited,
            fsync: SimDuration::ZERO,
        },
        faults: Default::default(),
        roles: Vec::new(),
    }
}

/// Runs protocol `P` with `config` on `network` until `until` (both validated first), and its
/// report.
pub fn run<P: Registered>(network: &NetworkConfig, config: &P::Config, seed: u64, until: SimDuration) -> (P, Report) {
    network.validate().unwrap();
    let setting = Setting { network, stop_time: Some(until) };
    P::validate(config, &setting).unwrap();
    let world = World::build(network, seed, Path::new(".")).unwrap();
    let limits = Limits { time: Some(SimTime::ZERO + until), events: None };
    let (protocol, stats) = Simulation::new(P::build(config, &setting, seed), world, seed, limits).run();
    let report = protocol.report(&stats);
    (protocol, report)
}

/// Metric `name` of `report` as a number; missing is a test failure.
pub fn metric(report: &Report, name: &str) -> f64 {
    match report.metric(name) {
        Some(value @ (MetricValue::Count(_) | MetricValue::Real(_) | MetricValue::Share { .. })) => {
            value.as_f64().expect("defined")
        }
        other => panic!("{name}: {other:?}"),
    }
}
