//! Builds everything a run needs below the protocol from the `network` config: topology, links,
//! latency model, CPUs, disks and the fault schedule.

use std::path::Path;

use crate::config::{LatencyConfig, NetworkConfig, TopologyConfig};
use crate::cpu::Cpus;
use crate::disk::Disks;
use crate::faults::{FaultEvent, Faults};
use crate::latency::LatencyModel;
use crate::network::{LinkCapacities, NetworkSetup};
use crate::rng::{GLOBAL, Purpose, stream};
use crate::time::SimTime;
use crate::topology::{Topology, TopologyError};

/// The simulated environment of one run.
pub struct World {
    /// The peer graph.
    pub topology: Topology,
    /// Links and latency.
    pub network: NetworkSetup,
    /// Cores of every node.
    pub cpus: Cpus,
    /// Disks of every node.
    pub disks: Disks,
    /// Fault state at time zero.
    pub faults: Faults,
    /// Scheduled fault changes, in time order.
    pub fault_schedule: Vec<(SimTime, FaultEvent)>,
}

/// Reads and parses the edges of a topology, resolving a file path against `base_dir`.
/// Separate from [`World::build`] so that `check` can report file problems without running.
pub fn explicit_edges(config: &NetworkConfig, base_dir: &Path) -> Result<Option<Vec<(u32, u32)>>, TopologyError> {
    match &config.topology {
        TopologyConfig::Edges(edges) => Ok(Some(edges.clone())),
        TopologyConfig::EdgeListFile(path) => {
            let full = base_dir.join(path);
            let text = std::fs::read_to_string(&full)
                .map_err(|e| TopologyError(format!("cannot read edge list {}: {e}", full.display())))?;
            Topology::parse_edge_list(&text, config.nodes)
                .map(Some)
                .map_err(|e| TopologyError(format!("{}: {e}", full.display())))
        }
        _ => Ok(None),
    }
}

/// Every node's link capacities: its region's where the region sets them, else `bandwidth`.
fn capacities(config: &NetworkConfig, latency: &LatencyModel) -> LinkCapacities {
    let default = (config.bandwidth.upload, config.bandwidth.download);
    match (&config.latency, latency.regions()) {
        (LatencyConfig::Regions(regions), Some(region_of)) => LinkCapacities::new(region_of.iter().map(|&r| {
            let region = &regions.regions[usize::from(r)];
            (region.upload.unwrap_or(default.0), region.download.unwrap_or(default.1))
        })),
        _ => LinkCapacities::new(std::iter::repeat_n(default, config.nodes as usize)),
    }
}

impl World {
    /// Builds the world for a validated config; random choices draw from streams of `seed`.
    pub fn build(config: &NetworkConfig, seed: u64, base_dir: &Path) -> Result<World, TopologyError> {
        let n = config.nodes;
        let topology = match (&config.topology, explicit_edges(config, base_dir)?) {
            (_, Some(edges)) => Topology::from_edges(n, edges),
            (TopologyConfig::Complete, None) => Topology::complete(n),
            (TopologyConfig::RandomRegular { degree }, None) => {
                Topology::random_regular(n, *degree, &mut stream(seed, Purpose::Topology, GLOBAL))?
            }
            (TopologyConfig::ErdosRenyi { p }, None) => {
                Topology::erdos_renyi(n, *p, &mut stream(seed, Purpose::Topology, GLOBAL))
            }
            (TopologyConfig::OutboundDegree { cdf, inbound_cap }, None) => {
                Topology::outbound_degree(n, cdf, *inbound_cap, &mut stream(seed, Purpose::Topology, GLOBAL))
            }
            (TopologyConfig::Edges(_) | TopologyConfig::EdgeListFile(_), None) => {
                unreachable!("explicit edges are always returned")
            }
        };
        let latency = LatencyModel::build(&config.latency, n, seed);
        let capacities = capacities(config, &latency);
        let network = NetworkSetup {
            capacities,
            contention: config.contention,
            unqueued_up_to: config.unqueued_up_to.bytes(),
            latency,
            seed,
        };
        let (faults, fault_schedule) = Faults::new(n, &config.faults, config.loss, &config.link_loss);
        Ok(World {
            topology,
            network,
            cpus: Cpus::new(n as usize, config.cpu.cores as usize),
            disks: Disks::new(n as usize, config.disk.clone()),
            faults,
            fault_schedule,
        })
    }
}
