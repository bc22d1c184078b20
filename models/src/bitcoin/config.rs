//! The `Bitcoin(...)` protocol section of an experiment file.

use serde::{Deserialize, Serialize};
use simulator::SimDuration;
use simulator::config::ConfigError;
use simulator::units::ByteSize;

/// Proof-of-work mining and block relay between Bitcoin nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitcoinConfig {
    /// Blocks mined in the run.
    #[serde(default = "default_blocks")]
    pub blocks: u32,
    /// Size of every block (header and transactions).
    #[serde(default = "default_block_size")]
    pub block_size: ByteSize,
    /// Size of one transaction; a block holds `block_size / tx_size` of them, the coinbase first.
    #[serde(default = "default_tx_size")]
    pub tx_size: ByteSize,
    /// Mean time between blocks over the whole network (exponential inter-block times).
    #[serde(default = "default_interval")]
    pub interval: SimDuration,
    /// How hash power is spread over the nodes.
    #[serde(default)]
    pub hash_power: HashPower,
    /// How blocks travel between peers.
    #[serde(default)]
    pub relay: Relay,
    /// Peers a node asks to push compact blocks to it unannounced (BIP 152 high-bandwidth mode);
    /// 0 keeps every peer in low-bandwidth mode.
    #[serde(default = "default_high_bandwidth_peers")]
    pub high_bandwidth_peers: u32,
    /// Block validation on the CPU.
    #[serde(default)]
    pub validation: Validation,
    /// Which transactions a node already holds when a compact block arrives.
    #[serde(default)]
    pub mempool: Mempool,
    /// A block requested from a peer that has not arrived after this long is requested from the
    /// next peer that announced it; the first peer is not disconnected and keeps sending. Unset,
    /// Bitcoin Core's block download timeout: one `interval`, plus half an `interval` for each
    /// other peer the node is downloading a block from when it asks. A timeout well below the
    /// time a block takes to cross a busy link starts duplicate transfers that slow every link
    /// further.
    #[serde(default)]
    pub request_timeout: Option<SimDuration>,
}

fn default_blocks() -> u32 {
    100
}
fn default_block_size() -> ByteSize {
    ByteSize(535_000)
}
fn default_tx_size() -> ByteSize {
    ByteSize(250)
}
fn default_interval() -> SimDuration {
    SimDuration::from_secs(600)
}
fn default_high_bandwidth_peers() -> u32 {
    3
}

impl Default for BitcoinConfig {
    fn default() -> Self {
        BitcoinConfig {
            blocks: default_blocks(),
            block_size: default_block_size(),
            tx_size: default_tx_size(),
            interval: default_interval(),
            hash_power: HashPower::default(),
            relay: Relay::default(),
            high_bandwidth_peers: default_high_bandwidth_peers(),
            validation: Validation::default(),
            mempool: Mempool::default(),
            request_timeout: None,
        }
    }
}

/// Hash power of each node, normalised over the network.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum HashPower {
    /// Every node the same.
    #[default]
    Equal,
    /// Exponentially distributed over nodes (a few large miners, many small).
    Exponential,
    /// Only these nodes mine, with these relative powers.
    Miners(Vec<(u32, f64)>),
}

/// Block relay protocol.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Relay {
    /// inv → getdata → block.
    Full,
    /// BIP 152 compact blocks: pushed by high-bandwidth peers, requested from others, rebuilt
    /// from the mempool; missing transactions by getblocktxn / blocktxn.
    #[default]
    Compact,
}

/// CPU cost of validating a block, and when a node relays it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// CPU time per transaction.
    #[serde(default = "default_per_tx")]
    pub per_tx: SimDuration,
    /// Whether a node validates before relaying.
    #[serde(default)]
    pub order: ValidationOrder,
}

fn default_per_tx() -> SimDuration {
    SimDuration::from_micros(10)
}

impl Default for Validation {
    fn default() -> Self {
        Validation { per_tx: default_per_tx(), order: ValidationOrder::default() }
    }
}

/// When a received block is passed on.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValidationOrder {
    /// Relay only validated blocks.
    #[default]
    ValidateThenRelay,
    /// Push a rebuilt compact block to high-bandwidth peers before validating it, as BIP 152
    /// allows; everything else still waits for validation.
    RelayThenValidate,
}

/// The transactions nodes hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Mempool {
    /// Each transaction of a block (except the coinbase) is missing at a receiving node
    /// independently with probability `miss_rate`.
    Sampled {
        /// Probability that a node lacks a given transaction.
        miss_rate: f64,
    },
    /// Real transaction gossip: transactions appear at random nodes and spread by inventory
    /// trickling and fetch-by-id; every node keeps its own mempool and miners fill blocks from
    /// it. Its state grows with transactions × nodes: meant for small networks.
    Gossip {
        /// New transactions per second over the whole network.
        tx_rate: f64,
        /// Mean time between a node's announcements of new transactions.
        trickle: SimDuration,
    },
}

