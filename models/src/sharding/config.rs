//! The `Sharding(...)` protocol section of an experiment file.

use serde::{Deserialize, Serialize};
use simulator::SimDuration;
use simulator::config::ConfigError;
use simulator::units::ByteSize;

use crate::pbft::{Load, MAX_REPLICAS, PbftConfig};

/// Accounts sharded over committees, each running batched PBFT, with cross-shard transfers by
/// two-phase commit or by relay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardingConfig {
    /// Shards k.
    #[serde(default = "default_shards")]
    pub shards: u32,
    /// Replicas per shard (3f + 1: 4, 7, 10, ...).
    #[serde(default = "default_committee")]
    pub committee: u32,
    /// The nodes of the committees: a role split into runs of `committee` nodes in node order
    /// (`validators: "validators"`), or a role per shard (`validators: ["eu", "us", "asia"]`);
    /// the first `shards × committee` nodes when absent. Every other node is a client.
    #[serde(default)]
    pub validators: Option<Validators>,
    /// Accounts in the system.
    #[serde(default = "default_accounts")]
    pub accounts: u32,
    /// Initial balance of every account.
    #[serde(default = "default_balance")]
    pub balance: u64,
    /// Each receiver of a transfer gets an amount drawn uniformly from 1 to this.
    #[serde(default = "default_amount")]
    pub amount: u64,
    /// How accounts are assigned to shards.
    #[serde(default)]
    pub assignment: Assignment,
    /// Accounts a transaction touches u: the first pays, the others receive (2 to 8).
    #[serde(default = "default_accounts_per_tx")]
    pub accounts_per_tx: u32,
    /// Zipf exponent of account popularity: 0 draws accounts uniformly, larger values concentrate
    /// transfers on few accounts (account 0 the most popular).
    #[serde(default)]
    pub skew: f64,
    /// Forces this fraction of transactions to span shards (the others stay in the payer's
    /// shard); when absent the fraction emerges from the accounts drawn.
    #[serde(default)]
    pub cross_shard_ratio: Option<f64>,
    /// How every client issues transactions.
    #[serde(default = "default_load")]
    pub load: Load,
    /// Transfers issued at set times instead of the random load, for controlled scenarios.
    #[serde(default)]
    pub script: Vec<ScriptedTransfer>,
    /// How a transaction that spans shards is carried out.
    #[serde(default)]
    pub mechanism: Mechanism,
    /// What a transfer that finds an account locked does.
    #[serde(default)]
    pub locking: Locking,
    /// A coordinator that has not heard every shard's vote this long after asking decides to
    /// abort (the coordinator shard orders the abort; a client asks the silent shards to resolve).
    #[serde(default = "default_vote_timeout")]
    pub vote_timeout: SimDuration,
    /// Two-phase commit driven by the client: a shard that has held a transaction's locks this
    /// long without a decision (its client went silent) asks the other shards to resolve it and
    /// decides in the client's stead.
    #[serde(default = "default_recovery_after")]
    pub recovery_after: SimDuration,
    /// Bytes of a transaction as carried in requests.
    #[serde(default = "default_tx_size")]
    pub tx_size: ByteSize,
    /// Transactions issued before this time are left out of every metric.
    #[serde(default)]
    pub warmup: SimDuration,
    /// Clients issue no transactions in the last `drain` of the run, so that the run ends with
    /// what was begun finished (locks still held then are a metric).
    #[serde(default)]
    pub drain: SimDuration,
    /// Every committee's PBFT, with the defaults of a `Pbft(...)` section: batching, in-flight
    /// batches, authentication and CPU costs (`costs.execute` per operation a shard executes),
    /// view changes, client timeouts (for every call), Byzantine replicas (by index within each
    /// committee). The load, the number of replicas and the warm-up are set by the fields above.
    #[serde(default)]
    pub consensus: PbftConfig,
}

/// Roles whose nodes form the committees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validators {
    /// One role, split into the shards' committees in node order.
    Split(String),
    /// One role per shard, in shard order.
    PerShard(Vec<String>),
}

impl Serialize for Validators {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Validators::Split(name) => serializer.serialize_str(name),
            Validators::PerShard(names) => names.serialize(serializer),
        }
    }
}

