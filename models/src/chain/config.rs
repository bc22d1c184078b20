//! The `chain: (...)` section of a protocol that runs an L1 chain.

use serde::{Deserialize, Serialize};
use simulator::SimDuration;
use simulator::config::ConfigError;

/// Bytes of one blob (4096 field elements of 32 bytes), which is also its blob gas.
pub const BLOB_BYTES: u64 = 131_072;
/// Bytes of data a rollup fits in one blob: 4096 field elements of 31.75 usable bytes each, less
/// the encoding's framing.
pub const BLOB_USABLE_BYTES: u64 = 130_044;
/// KZG commitment and proof carried beside each blob on the wire.
pub const BLOB_SIDECAR_BYTES: u64 = 96;
/// The most slots a run schedules: 10 million, almost 4 years of 12-second slots (a proposer
/// drawn for each up front, and a block record for each built).
pub const MAX_SLOTS: u64 = 10_000_000;
/// The lowest blob base fee, in wei per blob gas.
pub const MIN_BLOB_BASE_FEE: u64 = 1;

/// A proof-of-stake chain with fixed slots, a proposer per slot and blob-carrying blocks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Length of a slot: one block per slot, proposed at its start.
    #[serde(default = "default_slot")]
    pub slot: SimDuration,
    /// A block is final this many slots after its own.
    #[serde(default = "default_finality_slots")]
    pub finality_slots: u32,
    /// Gas a block may use.
    #[serde(default = "default_gas_limit")]
    pub gas_limit: u64,
    /// Gas of a plain transaction before its data.
    #[serde(default = "default_base_gas")]
    pub base_gas: u64,
    /// Gas per byte of calldata (all bytes of compressed data are non-zero).
    #[serde(default = "default_calldata_gas")]
    pub calldata_gas_per_byte: u64,
    /// Blobs per block: a preset or a target and maximum of your own.
    #[serde(default)]
    pub blobs: BlobParams,
    /// Peers each chain node gossips transactions and blocks to (the mesh of a gossip network).
    #[serde(default = "default_mesh_degree")]
    pub mesh_degree: u32,
    /// Other L1 users, whose blob transactions compete for the same blocks.
    #[serde(default)]
    pub others: OtherUsers,
}

/// Blob transactions of other L1 users: each from its own sender, arriving at the validators
/// (a Poisson process at each, the rate split evenly), with a fee cap and a tip of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherUsers {
    /// Blob transactions per slot, on average (0: none).
    #[serde(default)]
    pub blob_txs_per_slot: f64,
    /// Blobs each carries.
    #[serde(default = "default_other_blobs")]
    pub blobs: u32,
    /// The most each pays per blob gas (wei), drawn log-uniformly between the two: a
    /// transaction whose cap is below the blob base fee waits.
    #[serde(default = "default_other_max_fee")]
    pub max_blob_fee: (u64, u64),
    /// Priority fee per gas (wei), drawn uniformly between the two.
    #[serde(default = "default_other_tip")]
    pub tip: (u64, u64),
}

impl Default for OtherUsers {
    fn default() -> Self {
        OtherUsers {
            blob_txs_per_slot: 0.0,
            blobs: default_other_blobs(),
            max_blob_fee: default_other_max_fee(),
            tip: default_other_tip(),
        }
    }
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            slot: default_slot(),
            finality_slots: default_finality_slots(),
            gas_limit: default_gas_limit(),
            base_gas: default_base_gas(),
            calldata_gas_per_byte: default_calldata_gas(),
            blobs: BlobParams::default(),
            mesh_degree: default_mesh_degree(),
            others: OtherUsers::default(),
        }
    }
}

/// Blob capacity and fee dynamics of a block (EIP-4844 and its successors).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum BlobParams {
    /// Dencun (EIP-4844): target 3, maximum 6.
    Dencun,
    /// Pectra (EIP-7691): target 6, maximum 9.
    #[default]
    Pectra,
    /// The second blob-parameter-only fork: target 14, maximum 21.
    Bpo2,
    /// Your own numbers.
    Custom {
        /// Blobs per block the fee aims at.
        target: u32,
        /// Blobs a block may carry.
        max: u32,
        /// How fast the blob base fee moves: it changes by a factor e per this much excess blob
        /// gas.
        update_fraction: u64,
    },
}