impl Default for Mempool {
    /// About 90 % of 2,140-transaction blocks rebuild without a round trip, as measured for
    /// BIP 152 on the live network.
    fn default() -> Self {
        Mempool::Sampled { miss_rate: 0.00005 }
    }
}

impl BitcoinConfig {
    /// Bitcoin Core's block download timeout, used when `request_timeout` is unset, for a node
    /// downloading blocks from `other_peers` other peers: one interval plus half an interval each.
    pub fn core_request_timeout(&self, other_peers: usize) -> SimDuration {
        let halves = 2 + other_peers as u64;
        SimDuration(self.interval.0.saturating_mul(halves) / 2)
    }

    /// Transactions per block, the coinbase included.
    pub fn txs_per_block(&self) -> u64 {
        (self.block_size.bytes() / self.tx_size.bytes()).max(1)
    }

    /// Checks values against a network of `nodes` nodes; paths are relative to the protocol section.
    pub fn validate(&self, nodes: u32) -> Result<(), ConfigError> {
        if self.blocks == 0 {
            return Err(ConfigError::new("blocks", "must be at least 1"));
        }
        // A block state per node and block.
        const MAX_BLOCK_NODES: u64 = 1 << 28;
        if u64::from(self.blocks) * u64::from(nodes) > MAX_BLOCK_NODES {
            return Err(ConfigError::new(
                "blocks",
                format!("{} blocks × {nodes} nodes is more state than fits in memory; lower one", self.blocks),
            ));
        }
        if self.tx_size.bytes() == 0 {
            return Err(ConfigError::new("tx_size", "must be > 0"));
        }
        if self.block_size.bytes() < self.tx_size.bytes() {
            return Err(ConfigError::new("block_size", "must hold at least one transaction (the coinbase)"));
        }
        crate::check_horizon("interval", self.blocks, self.interval, "blocks")?;
        if self.interval == SimDuration::ZERO {
            return Err(ConfigError::new("interval", "must be > 0"));
        }
        if self.request_timeout == Some(SimDuration::ZERO) {
            return Err(ConfigError::new("request_timeout", "must be > 0"));
        }
        if let HashPower::Miners(miners) = &self.hash_power {
            if miners.is_empty() || miners.iter().all(|(_, p)| *p <= 0.0) {
                return Err(ConfigError::new("hash_power", "name at least one miner with power > 0"));
            }
            for (i, (node, power)) in miners.iter().enumerate() {
                if *node >= nodes {
                    return Err(ConfigError::new(
                        format!("hash_power[{i}]"),
                        format!("node {node} does not exist: network.nodes is {nodes}"),
                    ));
                }
                if !(power.is_finite() && *power >= 0.0) {
                    return Err(ConfigError::new(format!("hash_power[{i}]"), "power must be ≥ 0"));
                }
            }
        }
        match self.mempool {
            Mempool::Sampled { miss_rate } if !(0.0..=1.0).contains(&miss_rate) => {
                Err(ConfigError::new("mempool.miss_rate", "must be between 0 and 1"))
            }
            Mempool::Sampled { .. } => Ok(()),
            Mempool::Gossip { tx_rate, .. } if !(tx_rate.is_finite() && tx_rate > 0.0) => {
                Err(ConfigError::new("mempool.tx_rate", "must be a positive number of transactions per second"))
            }
            Mempool::Gossip { trickle, .. } if trickle == SimDuration::ZERO => {
                Err(ConfigError::new("mempool.trickle", "must be > 0"))
            }
            Mempool::Gossip { tx_rate, .. } => {
                // A seen-bit per transaction and node; expect about twice the mean count.
                const MAX_TX_NODES: f64 = (1u64 << 32) as f64;
                let expected = 2.0 * tx_rate * self.interval.as_secs_f64() * f64::from(self.blocks);
                if expected * f64::from(nodes) > MAX_TX_NODES {
                    return Err(ConfigError::new(
                        "mempool",
                        format!(
                            "about {expected:.0} transactions × {nodes} nodes is too much gossip state; \
                             use fewer nodes or blocks, or Sampled(miss_rate) at this scale"
                        ),
                    ));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_request_timeout_is_an_interval_plus_half_one_per_other_peer() {
        let config = BitcoinConfig { interval: SimDuration::from_secs(600), ..BitcoinConfig::default() };
        assert_eq!(config.request_timeout, None, "Core's rule is the default");
        assert_eq!(config.core_request_timeout(0), SimDuration::from_secs(600));
        assert_eq!(config.core_request_timeout(3), SimDuration::from_secs(600 + 3 * 300));
        assert!(BitcoinConfig { request_timeout: Some(SimDuration::ZERO), ..config }.validate(10).is_err());
    }
}
