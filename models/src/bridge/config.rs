//! The `Bridge(...)` protocol section of an experiment file.

use serde::{Deserialize, Serialize};
use simulator::SimDuration;
use simulator::config::ConfigError;

use crate::chain::{BftChainConfig, ChainConfig};

/// The most bridge validators a run may have: signatures are a 64-bit set.
pub const MAX_VALIDATORS: usize = 64;

/// A bridge between a main chain and a side chain: users lock tokens on the main chain and get
/// them minted on the side chain (deposits), and burn them there to have them released on the
/// main chain (withdrawals), under one of two trust models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// The role whose nodes are the main chain's validators.
    #[serde(default = "default_main")]
    pub main_validators: String,
    /// The role whose nodes are the side chain's validators.
    #[serde(default = "default_side")]
    pub side_validators: String,
    /// The role of the bridge's validators (signers), who follow both chains.
    #[serde(default = "default_validators")]
    pub validators: String,
    /// The role of the relayers, who follow both chains and submit what the bridge carries.
    #[serde(default = "default_relayers")]
    pub relayers: String,
    /// The main chain.
    #[serde(default)]
    pub main_chain: ChainConfig,
    /// The side chain: its slots, finality and gas (under `side_consensus: Pbft`, its gas
    /// schedule only).
    #[serde(default = "default_side_chain")]
    pub side_chain: ChainConfig,
    /// How the side chain's validators order blocks: in slots, final `finality_slots` later, or
    /// as a PBFT group whose committed batches are final at once.
    #[serde(default)]
    pub side_consensus: SideConsensus,
    /// Who the destination chain trusts about the source chain.
    #[serde(default)]
    pub trust: Trust,
    /// Signatures of bridge validators a mint or release needs (m of the role's n).
    #[serde(default = "default_threshold")]
    pub threshold: u32,
    /// Blocks built on top of a lock's main-chain block before it is attested or relayed.
    #[serde(default = "default_confirmations")]
    pub confirmations: u32,
    /// Blocks built on top of a burn's side-chain block before it is attested or relayed.
    #[serde(default = "default_side_confirmations")]
    pub side_confirmations: u32,
    /// Wait for the source block to be final instead of counting confirmations.
    #[serde(default)]
    pub finality: bool,
    /// CPU time for a bridge validator to sign an attestation.
    #[serde(default = "default_sign")]
    pub sign: SimDuration,
    /// CPU time for a relayer to verify one attestation's signature.
    #[serde(default = "default_verify")]
    pub verify: SimDuration,
    /// Gas to execute each bridge call (lock, burn, mint, release, acknowledgement, refund).
    #[serde(default = "default_contract_gas")]
    pub contract_gas: u64,
    /// Gas a contract spends verifying one validator signature.
    #[serde(default = "default_signature_gas")]
    pub signature_gas: u64,
    /// Gas a light client spends verifying a relayed header.
    #[serde(default = "default_header_gas")]
    pub header_gas: u64,
    /// Bytes of an inclusion proof (with the header it proves against).
    #[serde(default = "default_proof_bytes")]
    pub proof_bytes: u64,
    /// Priority fee per gas (wei) of every bridge call.
    #[serde(default = "default_tip")]
    pub tip: u64,
    /// A validator sends its attestations of transfers not yet completed again this often (lost
    /// messages, relayers back from a crash).
    #[serde(default = "default_resend")]
    pub resend: SimDuration,
    /// Light client: a packet not received on the destination chain by this long after its
    /// source block is refunded at the source instead.
    #[serde(default = "default_packet_timeout")]
    pub packet_timeout: SimDuration,
    /// The most value the main chain releases per period; releases past it wait for the next.
    #[serde(default)]
    pub withdraw_limit: Option<Limit>,
    /// Transfers per second issued by all users together (a Poisson process per user).
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Fraction of transfers that are withdrawals (a user withdraws only what it holds on the
    /// side chain; otherwise it deposits).
    #[serde(default = "default_withdraw_share")]
    pub withdraw_share: f64,
    /// Tokens a transfer moves, drawn uniformly between the two.
    #[serde(default = "default_amount")]
    pub amount: (u64, u64),
    /// Transfers issued by the first user at given times, beside the random ones.
    #[serde(default)]
    pub transfers: Vec<Scripted>,
    /// Transfers issued before this are not measured.
    #[serde(default)]
    pub warmup: SimDuration,
    /// Users stop issuing this long before the end, so that the last transfers can finish.
    #[serde(default)]
    pub drain: SimDuration,
    /// The first `colluders` bridge validators collude.
    #[serde(default)]
    pub colluders: u32,
    /// When the colluders sign a deposit that never happened and mint it (nothing happens
    /// without colluders).
    #[serde(default)]
    pub forge_at: Option<SimDuration>,
    /// Value of the forged deposit; `None`: everything locked at that moment.
    #[serde(default)]
    pub forge_value: Option<u64>,
    /// A reorganisation of the main chain that removes an attacker's deposit.
    #[serde(default)]
    pub reorg: Option<Reorg>,
}