/// Written as a role's name or a list of them.
impl<'de> Deserialize<'de> for Validators {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = Validators;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a role's name, split into the committees, or a list of roles, one per shard")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Validators, E> {
                Ok(Validators::Split(name.to_string()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Validators, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(Validators::PerShard(names))
            }
        }
        deserializer.deserialize_any(Either)
    }
}

/// A transfer issued at a set time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedTransfer {
    /// When it is issued.
    pub at: SimDuration,
    /// The issuing client (0 is the first node outside the committees).
    #[serde(default)]
    pub client: u32,
    /// Its accounts: the payer, then the receivers.
    pub accounts: Vec<u32>,
    /// What each receiver gets.
    pub amount: u64,
}

/// How accounts map to shards.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Assignment {
    /// By a hash of the account id.
    #[default]
    Hash,
    /// Contiguous ranges: account a is in shard ⌊a·k / accounts⌋.
    Range,
}

/// What a transfer that finds one of its accounts locked by another transaction does.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Locking {
    /// It is refused: the shard votes no (an intra-shard transfer is rejected).
    #[default]
    NoWait,
    /// It waits if it is older (issued earlier) than every holder, and is refused otherwise: a
    /// transfer only waits for younger ones, so no cycle of waits (deadlock) can form.
    WaitDie,
}

/// How a cross-shard transaction is carried out.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mechanism {
    /// Two-phase commit coordinated by the payer's shard, which orders the decision through its
    /// own consensus.
    #[default]
    TwoPhaseShard,
    /// Two-phase commit driven by the client, which asks every shard to prepare and then tells
    /// every shard the decision.
    TwoPhaseClient,
    /// Not atomic: the payer's shard debits and sends relay transactions that the receivers'
    /// shards credit later (value is in flight meanwhile).
    Relay,
}

impl Mechanism {
    /// Its name in files and plots.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::TwoPhaseShard => "TwoPhaseShard",
            Mechanism::TwoPhaseClient => "TwoPhaseClient",
            Mechanism::Relay => "Relay",
        }
    }
}

fn default_shards() -> u32 {
    4
}
fn default_committee() -> u32 {
    4
}
fn default_accounts() -> u32 {
    10_000
}
fn default_balance() -> u64 {
    1_000_000
}
fn default_amount() -> u64 {
    10
}
fn default_accounts_per_tx() -> u32 {
    2
}
fn default_load() -> Load {
    Load::Closed { window: 4 }
}
fn default_vote_timeout() -> SimDuration {
    SimDuration::from_secs(2)
}
fn default_recovery_after() -> SimDuration {
    SimDuration::from_secs(5)
}
fn default_tx_size() -> ByteSize {
    ByteSize(250)
}

impl Default for ShardingConfig {
    fn default() -> Self {
        ShardingConfig {
            shards: default_shards(),
            committee: default_committee(),
            validators: None,
            accounts: default_accounts(),
            balance: default_balance(),
            amount: default_amount(),
            assignment: Assignment::default(),
            accounts_per_tx: default_accounts_per_tx(),
            skew: 0.0,
            cross_shard_ratio: None,
            load: default_load(),
            script: Vec::new(),
            mechanism: Mechanism::default(),
            locking: Locking::default(),
            vote_timeout: default_vote_timeout(),
            recovery_after: default_recovery_after(),
            tx_size: default_tx_size(),
            warmup: SimDuration::ZERO,
            drain: SimDuration::ZERO,
            consensus: PbftConfig::default(),
        }
    }
}

/// Most shards: shard ids are 16-bit group ids.
pub const MAX_SHARDS: u32 = 1_024;
/// Most accounts: each has a balance and a shard in memory, and a Zipf table when skewed.
pub const MAX_ACCOUNTS: u32 = 50_000_000;
/// Most accounts per transaction.
pub const MAX_ACCOUNTS_PER_TX: u32 = 8;

