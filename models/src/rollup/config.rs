//! The `Rollup(...)` protocol section of an experiment file.

use serde::{Deserialize, Serialize};
use simulator::SimDuration;
use simulator::config::ConfigError;

use crate::chain::ChainConfig;

/// An optimistic rollup: a sequencer posting batches and state roots to an L1 chain, verifiers
/// that dispute wrong roots by bisection, and clients sending L2 transactions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupConfig {
    /// The role whose nodes are the L1 validators (they propose blocks).
    #[serde(default = "default_l1")]
    pub l1: String,
    /// The role of the sequencer: exactly one node.
    #[serde(default = "default_sequencer")]
    pub sequencer: String,
    /// The role of the verifiers, which re-execute batches and challenge wrong roots.
    #[serde(default = "default_verifiers")]
    pub verifiers: String,
    /// The L1 chain.
    #[serde(default)]
    pub chain: ChainConfig,
    /// L2 transactions per second offered by all clients together (a Poisson process per client).
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Bytes of an L2 transaction before compression.
    #[serde(default)]
    pub tx_size: TxSize,
    /// A client sends the transactions of its users that arrived in each interval of this length
    /// as one message (0: every transaction on its own).
    #[serde(default)]
    pub bundle: SimDuration,
    /// Fraction of transactions that withdraw to L1.
    #[serde(default = "default_withdrawal_share")]
    pub withdrawal_share: f64,
    /// The sequencer seals an L2 block this often.
    #[serde(default = "default_l2_block")]
    pub l2_block: SimDuration,
    /// CPU time to execute one L2 transaction (at the sequencer and at each verifier).
    #[serde(default = "default_execute")]
    pub execute: SimDuration,
    /// Compressed size over raw size of batch data.
    #[serde(default = "default_ratio")]
    pub compression_ratio: f64,
    /// CPU time to compress one MB of batch data.
    #[serde(default = "default_compress_per_mb")]
    pub compress_per_mb: SimDuration,
    /// Where batch data goes on L1.
    #[serde(default)]
    pub posting: Posting,
    /// Blobs of a full batch (one L1 transaction).
    #[serde(default = "default_blobs_per_batch")]
    pub blobs_per_batch: u32,
    /// Calldata bytes of a full batch when posting calldata.
    #[serde(default = "default_calldata_batch")]
    pub calldata_per_batch: u64,
    /// A batch is posted before it is full once its oldest data has waited this long.
    #[serde(default = "default_max_batch_delay")]
    pub max_batch_delay: SimDuration,
    /// Priority fee per gas (wei) of a batch posted with nothing waiting before it (the fee rule
    /// is in `sequencer.rs`), and of every other rollup call.
    #[serde(default = "default_tip")]
    pub tip: u64,
    /// The most the rollup pays per blob gas (wei); `None`: whatever the blob base fee is.
    #[serde(default)]
    pub max_blob_fee: Option<u64>,
    /// Execution gas of each call to the rollup's L1 contracts (a batch with its state root, a
    /// challenge, a bisection move, a proof, a forced transaction), beside data gas.
    #[serde(default = "default_contract_gas")]
    pub contract_gas: u64,
    /// How long after its L1 inclusion a state root can be challenged.
    #[serde(default = "default_challenge_window")]
    pub challenge_window: SimDuration,
    /// Each side's chess clock in a dispute: the total time it may take to answer.
    #[serde(default = "default_clock")]
    pub clock: SimDuration,
    /// Steps of a batch's execution trace: a dispute bisects it in ⌈log2(steps)⌉ moves.
    #[serde(default = "default_trace_steps")]
    pub trace_steps: u64,
    /// CPU time to compute one bisection move or the one-step proof.
    #[serde(default = "default_move_cost")]
    pub move_cost: SimDuration,
    /// A verifier waits this long after finding a wrong root before it challenges (a late
    /// challenger).
    #[serde(default)]
    pub challenger_delay: SimDuration,
    /// Bond the sequencer stakes on its roots (lost to the challenger of a wrong one).
    #[serde(default = "default_sequencer_bond")]
    pub sequencer_bond: u64,
    /// Bond a challenger posts (lost to the sequencer if it loses the dispute).
    #[serde(default = "default_challenge_bond")]
    pub challenge_bond: u64,
    /// The batch (0 is the first posted) whose state root the sequencer falsifies, if any.
    #[serde(default)]
    pub invalid_batch: Option<u32>,
    /// Value the falsified root withdraws to the sequencer from the L1 escrow.
    #[serde(default = "default_forged_withdrawal")]
    pub forged_withdrawal: u64,
    /// Value bridged to L2 at the start (held in the L1 escrow); each withdrawal takes out 1.
    #[serde(default = "default_bridged_supply")]
    pub bridged_supply: u64,
    /// A client with no sequencer receipt this long after sending sends its transactions to the
    /// L1 inbox instead.
    #[serde(default = "default_force_after")]
    pub force_after: SimDuration,
    /// A transaction in the L1 inbox that the sequencer has not included this long after its L1
    /// inclusion is included by force.
    #[serde(default = "default_force_delay")]
    pub force_delay: SimDuration,
    /// Transactions issued before this are left out of every metric.
    #[serde(default)]
    pub warmup: SimDuration,
    /// Clients issue nothing in the last `drain` of the run.
    #[serde(default)]
    pub drain: SimDuration,
}