impl BlobParams {
    /// (target, maximum, update fraction).
    pub fn values(&self) -> (u32, u32, u64) {
        match *self {
            BlobParams::Dencun => (3, 6, 3_338_477),
            BlobParams::Pectra => (6, 9, 5_007_716),
            BlobParams::Bpo2 => (14, 21, 11_684_671),
            BlobParams::Custom { target, max, update_fraction } => (target, max, update_fraction),
        }
    }

    /// Blobs a block may carry.
    pub fn max(&self) -> u32 {
        self.values().1
    }
}

impl ChainConfig {
    /// Checks that the slots up to `stop` fit in memory: the schedule draws a proposer for each
    /// up front. `path` names this section in errors.
    pub fn check_slots(&self, path: &str, stop: SimDuration) -> Result<(), ConfigError> {
        let slots = stop.0 / self.slot.0.max(1);
        if slots > MAX_SLOTS {
            return Err(ConfigError::new(
                format!("{path}.slot"),
                format!(
                    "{slots} slots of {} until stop.time ({stop}) are more than the {MAX_SLOTS} a run schedules; lengthen the slot or shorten the run",
                    self.slot
                ),
            ));
        }
        Ok(())
    }

    /// Checks the section's own values; paths are below the section.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.slot == SimDuration::ZERO {
            return Err(ConfigError::new(
                "slot",
                "must be positive: a slot is how often a block is proposed, e.g. \"12s\"",
            ));
        }
        if self.gas_limit < self.base_gas {
            return Err(ConfigError::new(
                "gas_limit",
                format!("{} is below base_gas ({}): no transaction would fit a block", self.gas_limit, self.base_gas),
            ));
        }
        if self.mesh_degree < 2 {
            return Err(ConfigError::new(
                "mesh_degree",
                "must be at least 2: a mesh of degree 1 splits the chain's nodes into pairs",
            ));
        }
        if let BlobParams::Custom { target, max, update_fraction } = self.blobs {
            if max == 0 {
                return Err(ConfigError::new("blobs.max", "must be at least 1"));
            }
            if target > max {
                return Err(ConfigError::new(
                    "blobs.target",
                    format!(
                        "target {target} is above the maximum {max}: a block cannot aim at more blobs than it may carry"
                    ),
                ));
            }
            if update_fraction == 0 {
                return Err(ConfigError::new("blobs.update_fraction", "must be positive"));
            }
        }
        let others = &self.others;
        if !(others.blob_txs_per_slot.is_finite() && others.blob_txs_per_slot >= 0.0) {
            return Err(ConfigError::new("others.blob_txs_per_slot", "must be a finite number, 0 or more"));
        }
        if !(1..=self.blobs.max()).contains(&others.blobs) {
            return Err(ConfigError::new(
                "others.blobs",
                format!("must be from 1 to the blobs a block may carry ({})", self.blobs.max()),
            ));
        }
        let (lo, hi) = others.max_blob_fee;
        if lo == 0 || lo > hi {
            return Err(ConfigError::new("others.max_blob_fee", "(min, max) needs 1 <= min <= max (wei per blob gas)"));
        }
        if others.tip.0 > others.tip.1 {
            return Err(ConfigError::new("others.tip", "(min, max) needs min <= max (wei per gas)"));
        }
        Ok(())
    }
}

fn default_other_blobs() -> u32 {
    1
}
fn default_other_max_fee() -> (u64, u64) {
    (1_000_000, 100_000_000_000)
}
fn default_other_tip() -> (u64, u64) {
    (0, 2_000_000_000)
}
fn default_slot() -> SimDuration {
    SimDuration::from_secs(12)
}
fn default_finality_slots() -> u32 {
    64
}
fn default_gas_limit() -> u64 {
    60_000_000
}
fn default_base_gas() -> u64 {
    21_000
}
fn default_calldata_gas() -> u64 {
    16
}
fn default_mesh_degree() -> u32 {
    8
}