impl ShardingConfig {
    /// Checks the section's own values; paths are relative to it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_SHARDS).contains(&self.shards) {
            return Err(ConfigError::new("shards", format!("must be between 1 and {MAX_SHARDS}")));
        }
        let n = self.committee;
        if !(4..=MAX_REPLICAS).contains(&n) || !(n - 1).is_multiple_of(3) {
            return Err(ConfigError::new(
                "committee",
                format!("{n} is not 3f + 1 for some f ≥ 1 (up to {MAX_REPLICAS}): use 4, 7, 10, 13, 16, ..."),
            ));
        }
        if !(2..=MAX_ACCOUNTS_PER_TX).contains(&self.accounts_per_tx) {
            return Err(ConfigError::new(
                "accounts_per_tx",
                format!("must be between 2 and {MAX_ACCOUNTS_PER_TX} (one payer and at least one receiver)"),
            ));
        }
        let least = self.shards * self.accounts_per_tx;
        if !(least..=MAX_ACCOUNTS).contains(&self.accounts) {
            return Err(ConfigError::new(
                "accounts",
                format!("must be between shards × accounts_per_tx ({least}) and {MAX_ACCOUNTS}"),
            ));
        }
        if self.amount == 0 {
            return Err(ConfigError::new("amount", "must be at least 1"));
        }
        let most_paid = u128::from(self.amount) * u128::from(self.accounts_per_tx - 1);
        if u128::from(self.balance) * u128::from(self.accounts) > u128::from(u64::MAX)
            || most_paid > u128::from(u64::MAX)
        {
            return Err(ConfigError::new("balance", "balance × accounts must fit in 64 bits"));
        }
        if !(self.skew.is_finite() && self.skew >= 0.0) {
            return Err(ConfigError::new("skew", "must be a Zipf exponent ≥ 0 (0 for uniform)"));
        }
        if let Some(ratio) = self.cross_shard_ratio {
            if !(0.0..=1.0).contains(&ratio) {
                return Err(ConfigError::new("cross_shard_ratio", "must be between 0 and 1"));
            }
            if self.shards == 1 && ratio > 0.0 {
                return Err(ConfigError::new("cross_shard_ratio", "must be 0 (or absent) with one shard"));
            }
        }
        match self.load {
            Load::Open { rate } if !(rate.is_finite() && rate > 0.0) => {
                return Err(ConfigError::new("load.rate", "must be a positive number of transactions per second"));
            }
            Load::Closed { window: 0 } => return Err(ConfigError::new("load.window", "must be at least 1")),
            _ => {}
        }
        for (i, transfer) in self.script.iter().enumerate() {
            self.validate_transfer(transfer).map_err(|e| e.within(&format!("script[{i}]")))?;
        }
        for (key, span) in [("vote_timeout", self.vote_timeout), ("recovery_after", self.recovery_after)] {
            if span < SimDuration::from_millis(1) {
                return Err(ConfigError::new(key, "must be at least 1ms"));
            }
        }
        self.validate_consensus().map_err(|e| e.within("consensus"))
    }

    fn validate_transfer(&self, transfer: &ScriptedTransfer) -> Result<(), ConfigError> {
        let accounts = &transfer.accounts;
        if !(2..=MAX_ACCOUNTS_PER_TX as usize).contains(&accounts.len()) {
            return Err(ConfigError::new("accounts", format!("list 2 to {MAX_ACCOUNTS_PER_TX} accounts, payer first")));
        }
        if let Some(a) = accounts.iter().find(|&&a| a >= self.accounts) {
            return Err(ConfigError::new(
                "accounts",
                format!("account {a} does not exist: accounts are 0..{}", self.accounts),
            ));
        }
        if accounts.iter().enumerate().any(|(i, a)| accounts[..i].contains(a)) {
            return Err(ConfigError::new("accounts", "list each account once"));
        }
        if transfer.amount == 0 {
            return Err(ConfigError::new("amount", "must be at least 1"));
        }
        Ok(())
    }

    /// The consensus section sets what PBFT does, not what the sharded system around it does.
    fn validate_consensus(&self) -> Result<(), ConfigError> {
        if let Some(key) = self.consensus.first_outer_key() {
            let fix = match key {
                "replicas" => "set protocol.committee (replicas per shard)",
                "load" => "set protocol.load",
                "requests" => "clients issue transactions until the end of the run",
                "warmup" => "set protocol.warmup",
                _ => "accounts are the state: set protocol.accounts",
            };
            return Err(ConfigError::new(key, format!("is not read by a sharded system: {fix}")));
        }
        self.consensus.validate(self.committee, self.committee + 1)
    }
}
