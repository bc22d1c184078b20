//! Roles: named groups of nodes with their own machines and place. A role lists its nodes (a
//! count laid out in order, a range or a list) and may give them their own `cpu`, `disk`,
//! `bandwidth` and `region`; nodes in no role keep the `network` section's defaults. Protocols
//! refer to roles by name (a PBFT group's replicas, a flood's sources).

use serde::{Deserialize, Serialize};

use crate::config::{BandwidthConfig, ConfigError, CpuConfig, LatencyConfig, NetworkConfig};
use crate::disk::DiskConfig;
use crate::topology::NodeId;

/// One role of the `network.roles` list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// The name protocols and results use.
    pub name: String,
    /// Which nodes have the role.
    pub nodes: RoleNodes,
    /// The CPU of its nodes, replacing `network.cpu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuConfig>,
    /// The disk of its nodes, replacing `network.disk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskConfig>,
    /// The access links of its nodes, replacing `network.bandwidth` and a region's capacities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<BandwidthConfig>,
    /// The region (of `network.latency`'s `Regions`) its nodes are placed in, instead of being
    /// drawn by the regions' shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// The nodes of a role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoleNodes {
    /// This many nodes, laid out in order: the first `Count` role from node 0, each further one
    /// after the one before it.
    Count(u32),
    /// Nodes `start..end` (end excluded).
    Range(u32, u32),
    /// These nodes.
    Nodes(Vec<NodeId>),
}

/// The roles of a network with their nodes resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    names: Vec<String>,
    members: Vec<Vec<NodeId>>,
}

impl Roles {
    /// Resolves and checks the roles of `config`; error paths are below `network`.
    pub fn resolve(config: &NetworkConfig) -> Result<Roles, ConfigError> {
        let n = config.nodes;
        let mut roles = Roles::default();
        let mut next_counted: u64 = 0;
        let mut owner: Vec<(NodeId, usize)> = Vec::new();
        for (i, role) in config.roles.iter().enumerate() {
            let path = |field: &str| format!("roles[{i}].{field}");
            if role.name.is_empty() {
                return Err(ConfigError::new(path("name"), "give the role a name"));
            }
            if let Some(j) = roles.names.iter().position(|name| *name == role.name) {
                return Err(ConfigError::new(path("name"), format!("`{}` is also the name of roles[{j}]", role.name)));
            }
            let members: Vec<NodeId> = match &role.nodes {
                RoleNodes::Count(count) => {
                    let start = next_counted;
                    next_counted += u64::from(*count);
                    if next_counted > u64::from(n) {
                        return Err(ConfigError::new(
                            path("nodes"),
                            format!(
                                "the counted roles up to this one need {next_counted} nodes and network.nodes is {n}; add nodes or lower the count"
                            ),
                        ));
                    }
                    (start as NodeId..next_counted as NodeId).collect()
                }
                RoleNodes::Range(start, end) => (*start..*end).collect(),
                RoleNodes::Nodes(ids) => {
                    let mut ids = ids.clone();
                    ids.sort_unstable();
                    ids.dedup();
                    ids
                }
            };
            if members.is_empty() {
                return Err(ConfigError::new(path("nodes"), "the role has no nodes; give it at least one"));
            }
            if let Some(&bad) = members.iter().find(|&&id| id >= n) {
                return Err(ConfigError::new(
                    path("nodes"),
                    format!("node {bad} does not exist: nodes are numbered 0..{n}"),
                ));
            }
            owner.extend(members.iter().map(|&id| (id, i)));
            role.check_resources(config).map_err(|e| e.within(&format!("roles[{i}]")))?;
            roles.names.push(role.name.clone());
            roles.members.push(members);
        }
        owner.sort_unstable();
        if let Some(pair) = owner.windows(2).find(|w| w[0].0 == w[1].0) {
            let (node, first, second) = (pair[0].0, pair[0].1, pair[1].1);
            return Err(ConfigError::new(
                format!("roles[{second}].nodes"),
                format!(
                    "node {node} is also in role `{}` (roles[{first}]); a node has at most one role",
                    config.roles[first].name
                ),
            ));
        }
        Ok(roles)
    }

    /// The nodes of the role called `name`, ascending.
    pub fn members(&self, name: &str) -> Option<&[NodeId]> {
        self.names.iter().position(|n| n == name).map(|i| self.members[i].as_slice())
    }

    /// Every node's role index (`None` for nodes in no role).
    pub fn role_of(&self, nodes: u32) -> Vec<Option<u16>> {
        let mut role_of = vec![None; nodes as usize];
        for (role, members) in self.members.iter().enumerate() {
            for &node in members {
                role_of[node as usize] = Some(role as u16);
            }
        }
        role_of
    }

    /// The members of the role called `name` for a protocol key `path` that names it, with the
    /// fix in the error when there is no such role or it has fewer than `at_least` nodes.
    pub fn require(&self, path: &str, name: &str, at_least: usize) -> Result<&[NodeId], ConfigError> {
        let Some(members) = self.members(name) else {
            let known = if self.names.is_empty() {
                "the network has no roles; add network.roles: [(name: ..., nodes: ...)]".to_string()
            } else {
                format!("roles: {}", self.names.join(", "))
            };
            return Err(ConfigError::new(path, format!("no role `{name}` in network.roles; {known}")));
        };
        if members.len() < at_least {
            return Err(ConfigError::new(
                path,
                format!("role `{name}` has {} nodes and needs at least {at_least}", members.len()),
            ));
        }
        Ok(members)
    }
}

impl RoleConfig {
    /// A role named `name` over `nodes`, with the network section's machines and placement.
    pub fn new(name: &str, nodes: RoleNodes) -> Self {
        RoleConfig { name: name.to_string(), nodes, cpu: None, disk: None, bandwidth: None, region: None }
    }

    /// Checks the role's own machines and region; paths are below the role.
    fn check_resources(&self, network: &NetworkConfig) -> Result<(), ConfigError> {
        if let Some(cpu) = &self.cpu {
            crate::config::check_cpu("cpu", cpu)?;
        }
        if let Some(disk) = &self.disk {
            crate::config::check_disk("disk", disk)?;
        }
        if let Some(bandwidth) = &self.bandwidth {
            crate::config::check_bandwidth("bandwidth", bandwidth)?;
        }
        if let Some(region) = &self.region {
            let LatencyConfig::Regions(regions) = &network.latency else {
                return Err(ConfigError::new(
                    "region",
                    "network.latency places no nodes in regions; use latency: Regions(...) or a preset",
                ));
            };
            if !regions.regions.iter().any(|r| r.name == *region) {
                let names: Vec<&str> = regions.regions.iter().map(|r| r.name.as_str()).collect();
                return Err(ConfigError::new(
                    "region",
                    format!("no region `{region}` in network.latency; regions: {}", names.join(", ")),
                ));
            }
        }
        Ok(())
    }
}
