//! The `network` section of an experiment file: nodes, topology, links, latency, CPU, disk and
//! faults. Every struct rejects unknown keys; every field a newcomer need not know has a default.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::disk::DiskConfig;
use crate::roles::{RoleConfig, Roles};

mod latency;
mod memory;

use crate::time::SimDuration;
use crate::units::{Bandwidth, ByteSize, Throughput};
pub use latency::{Jitter, LatencyConfig, Region, RegionLatency};

/// A validation failure: the key path of the offending value and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted key path, e.g. `network.bandwidth.upload`.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { path: path.into(), message: message.into() }
    }

    /// The same error seen from one level up: `prefix.path`.
    pub fn within(mut self, prefix: &str) -> Self {
        self.path = if self.path.is_empty() { prefix.to_string() } else { format!("{prefix}.{}", self.path) };
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The simulated network and the resources of its nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Number of nodes, numbered `0..nodes`.
    pub nodes: u32,
    /// How nodes are connected.
    #[serde(default)]
    pub topology: TopologyConfig,
    /// Access-link capacity of every node.
    #[serde(default)]
    pub bandwidth: BandwidthConfig,
    /// How concurrent transfers share a node's uplink and downlink.
    #[serde(default)]
    pub contention: Contention,
    /// Messages of at most this size (one packet, say "1500B") take no share of the access links:
    /// each arrives `S·8 / min(U, D) + L` after it is sent, however busy the links are, and
    /// delays no other transfer. This spares the events of small control messages, whose queueing
    /// is a few packet times. "0B" (the default) queues every message.
    #[serde(default)]
    pub unqueued_up_to: ByteSize,
    /// One-way propagation latency of each message.
    #[serde(default)]
    pub latency: LatencyConfig,
    /// Probability that any message is lost.
    #[serde(default)]
    pub loss: f64,
    /// Per-link loss probabilities that replace `loss` on those links (both directions).
    #[serde(default)]
    pub link_loss: Vec<LinkLoss>,
    /// CPU of every node.
    #[serde(default)]
    pub cpu: CpuConfig,
    /// Disk of every node.
    #[serde(default)]
    pub disk: DiskConfig,
    /// Scheduled partitions and crashes.
    #[serde(default)]
    pub faults: FaultsConfig,
    /// Named groups of nodes with their own CPU, disk, bandwidth and region.
    #[serde(default)]
    pub roles: Vec<RoleConfig>,
}

/// Graph of peer connections (links are usable in both directions).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TopologyConfig {
    /// Every node connected to every other.
    Complete,
    /// A uniformly random simple graph in which every node has exactly `degree` neighbours.
    RandomRegular {
        /// Neighbours per node; `nodes × degree` must be even and `degree < nodes`.
        degree: u32,
    },
    /// G(n, p): each pair connected independently with probability `p`.
    ErdosRenyi {
        /// Edge probability in `[0, 1]`.
        p: f64,
    },
    /// Every node opens a random number of outbound connections, drawn from `cdf`, to distinct
    /// random peers; connections carry traffic both ways (Bitcoin's peer graph).
    OutboundDegree {
        /// `cdf[d − 1]` = P(outbound connections ≤ d), non-decreasing, ending at 1.
        cdf: Vec<f64>,
        /// Most connections a node accepts from others; a peer that is full is passed over.
        #[serde(default)]
        inbound_cap: Option<u32>,
    },
    /// An explicit list of undirected edges.
    Edges(Vec<(u32, u32)>),
    /// An edge-list file: one `a b` pair per line (spaces, tabs or a comma), `#` starts a comment.
    /// A relative path is resolved against the experiment file's folder.
    EdgeListFile(String),
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig::RandomRegular { degree: 8 }
    }
}

/// Access-link capacities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandwidthConfig {
    /// Uplink capacity of every node.
    #[serde(default = "default_link")]
    pub upload: Bandwidth,
    /// Downlink capacity of every node.
    #[serde(default = "default_link")]
    pub download: Bandwidth,
}