impl Default for RollupConfig {
    fn default() -> Self {
        RollupConfig {
            l1: default_l1(),
            sequencer: default_sequencer(),
            verifiers: default_verifiers(),
            chain: Default::default(),
            rate: default_rate(),
            tx_size: Default::default(),
            bundle: Default::default(),
            withdrawal_share: default_withdrawal_share(),
            l2_block: default_l2_block(),
            execute: default_execute(),
            compression_ratio: default_ratio(),
            compress_per_mb: default_compress_per_mb(),
            posting: Default::default(),
            blobs_per_batch: default_blobs_per_batch(),
            calldata_per_batch: default_calldata_batch(),
            max_batch_delay: default_max_batch_delay(),
            tip: default_tip(),
            max_blob_fee: Default::default(),
            contract_gas: default_contract_gas(),
            challenge_window: default_challenge_window(),
            clock: default_clock(),
            trace_steps: default_trace_steps(),
            move_cost: default_move_cost(),
            challenger_delay: Default::default(),
            sequencer_bond: default_sequencer_bond(),
            challenge_bond: default_challenge_bond(),
            invalid_batch: Default::default(),
            forged_withdrawal: default_forged_withdrawal(),
            bridged_supply: default_bridged_supply(),
            force_after: default_force_after(),
            force_delay: default_force_delay(),
            warmup: Default::default(),
            drain: Default::default(),
        }
    }
}

/// Bytes of an L2 transaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TxSize {
    /// Every transaction this size.
    Fixed(u32),
    /// Drawn uniformly between the two sizes, inclusive.
    Uniform(u32, u32),
}

impl Default for TxSize {
    fn default() -> Self {
        TxSize::Uniform(100, 200)
    }
}

/// Where batch data is posted.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Posting {
    /// In blobs (EIP-4844).
    #[default]
    Blobs,
    /// In calldata, paying gas per byte.
    Calldata,
}

