//! Networks shared by the model tests.

use simulator::SimDuration;
use simulator::config::{BandwidthConfig, Contention, CpuConfig, LatencyConfig, NetworkConfig, TopologyConfig};
use simulator::disk::DiskConfig;
use simulator::units::{Bandwidth, Throughput};

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