fn default_link() -> Bandwidth {
    Bandwidth::BitsPerSec(100_000_000)
}

impl Default for BandwidthConfig {
    fn default() -> Self {
        BandwidthConfig { upload: default_link(), download: default_link() }
    }
}

/// Sharing policy of a node's uplink and downlink.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Contention {
    /// One transfer at a time, in the order the transfers reach the link.
    Fifo,
    /// Concurrent transfers split the capacity equally (processor sharing, like parallel TCP flows).
    #[default]
    FairShare,
}

/// A loss probability for one link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkLoss {
    /// One end of the link.
    pub a: u32,
    /// The other end.
    pub b: u32,
    /// Probability that a message on this link is lost.
    pub probability: f64,
}

/// CPU of each node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuConfig {
    /// Cores per node.
    #[serde(default = "default_cores")]
    pub cores: u32,
}

fn default_cores() -> u32 {
    1
}

impl Default for CpuConfig {
    fn default() -> Self {
        CpuConfig { cores: default_cores() }
    }
}

/// Faults scheduled in simulated time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsConfig {
    /// Sets of nodes cut off from the rest for a while.
    #[serde(default)]
    pub partitions: Vec<PartitionConfig>,
    /// Node crashes, with optional recovery.
    #[serde(default)]
    pub crashes: Vec<CrashConfig>,
}

/// While active, no message crosses between `nodes` and the other nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionConfig {
    /// When the cut starts.
    #[serde(default)]
    pub from: SimDuration,
    /// When it heals; never if absent.
    #[serde(default)]
    pub until: Option<SimDuration>,
    /// The nodes on one side of the cut.
    pub nodes: NodeSet,
}

/// A crash of one node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashConfig {
    /// The node that crashes.
    pub node: u32,
    /// When it crashes.
    pub at: SimDuration,
    /// When it comes back; never if absent.
    #[serde(default)]
    pub recover: Option<SimDuration>,
}

/// A set of node ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NodeSet {
    /// These ids.
    Nodes(Vec<u32>),
    /// Ids `start..end` (end excluded).
    Range(u32, u32),
}

impl NodeSet {
    /// The ids in the set, ascending, without duplicates.
    pub fn ids(&self) -> Vec<u32> {
        let mut ids = match self {
            NodeSet::Nodes(ids) => ids.clone(),
            NodeSet::Range(start, end) => (*start..*end).collect(),
        };
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Most nodes a network may have: per-node state and links must fit in memory.
pub const MAX_NODES: u32 = 100_000_000;

/// Most partitions a run may schedule: each one is a bit of a per-node membership mask.
pub const MAX_PARTITIONS: usize = 64;

fn check_probability(path: &str, p: f64) -> Result<(), ConfigError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(ConfigError::new(path, format!("must be a probability between 0 and 1, got {p}")))
    }
}

fn check_node(path: &str, node: u32, nodes: u32) -> Result<(), ConfigError> {
    if node < nodes {
        Ok(())
    } else {
        Err(ConfigError::new(path, format!("node {node} does not exist: nodes are numbered 0..{nodes}")))
    }
}

fn check_positive_bandwidth(path: &str, b: Bandwidth) -> Result<(), ConfigError> {
    match b {
        Bandwidth::BitsPerSec(0) => Err(ConfigError::new(path, "must be > 0 (use \"unlimited\" for no limit)")),
        _ => Ok(()),
    }
}

fn check_positive_throughput(path: &str, t: Throughput) -> Result<(), ConfigError> {
    match t {
        Throughput::BytesPerSec(0) => Err(ConfigError::new(path, "must be > 0 (use \"unlimited\" for no limit)")),
        _ => Ok(()),
    }
}

/// Checks a CPU section found at `path`.
pub(crate) fn check_cpu(path: &str, cpu: &CpuConfig) -> Result<(), ConfigError> {
    if cpu.cores == 0 {
        return Err(ConfigError::new(format!("{path}.cores"), "must be at least 1"));
    }
    Ok(())
}