/// The trust model of the bridge.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trust {
    /// m of n bridge validators sign each transfer.
    #[default]
    Validators,
    /// Each chain runs a light client of the other: relayed headers and inclusion proofs.
    LightClient,
}

/// How the side chain's validators build blocks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum SideConsensus {
    /// A proposer per slot, as `side_chain` sets out.
    #[default]
    Slots,
    /// The side validators are a PBFT group (3f + 1 of them); a block is final when committed.
    Pbft(Box<BftChainConfig>),
}

/// A cap on the value released per period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Tokens per period.
    pub value: u64,
    /// The period.
    pub period: SimDuration,
}

/// What a scripted transfer does.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Lock on the main chain, mint on the side chain.
    Deposit,
    /// Burn on the side chain, release on the main chain.
    Withdrawal,
}

/// A transfer issued at a given time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scripted {
    /// When.
    pub at: SimDuration,
    /// Which way.
    pub kind: Direction,
    /// Tokens.
    pub amount: u64,
}

/// An attacker deposits, lets its lock's block gather `depth - 1` blocks on top, and just before
/// the next slot publishes a branch of those `depth` blocks in which its lock is replaced by a
/// conflicting spend. Validators have seen `depth - 1` confirmations by then: those that attest
/// at fewer have attested it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reorg {
    /// When the attacker deposits.
    pub at: SimDuration,
    /// Main-chain blocks the branch replaces, the attacker's lock's block first.
    pub depth: u32,
    /// Tokens of the attacker's deposit.
    pub value: u64,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            main_validators: default_main(),
            side_validators: default_side(),
            validators: default_validators(),
            relayers: default_relayers(),
            main_chain: ChainConfig::default(),
            side_chain: default_side_chain(),
            side_consensus: SideConsensus::default(),
            trust: Trust::default(),
            threshold: default_threshold(),
            confirmations: default_confirmations(),
            side_confirmations: default_side_confirmations(),
            finality: false,
            sign: default_sign(),
            verify: default_verify(),
            contract_gas: default_contract_gas(),
            signature_gas: default_signature_gas(),
            header_gas: default_header_gas(),
            proof_bytes: default_proof_bytes(),
            tip: default_tip(),
            resend: default_resend(),
            packet_timeout: default_packet_timeout(),
            withdraw_limit: None,
            rate: default_rate(),
            withdraw_share: default_withdraw_share(),
            amount: default_amount(),
            transfers: Vec::new(),
            warmup: SimDuration::ZERO,
            drain: SimDuration::ZERO,
            colluders: 0,
            forge_at: None,
            forge_value: None,
            reorg: None,
        }
    }
}

fn default_main() -> String {
    "main".into()
}
fn default_side() -> String {
    "side".into()
}
fn default_validators() -> String {
    "bridge".into()
}
fn default_relayers() -> String {
    "relayers".into()
}
/// A faster side chain: 2 s slots, final after 8.
fn default_side_chain() -> ChainConfig {
    ChainConfig { slot: SimDuration::from_secs(2), finality_slots: 8, ..ChainConfig::default() }
}
fn default_threshold() -> u32 {
    5
}
fn default_confirmations() -> u32 {
    6
}
fn default_side_confirmations() -> u32 {
    2
}
fn default_sign() -> SimDuration {
    SimDuration::from_micros(100)
}
fn default_verify() -> SimDuration {
    SimDuration::from_micros(50)
}
fn default_contract_gas() -> u64 {
    60_000
}
fn default_signature_gas() -> u64 {
    6_000
}
fn default_header_gas() -> u64 {
    300_000
}
fn default_proof_bytes() -> u64 {
    1_200
}
fn default_tip() -> u64 {
    1_000_000_000
}
fn default_resend() -> SimDuration {
    SimDuration::from_secs(30)
}
fn default_packet_timeout() -> SimDuration {
    SimDuration::from_secs(600)
}
fn default_rate() -> f64 {
    1.0
}
fn default_withdraw_share() -> f64 {
    0.3
}
fn default_amount() -> (u64, u64) {
    (1, 1_000)
}

