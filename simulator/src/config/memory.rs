//! How much memory a run on a network needs at its peak, estimated from the configuration
//! before anything is built, so that a run that cannot fit is refused instead of aborting minutes
//! in. The engine's own state grows with the nodes (links, queues, counters) and with the
//! adjacency (each link is listed at both ends and carries the messages in flight on it).
//!
//! The constants come from the peak resident memory of flood runs (one 10 KB item, fair-share
//! links, release build): 283 MB at 100,000 nodes of degree 8, 1,284 MB at degree 64, 698 MB at
//! 400,000 nodes of degree 8. The difference between the first two gives 179 bytes per adjacency
//! entry; the rest is rounded up, so the estimate exceeds each measurement (by 6 to 36 %).

use super::{NetworkConfig, TopologyConfig};

/// Bytes every run needs whatever its size: the program, buffers, result writing.
const BASE_BYTES: f64 = 128.0 * 1024.0 * 1024.0;
/// Bytes per node.
const NODE_BYTES: f64 = 600.0;
/// Bytes per adjacency entry (a link at one end).
const ADJACENCY_BYTES: f64 = 180.0;

impl NetworkConfig {
    /// Adjacency entries the topology will hold (each link at both ends), in expectation for
    /// random graphs.
    pub fn adjacency_entries(&self) -> f64 {
        let n = f64::from(self.nodes);
        match &self.topology {
            TopologyConfig::Complete => n * (n - 1.0),
            TopologyConfig::RandomRegular { degree } => n * f64::from(*degree),
            TopologyConfig::ErdosRenyi { p } => p * n * (n - 1.0),
            TopologyConfig::OutboundDegree { cdf, .. } => {
                // E[outbound] = Σ_d P(outbound ≥ d) = Σ_d (1 − cdf[d − 2]), with cdf[−1] = 0.
                let mean: f64 = (0..cdf.len()).map(|d| 1.0 - if d == 0 { 0.0 } else { cdf[d - 1] }).sum();
                2.0 * n * mean
            }
            TopologyConfig::Edges(edges) => 2.0 * edges.len() as f64,
            // Read at build time; counted as a sparse graph.
            TopologyConfig::EdgeListFile(_) => 16.0 * n,
        }
    }

    /// Bytes the engine needs at a run's peak on this network, about (see the module's notes);
    /// a protocol's own state comes on top.
    pub fn memory_estimate(&self) -> f64 {
        BASE_BYTES + NODE_BYTES * f64::from(self.nodes) + ADJACENCY_BYTES * self.adjacency_entries()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(nodes: u32, topology: TopologyConfig) -> NetworkConfig {
        let mut network = crate::presets::preset("bitcoin-2019").expect("a shipped preset");
        network.nodes = nodes;
        network.topology = topology;
        network
    }

    #[test]
    fn the_estimate_covers_the_measured_runs() {
        for (nodes, degree, measured_mb) in [(100_000, 8, 283.0), (100_000, 64, 1_284.0), (400_000, 8, 698.0)] {
            let estimate = network(nodes, TopologyConfig::RandomRegular { degree }).memory_estimate() / 1e6;
            assert!(estimate >= measured_mb && estimate < 1.5 * measured_mb, "{nodes} × {degree}: {estimate} MB");
        }
    }

    #[test]
    fn adjacency_counts_each_link_at_both_ends() {
        assert_eq!(network(10, TopologyConfig::Complete).adjacency_entries(), 90.0);
        assert_eq!(network(10, TopologyConfig::Edges(vec![(0, 1), (1, 2)])).adjacency_entries(), 4.0);
        let outbound = TopologyConfig::OutboundDegree { cdf: vec![0.5, 1.0], inbound_cap: None };
        assert_eq!(network(10, outbound).adjacency_entries(), 2.0 * 10.0 * 1.5);
    }
}