impl RollupConfig {
    /// Checks the section's own values; paths are below the section.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.chain.validate().map_err(|e| e.within("chain"))?;
        if !(self.rate.is_finite() && self.rate >= 0.0) {
            return Err(ConfigError::new("rate", "must be a finite number of transactions per second, 0 or more"));
        }
        match self.tx_size {
            TxSize::Fixed(0) => return Err(ConfigError::new("tx_size", "must be at least 1 byte")),
            TxSize::Uniform(lo, hi) if lo == 0 || lo > hi => {
                return Err(ConfigError::new("tx_size", "Uniform(min, max) needs 1 <= min <= max"));
            }
            _ => {}
        }
        for (key, value) in [("withdrawal_share", self.withdrawal_share)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::new(key, "must be between 0 and 1"));
            }
        }
        if !(self.compression_ratio > 0.0 && self.compression_ratio <= 1.0) {
            return Err(ConfigError::new(
                "compression_ratio",
                "must be above 0 and at most 1 (compressed over raw bytes)",
            ));
        }
        for (key, value) in
            [("l2_block", self.l2_block), ("challenge_window", self.challenge_window), ("clock", self.clock)]
        {
            if value == SimDuration::ZERO {
                return Err(ConfigError::new(key, "must be positive"));
            }
        }
        let max = self.chain.blobs.max();
        if self.posting == Posting::Blobs && !(1..=max).contains(&self.blobs_per_batch) {
            return Err(ConfigError::new(
                "blobs_per_batch",
                format!("must be from 1 to the blobs a block may carry ({max}, chain.blobs)"),
            ));
        }
        let gas = self.chain.base_gas + self.contract_gas;
        if gas > self.chain.gas_limit {
            return Err(ConfigError::new(
                "contract_gas",
                format!("a call needs {gas} gas with base_gas, above chain.gas_limit ({})", self.chain.gas_limit),
            ));
        }
        if self.posting == Posting::Calldata {
            let room = (self.chain.gas_limit - gas) / self.chain.calldata_gas_per_byte.max(1);
            if self.calldata_per_batch == 0 || self.calldata_per_batch > room {
                return Err(ConfigError::new(
                    "calldata_per_batch",
                    format!(
                        "must be from 1 to {room} bytes: a batch must fit a block's gas ({})",
                        self.chain.gas_limit
                    ),
                ));
            }
        }
        if self.trace_steps < 2 {
            return Err(ConfigError::new("trace_steps", "must be at least 2: a dispute bisects the trace"));
        }
        let largest = match self.tx_size {
            TxSize::Fixed(size) | TxSize::Uniform(_, size) => u64::from(size),
        };
        if (largest as f64 * self.compression_ratio).ceil() as u64 > self.batch_capacity() {
            return Err(ConfigError::new("tx_size", "a transaction does not fit a batch: raise the batch size"));
        }
        Ok(())
    }

    /// Compressed bytes a full batch holds.
    pub fn batch_capacity(&self) -> u64 {
        match self.posting {
            Posting::Blobs => u64::from(self.blobs_per_batch) * crate::chain::BLOB_USABLE_BYTES,
            Posting::Calldata => self.calldata_per_batch,
        }
    }

    /// Moves of a dispute: ⌈log2(trace_steps)⌉.
    pub fn moves(&self) -> u32 {
        64 - (self.trace_steps - 1).leading_zeros()
    }
}

fn default_l1() -> String {
    "l1".to_string()
}
fn default_sequencer() -> String {
    "sequencer".to_string()
}
fn default_verifiers() -> String {
    "verifiers".to_string()
}
fn default_rate() -> f64 {
    50.0
}
fn default_withdrawal_share() -> f64 {
    0.01
}
fn default_l2_block() -> SimDuration {
    SimDuration::from_secs(2)
}
fn default_execute() -> SimDuration {
    SimDuration::from_micros(50)
}
fn default_ratio() -> f64 {
    0.4
}
fn default_compress_per_mb() -> SimDuration {
    SimDuration::from_millis(10)
}
fn default_blobs_per_batch() -> u32 {
    3
}
fn default_calldata_batch() -> u64 {
    120_000
}
fn default_max_batch_delay() -> SimDuration {
    SimDuration::from_secs(60)
}
fn default_tip() -> u64 {
    1_000_000_000
}
fn default_contract_gas() -> u64 {
    100_000
}
fn default_challenge_window() -> SimDuration {
    SimDuration::from_secs(7 * 24 * 3600)
}
fn default_clock() -> SimDuration {
    SimDuration::from_secs(84 * 3600)
}
fn default_trace_steps() -> u64 {
    1 << 32
}
fn default_move_cost() -> SimDuration {
    SimDuration::from_secs(1)
}
fn default_sequencer_bond() -> u64 {
    1_000
}
fn default_challenge_bond() -> u64 {
    1_000
}
fn default_forged_withdrawal() -> u64 {
    10_000
}
fn default_bridged_supply() -> u64 {
    1_000_000
}
fn default_force_after() -> SimDuration {
    SimDuration::from_secs(600)
}
fn default_force_delay() -> SimDuration {
    SimDuration::from_secs(24 * 3600)
}
