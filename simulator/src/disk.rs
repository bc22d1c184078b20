//! Disk service: one FIFO device per node. An operation costs a fixed per-operation latency plus
//! its bytes over the device throughput, with separate read and write parameters; writes may add
//! an fsync cost.

use serde::{Deserialize, Serialize};

use crate::time::{SimDuration, SimTime};
use crate::units::Throughput;

/// Cost parameters of every node's disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskConfig {
    /// Fixed cost of one read operation.
    #[serde(default = "default_read_latency")]
    pub read_latency: SimDuration,
    /// Sequential read throughput.
    #[serde(default = "default_read_throughput")]
    pub read_throughput: Throughput,
    /// Fixed cost of one write operation.
    #[serde(default = "default_write_latency")]
    pub write_latency: SimDuration,
    /// Sequential write throughput.
    #[serde(default = "default_write_throughput")]
    pub write_throughput: Throughput,
    /// Extra cost of making each write durable.
    #[serde(default)]
    pub fsync: SimDuration,
}

fn default_read_latency() -> SimDuration {
    SimDuration::from_micros(100)
}
fn default_read_throughput() -> Throughput {
    Throughput::BytesPerSec(500_000_000)
}
fn default_write_latency() -> SimDuration {
    SimDuration::from_micros(100)
}
fn default_write_throughput() -> Throughput {
    Throughput::BytesPerSec(300_000_000)
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            read_latency: default_read_latency(),
            read_throughput: default_read_throughput(),
            write_latency: default_write_latency(),
            write_throughput: default_write_throughput(),
            fsync: SimDuration::ZERO,
        }
    }
}

/// Whether an operation reads or writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DiskOp {
    /// Read `bytes`.
    Read,
    /// Write `bytes` (plus fsync).
    Write,
}

/// The disks of every node.
#[derive(Clone, Debug)]
pub struct Disks {
    /// The distinct disk models.
    configs: Vec<DiskConfig>,
    /// Each node's index into `configs`; empty when there is one model.
    config_of: Vec<u16>,
    free_at: Vec<SimTime>,
    busy_ns: Vec<u64>,
}

impl Disks {
    /// Idle disks for `nodes` nodes.
    pub fn new(nodes: usize, config: DiskConfig) -> Self {
        Disks {
            configs: vec![config],
            config_of: Vec::new(),
            free_at: vec![SimTime::ZERO; nodes],
            busy_ns: vec![0; nodes],
        }
    }

    /// Idle disks, node `i` with `configs[config_of[i]]`.
    pub fn per_node(configs: Vec<DiskConfig>, config_of: Vec<u16>) -> Self {
        let nodes = config_of.len();
        let config_of = if configs.len() > 1 { config_of } else { Vec::new() };
        Disks { configs, config_of, free_at: vec![SimTime::ZERO; nodes], busy_ns: vec![0; nodes] }
    }

    /// The service time of one operation on `node`'s disk.
    pub fn service_time(&self, node: usize, op: DiskOp, bytes: u64) -> SimDuration {
        let c = &self.configs[self.config_of.get(node).map_or(0, |&i| usize::from(i))];
        match op {
            DiskOp::Read => c.read_latency + c.read_throughput.transfer_time(bytes),
            DiskOp::Write => c.write_latency + c.write_throughput.transfer_time(bytes) + c.fsync,
        }
    }

    /// Queues an operation on `node`'s disk at `now`; returns its completion time.
    pub fn submit(&mut self, node: usize, now: SimTime, op: DiskOp, bytes: u64) -> SimTime {
        let service = self.service_time(node, op, bytes);
        let done = self.free_at[node].max(now) + service;
        self.free_at[node] = done;
        self.busy_ns[node] += service.0;
        done
    }

    /// Total busy time of `node`'s disk, in nanoseconds.
    pub fn busy_ns(&self, node: usize) -> u64 {
        self.busy_ns[node]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_queue_in_order() {
        let config = DiskConfig {
            read_latency: SimDuration::from_millis(1),
            read_throughput: Throughput::BytesPerSec(1_000_000),
            write_latency: SimDuration::from_millis(2),
            write_throughput: Throughput::BytesPerSec(500_000),
            fsync: SimDuration::from_millis(3),
        };
        let mut disk = Disks::new(1, config);
        // Read 1000 B: 1 ms + 1 ms. Write 1000 B: 2 ms + 2 ms + 3 ms, queued behind the read.
        // A second read queues behind both.
        assert_eq!(disk.submit(0, SimTime::ZERO, DiskOp::Read, 1_000), SimTime(2_000_000));
        assert_eq!(disk.submit(0, SimTime::ZERO, DiskOp::Write, 1_000), SimTime(9_000_000));
        assert_eq!(disk.submit(0, SimTime::ZERO, DiskOp::Read, 0), SimTime(10_000_000));
        assert_eq!(disk.submit(0, SimTime(20_000_000), DiskOp::Read, 0), SimTime(21_000_000));
        assert_eq!(disk.busy_ns(0), 11_000_000);
    }
}
