//! The `Flood(...)` protocol section of an experiment file.

use serde::{Deserialize, Serialize};
use simulator::config::ConfigError;
use simulator::units::ByteSize;
use simulator::{NodeId, SimDuration};

/// Flooding: sources create items; every node forwards an item to all its peers the first time it
/// receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloodConfig {
    /// How many items are created in the run.
    #[serde(default = "default_items")]
    pub items: u32,
    /// Size of every item on the wire.
    #[serde(default = "default_item_size")]
    pub item_size: ByteSize,
    /// Time between item creations (the mean, for Poisson arrivals).
    #[serde(default = "default_interval")]
    pub interval: SimDuration,
    /// Regular or random creation times.
    #[serde(default)]
    pub arrivals: Arrivals,
    /// Which nodes may create items; each item's source is drawn uniformly from them.
    #[serde(default)]
    pub sources: Sources,
    /// CPU time to check a received item before forwarding it.
    #[serde(default)]
    pub verify: SimDuration,
    /// Write every received item to disk before forwarding it.
    #[serde(default)]
    pub persist: bool,
}

fn default_items() -> u32 {
    10
}
fn default_item_size() -> ByteSize {
    ByteSize(1_000_000)
}
fn default_interval() -> SimDuration {
    SimDuration::from_secs(1)
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig {
            items: default_items(),
            item_size: default_item_size(),
            interval: default_interval(),
            arrivals: Arrivals::default(),
            sources: Sources::default(),
            verify: SimDuration::ZERO,
            persist: false,
        }
    }
}

/// How item creation times are spaced.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arrivals {
    /// Item k is created at k × interval.
    Periodic,
    /// The first item at time zero, then exponentially distributed gaps with mean `interval`.
    #[default]
    Poisson,
}

/// The nodes that create items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sources {
    /// Any node.
    #[default]
    Any,
    /// Only these nodes.
    Nodes(Vec<NodeId>),
    /// Only the nodes of this role (`network.roles`).
    Role(String),
}

impl FloodConfig {
    /// Checks values against a network of `nodes` nodes; paths are relative to the protocol section.
    pub fn validate(&self, nodes: u32) -> Result<(), ConfigError> {
        if self.items == 0 {
            return Err(ConfigError::new("items", "must be at least 1"));
        }
        // The protocol keeps a bit and a reach time per item and node.
        const MAX_ITEM_NODES: u64 = 1 << 28;
        if u64::from(self.items) * u64::from(nodes) > MAX_ITEM_NODES {
            return Err(ConfigError::new(
                "items",
                format!("{} items × {nodes} nodes is more state than fits in memory; lower items or nodes", self.items),
            ));
        }
        if self.arrivals == Arrivals::Poisson && self.interval == SimDuration::ZERO && self.items > 1 {
            return Err(ConfigError::new("interval", "Poisson arrivals need a mean interval > 0"));
        }
        crate::check_horizon("interval", self.items, self.interval, "items")?;
        if let Sources::Nodes(list) = &self.sources {
            if list.is_empty() {
                return Err(ConfigError::new("sources", "list at least one node, or use Any"));
            }
            if let Some(bad) = list.iter().find(|&&n| n >= nodes) {
                return Err(ConfigError::new(
                    "sources",
                    format!("node {bad} does not exist: network.nodes is {nodes}, so ids are 0..{nodes}"),
                ));
            }
        }
        Ok(())
    }
}
