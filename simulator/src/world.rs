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
use crate::roles::RoleConfig;
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
    /// Each node's role (an index into `network.roles`); empty without roles.
    pub role_of: Vec<Option<u16>>,
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

/// Every node's link capacities: its role's where the role sets them, else its region's where
/// the region sets them, else `bandwidth`.
fn capacities(config: &NetworkConfig, latency: &LatencyModel, role_of: &[Option<u16>]) -> LinkCapacities {
    let default = (config.bandwidth.upload, config.bandwidth.download);
    let regional = |node: usize| match (&config.latency, latency.regions()) {
        (LatencyConfig::Regions(regions), Some(region_of)) => {
            let region = &regions.regions[usize::from(region_of[node])];
            (region.upload.unwrap_or(default.0), region.download.unwrap_or(default.1))
        }
        _ => default,
    };
    LinkCapacities::new((0..config.nodes as usize).map(|node| {
        let role = role_of.get(node).copied().flatten().map(|r| &config.roles[usize::from(r)]);
        match role.and_then(|r| r.bandwidth.as_ref()) {
            Some(bandwidth) => (bandwidth.upload, bandwidth.download),
            None => regional(node),
        }
    }))
}

/// The region index a role pins each node to, or nothing when no role pins a region.
fn pinned_regions(config: &NetworkConfig, role_of: &[Option<u16>]) -> Vec<Option<u8>> {
    let LatencyConfig::Regions(regions) = &config.latency else { return Vec::new() };
    let pin = |role: &RoleConfig| {
        let name = role.region.as_ref()?;
        regions.regions.iter().position(|r| r.name == *name).map(|i| i as u8)
    };
    if !config.roles.iter().any(|role| pin(role).is_some()) {
        return Vec::new();
    }
    role_of.iter().map(|role| role.and_then(|r| pin(&config.roles[usize::from(r)]))).collect()
}

/// Every node's cores: its role's where the role sets them, else `cpu`.
fn cpus(config: &NetworkConfig, role_of: &[Option<u16>]) -> Cpus {
    if role_of.is_empty() {
        return Cpus::new(config.nodes as usize, config.cpu.cores as usize);
    }
    let cores: Vec<usize> = role_of
        .iter()
        .map(|role| {
            let cpu = role.and_then(|r| config.roles[usize::from(r)].cpu.as_ref()).unwrap_or(&config.cpu);
            cpu.cores as usize
        })
        .collect();
    Cpus::per_node(&cores)
}

/// Every node's disk: its role's where the role sets one, else `disk`.
fn disks(config: &NetworkConfig, role_of: &[Option<u16>]) -> Disks {
    if role_of.is_empty() {
        return Disks::new(config.nodes as usize, config.disk.clone());
    }
    // Model 0 is the default; role r's own disk, if any, is model r + 1.
    let configs = std::iter::once(config.disk.clone())
        .chain(config.roles.iter().map(|role| role.disk.clone().unwrap_or_else(|| config.disk.clone())))
        .collect();
    let config_of = role_of
        .iter()
        .map(|role| role.filter(|&r| config.roles[usize::from(r)].disk.is_some()).map_or(0, |r| r + 1))
        .collect();
    Disks::per_node(configs, config_of)
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
        let roles = config.roles().map_err(|e| TopologyError(e.to_string()))?;
        let role_of = if config.roles.is_empty() { Vec::new() } else { roles.role_of(n) };
        let latency = LatencyModel::build_placed(&config.latency, n, seed, &pinned_regions(config, &role_of));
        let capacities = capacities(config, &latency, &role_of);
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
            cpus: cpus(config, &role_of),
            disks: disks(config, &role_of),
            faults,
            fault_schedule,
            role_of,
        })
    }

    /// Each node's role and region by name (empty where it has none); `None` for a network
    /// without roles, or without regions.
    pub fn node_labels(&self, config: &NetworkConfig) -> NodeLabels {
        let role = (!self.role_of.is_empty()).then(|| {
            self.role_of
                .iter()
                .map(|r| r.map_or(String::new(), |r| config.roles[usize::from(r)].name.clone()))
                .collect()
        });
        let region = match (&config.latency, self.network.latency.regions()) {
            (LatencyConfig::Regions(regions), Some(region_of)) => {
                Some(region_of.iter().map(|&r| regions.regions[usize::from(r)].name.clone()).collect())
            }
            _ => None,
        };
        NodeLabels { role, region }
    }
}

/// Names of each node's role and region, for per-node results.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeLabels {
    /// Role names by node; `None` without roles.
    pub role: Option<Vec<String>>,
    /// Region names by node; `None` without regions.
    pub region: Option<Vec<String>>,
}