/// Checks a disk section found at `path`.
pub(crate) fn check_disk(path: &str, disk: &DiskConfig) -> Result<(), ConfigError> {
    check_positive_throughput(&format!("{path}.read_throughput"), disk.read_throughput)?;
    check_positive_throughput(&format!("{path}.write_throughput"), disk.write_throughput)
}

/// Checks a bandwidth section found at `path`.
pub(crate) fn check_bandwidth(path: &str, bandwidth: &BandwidthConfig) -> Result<(), ConfigError> {
    check_positive_bandwidth(&format!("{path}.upload"), bandwidth.upload)?;
    check_positive_bandwidth(&format!("{path}.download"), bandwidth.download)
}

impl NetworkConfig {
    /// Checks every value; errors carry the key path below `network`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let n = self.nodes;
        if n == 0 {
            return Err(ConfigError::new("nodes", "must be at least 1"));
        }
        if n > MAX_NODES {
            return Err(ConfigError::new("nodes", format!("at most {MAX_NODES} nodes fit in memory, got {n}")));
        }
        self.validate_topology()?;
        check_bandwidth("bandwidth", &self.bandwidth)?;
        self.validate_latency()?;
        check_probability("loss", self.loss)?;
        for (i, link) in self.link_loss.iter().enumerate() {
            let path = format!("link_loss[{i}]");
            check_node(&format!("{path}.a"), link.a, n)?;
            check_node(&format!("{path}.b"), link.b, n)?;
            check_probability(&format!("{path}.probability"), link.probability)?;
        }
        check_cpu("cpu", &self.cpu)?;
        check_disk("disk", &self.disk)?;
        self.validate_faults()?;
        Roles::resolve(self).map(drop)
    }

    /// The roles with their nodes; `Roles::resolve` explains what makes them invalid.
    pub fn roles(&self) -> Result<Roles, ConfigError> {
        Roles::resolve(self)
    }

    fn validate_topology(&self) -> Result<(), ConfigError> {
        let n = self.nodes;
        // Adjacency is indexed with u32 offsets; a denser graph would not fit (nor be useful).
        let max_links = f64::from(i32::MAX);
        match &self.topology {
            TopologyConfig::Complete if f64::from(n) * f64::from(n - 1) > max_links => Err(ConfigError::new(
                "topology",
                format!("a complete graph on {n} nodes has too many links; use RandomRegular or ErdosRenyi"),
            )),
            TopologyConfig::ErdosRenyi { p } if p * f64::from(n) * f64::from(n - 1) > max_links => {
                Err(ConfigError::new("topology.p", format!("p = {p} on {n} nodes gives too many links; lower p")))
            }
            TopologyConfig::Complete | TopologyConfig::EdgeListFile(_) => Ok(()),
            TopologyConfig::RandomRegular { degree } => {
                let path = "topology.degree";
                if f64::from(n) * f64::from(*degree) > max_links {
                    Err(ConfigError::new(
                        path,
                        format!(
                            "degree {degree} on {n} nodes gives too many links (more than 2^31 link ends); lower the degree"
                        ),
                    ))
                } else if *degree >= n {
                    Err(ConfigError::new(
                        path,
                        format!("degree {degree} must be less than network.nodes ({n}); lower the degree or add nodes"),
                    ))
                } else if (u64::from(*degree) * u64::from(n)) % 2 == 1 {
                    Err(ConfigError::new(path, format!("nodes × degree ({n} × {degree}) must be even")))
                } else {
                    Ok(())
                }
            }
            TopologyConfig::ErdosRenyi { p } => check_probability("topology.p", *p),
            TopologyConfig::OutboundDegree { cdf, inbound_cap } => {
                if cdf.is_empty() {
                    return Err(ConfigError::new("topology.cdf", "give P(outbound ≤ d) for d = 1, 2, ..."));
                }
                if cdf.len() >= n as usize {
                    let most = cdf.len();
                    return Err(ConfigError::new(
                        "topology.cdf",
                        format!(
                            "nodes may have up to {most} outbound peers, which needs at least {} nodes, and \
                             network.nodes is {n}; add nodes or shorten the cdf",
                            most + 1
                        ),
                    ));
                }
                let ordered = cdf.windows(2).all(|w| w[0] <= w[1]);
                if !ordered || cdf.iter().any(|p| !(0.0..=1.0).contains(p)) || cdf[cdf.len() - 1] != 1.0 {
                    return Err(ConfigError::new(
                        "topology.cdf",
                        "must be a cumulative distribution: values in [0, 1], non-decreasing, the last exactly 1",
                    ));
                }
                if *inbound_cap == Some(0) {
                    return Err(ConfigError::new("topology.inbound_cap", "must be at least 1, or absent for no cap"));
                }
                Ok(())
            }
            TopologyConfig::Edges(edges) => {
                for (i, &(a, b)) in edges.iter().enumerate() {
                    check_node(&format!("topology[{i}]"), a, n)?;
                    check_node(&format!("topology[{i}]"), b, n)?;
                }
                Ok(())
            }
        }
    }

    fn validate_latency(&self) -> Result<(), ConfigError> {
        match &self.latency {
            LatencyConfig::Constant(_) => Ok(()),
            LatencyConfig::Uniform { min, max } if min > max => {
                Err(ConfigError::new("latency.min", format!("min ({min}) must not exceed max ({max})")))
            }
            LatencyConfig::Uniform { .. } | LatencyConfig::Normal { .. } => Ok(()),
            LatencyConfig::LogNormal { median, sigma } => {
                if median.0 == 0 {
                    Err(ConfigError::new("latency.median", "must be > 0"))
                } else if !(sigma.is_finite() && *sigma > 0.0) {
                    Err(ConfigError::new("latency.sigma", format!("must be > 0, got {sigma}")))
                } else {
                    Ok(())
                }
            }
            LatencyConfig::Pareto { scale, shape } => {
                if scale.0 == 0 {
                    Err(ConfigError::new("latency.scale", "must be > 0"))
                } else if !(shape.is_finite() && *shape > 0.0) {
                    Err(ConfigError::new("latency.shape", format!("must be > 0, got {shape}")))
                } else {
                    Ok(())
                }
            }
            LatencyConfig::Regions(r) => r.validate().map_err(|e| e.within("latency")),
        }
    }

    fn validate_faults(&self) -> Result<(), ConfigError> {
        let n = self.nodes;
        let faults = &self.faults;
        if faults.partitions.len() > MAX_PARTITIONS {
            return Err(ConfigError::new(
                "faults.partitions",
                format!("at most {MAX_PARTITIONS} partitions, got {}", faults.partitions.len()),
            ));
        }
        for (i, p) in faults.partitions.iter().enumerate() {
            let path = format!("faults.partitions[{i}]");
            if let Some(until) = p.until
                && until <= p.from
            {
                return Err(ConfigError::new(format!("{path}.until"), "must be later than `from`"));
            }
            if let NodeSet::Range(start, end) = p.nodes
                && start >= end
            {
                return Err(ConfigError::new(
                    format!("{path}.nodes"),
                    "range is empty: write Range(start, end) with start < end",
                ));
            }
            for id in p.nodes.ids() {
                check_node(&format!("{path}.nodes"), id, n)?;
            }
        }
        for (i, c) in faults.crashes.iter().enumerate() {
            let path = format!("faults.crashes[{i}]");
            check_node(&format!("{path}.node"), c.node, n)?;
            if let Some(recover) = c.recover
                && recover <= c.at
            {
                return Err(ConfigError::new(format!("{path}.recover"), "must be later than `at`"));
            }
        }
        Ok(())
    }
}