impl BridgeConfig {
    /// Checks values that need no other section; errors name the key under `protocol`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.main_chain.validate().map_err(|e| e.within("main_chain"))?;
        self.side_chain.validate().map_err(|e| e.within("side_chain"))?;
        self.validate_side_consensus()?;
        if self.threshold == 0 {
            return Err(ConfigError::new("threshold", "must be at least 1: a mint needs a signature"));
        }
        if !(self.rate.is_finite() && self.rate >= 0.0) {
            return Err(ConfigError::new("rate", "must be a finite number ≥ 0 (transfers per second)"));
        }
        if !(0.0..=1.0).contains(&self.withdraw_share) {
            return Err(ConfigError::new("withdraw_share", "must be between 0 and 1"));
        }
        if self.amount.0 == 0 || self.amount.0 > self.amount.1 {
            return Err(ConfigError::new("amount", "must be (lo, hi) with 1 ≤ lo ≤ hi tokens"));
        }
        for (i, t) in self.transfers.iter().enumerate() {
            if t.amount == 0 {
                return Err(ConfigError::new(format!("transfers[{i}].amount"), "must be at least 1 token"));
            }
        }
        if self.resend.0 == 0 {
            return Err(ConfigError::new("resend", "must be longer than 0"));
        }
        if self.packet_timeout.0 == 0 {
            return Err(ConfigError::new("packet_timeout", "must be longer than 0"));
        }
        if let Some(limit) = &self.withdraw_limit
            && (limit.value == 0 || limit.period.0 == 0)
        {
            return Err(ConfigError::new("withdraw_limit", "value and period must both be above 0"));
        }
        if let Some(reorg) = &self.reorg
            && (reorg.depth == 0 || reorg.value == 0)
        {
            return Err(ConfigError::new("reorg", "depth and value must both be at least 1"));
        }
        if self.trust == Trust::LightClient && (self.colluders > 0 || self.forge_at.is_some()) {
            return Err(ConfigError::new(
                "colluders",
                "a light-client bridge has no validators to collude: set trust: Validators or drop colluders and forge_at",
            ));
        }
        Ok(())
    }

    /// Under `side_consensus: Pbft`, the group orders blocks: the slot chain's block-building
    /// keys would be ignored, and the outer keys of the consensus section belong to the bridge.
    fn validate_side_consensus(&self) -> Result<(), ConfigError> {
        let SideConsensus::Pbft(bft) = &self.side_consensus else { return Ok(()) };
        if bft.block_interval < SimDuration::from_millis(1) {
            return Err(ConfigError::new("side_consensus.block_interval", "must be at least 1ms"));
        }
        let (set, unset) = (&self.side_chain, default_side_chain());
        let unread = [
            ("slot", set.slot != unset.slot),
            ("finality_slots", set.finality_slots != unset.finality_slots),
            ("gas_limit", set.gas_limit != unset.gas_limit),
            ("blobs", set.blobs != unset.blobs),
            ("mesh_degree", set.mesh_degree != unset.mesh_degree),
            ("others", set.others != unset.others),
        ];
        if let Some((key, _)) = unread.iter().find(|(_, changed)| *changed) {
            return Err(ConfigError::new(
                format!("side_chain.{key}"),
                "is not read when side_consensus is Pbft: the group builds a block per committed batch (set side_consensus.block_interval and consensus.batch_size); side_chain sets only base_gas and calldata_gas_per_byte",
            ));
        }
        if let Some(key) = bft.consensus.first_outer_key() {
            let fix = match key {
                "replicas" => "the replicas are the side_validators role",
                "warmup" => "set protocol.warmup",
                "execution" => "the bridge's contracts are the side chain's state",
                _ => "users and the bridge send the side chain's transactions",
            };
            return Err(ConfigError::new(
                format!("side_consensus.consensus.{key}"),
                format!("is not read by a bridge's side chain: {fix}"),
            ));
        }
        Ok(())
    }
}
