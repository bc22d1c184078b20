//! The `Pbft(...)` protocol section of an experiment file.

use serde::{Deserialize, Serialize};
use simulator::config::ConfigError;
use simulator::units::ByteSize;
use simulator::{NodeId, SimDuration};

/// Batched PBFT: the replicas are the first nodes or a role's nodes; the other nodes of the
/// network are clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbftConfig {
    /// The replicas: a number n = 3f + 1 (4, 7, 10, 13, 16, ...) of the first nodes, or the
    /// nodes of a role (`replicas: "validators"`).
    #[serde(default = "default_replicas")]
    pub replicas: Replicas,
    /// How every client generates requests.
    #[serde(default)]
    pub load: Load,
    /// Requests each client issues in total; unlimited (until `stop.time`) when absent.
    #[serde(default)]
    pub requests: Option<u64>,
    /// Application payload of a request.
    #[serde(default = "default_request_size")]
    pub request_size: ByteSize,
    /// Application payload of a reply.
    #[serde(default = "default_reply_size")]
    pub reply_size: ByteSize,
    /// Most requests per batch: the primary cuts a batch once this many are waiting...
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// ...or once the oldest waiting request has waited this long, whichever comes first.
    #[serde(default = "default_batch_timeout")]
    pub batch_timeout: SimDuration,
    /// Batches the primary may have proposed but not yet executed (1 = no pipelining); also
    /// bounded by the watermark window.
    #[serde(default = "default_in_flight")]
    pub in_flight: u32,
    /// A checkpoint every K sequence numbers.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: u64,
    /// Width L of the sequence-number window above the low watermark; 2K when absent.
    #[serde(default)]
    pub window: Option<u64>,
    /// How messages are authenticated.
    #[serde(default)]
    pub auth: Auth,
    /// CPU costs of authentication and execution.
    #[serde(default)]
    pub costs: Costs,
    /// Write the log to disk before sending PREPARE and COMMIT.
    #[serde(default)]
    pub persist: bool,
    /// Keys read and written by requests, and the state cache; requests touch no state when absent.
    #[serde(default)]
    pub execution: Option<ExecutionConfig>,
    /// A backup waiting this long for a request to execute starts a view change; doubled for every
    /// further view change without progress.
    #[serde(default = "default_view_change_timeout")]
    pub view_change_timeout: SimDuration,
    /// A replica resends protocol messages of sequence numbers that made no progress for this
    /// long, and its checkpoint until it is stable (lost messages would otherwise cost a view
    /// change); zero disables resending.
    #[serde(default = "default_resend_interval")]
    pub resend_interval: SimDuration,
    /// A client without f + 1 matching replies after this long resends the request to every replica.
    #[serde(default = "default_client_timeout")]
    pub client_timeout: SimDuration,
    /// Requests completed before this time are left out of throughput and latency.
    #[serde(default)]
    pub warmup: SimDuration,
    /// Replicas that deviate from the protocol. Crashes and recoveries are `network.faults.crashes`.
    #[serde(default)]
    pub byzantine: Vec<ByzantineConfig>,
}

fn default_replicas() -> Replicas {
    Replicas::Count(4)
}

/// Which nodes are the replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replicas {
    /// Nodes `0..n`.
    Count(u32),
    /// The nodes of this role, in node order.
    Role(String),
}

impl From<u32> for Replicas {
    fn from(n: u32) -> Self {
        Replicas::Count(n)
    }
}

impl Serialize for Replicas {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Replicas::Count(n) => serializer.serialize_u32(*n),
            Replicas::Role(name) => serializer.serialize_str(name),
        }
    }
}

/// Written as a number (`replicas: 4`) or a role's name (`replicas: "validators"`).
impl<'de> Deserialize<'de> for Replicas {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl serde::de::Visitor<'_> for Either {
            type Value = Replicas;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number of replicas (4, 7, 10, ...) or the name of a role, as a string")
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Replicas, E> {
                u32::try_from(n).map(Replicas::Count).map_err(|_| E::custom(format!("{n} replicas is too many")))
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Replicas, E> {
                u64::try_from(n)
                    .map_err(|_| E::custom(format!("{n} is not a number of replicas")))
                    .and_then(|n| self.visit_u64(n))
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Replicas, E> {
                Ok(Replicas::Role(name.to_string()))
            }
        }
        deserializer.deserialize_any(Either)
    }
}
fn default_request_size() -> ByteSize {
    ByteSize(128)
}
fn default_reply_size() -> ByteSize {
    ByteSize(64)
}
fn default_batch_size() -> u32 {
    10
}
fn default_batch_timeout() -> SimDuration {
    SimDuration::from_millis(5)
}
fn default_in_flight() -> u32 {
    1
}
fn default_checkpoint_interval() -> u64 {
    128
}
fn default_view_change_timeout() -> SimDuration {
    SimDuration::from_millis(500)
}
fn default_resend_interval() -> SimDuration {
    SimDuration::from_millis(200)
}
fn default_client_timeout() -> SimDuration {
    SimDuration::from_secs(1)
}

impl Default for PbftConfig {
    fn default() -> Self {
        PbftConfig {
            replicas: default_replicas(),
            load: Load::default(),
            requests: None,
            request_size: default_request_size(),
            reply_size: default_reply_size(),
            batch_size: default_batch_size(),
            batch_timeout: default_batch_timeout(),
            in_flight: default_in_flight(),
            checkpoint_interval: default_checkpoint_interval(),
            window: None,
            auth: Auth::default(),
            costs: Costs::default(),
            persist: false,
            execution: None,
            view_change_timeout: default_view_change_timeout(),
            resend_interval: default_resend_interval(),
            client_timeout: default_client_timeout(),
            warmup: SimDuration::ZERO,
            byzantine: Vec::new(),
        }
    }
}

/// Request generation of each client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Load {
    /// Open loop: requests arrive as a Poisson process, whatever the replies.
    Open {
        /// Mean requests per second of this client.
        rate: f64,
    },
    /// Closed loop: the client keeps this many requests outstanding.
    Closed {
        /// Outstanding requests.
        window: u32,
    },
}

impl Default for Load {
    fn default() -> Self {
        Load::Closed { window: 1 }
    }
}

/// Message authentication.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Auth {
    /// MAC authenticators: one MAC per receiver, cheap to compute.
    #[default]
    Macs,
    /// A digital signature per message.
    Signatures,
}

/// CPU time of each operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Costs {
    /// Computing or checking one MAC.
    #[serde(default = "default_mac")]
    pub mac: SimDuration,
    /// Producing one signature.
    #[serde(default = "default_sign")]
    pub sign: SimDuration,
    /// Verifying one signature.
    #[serde(default = "default_verify")]
    pub verify: SimDuration,
    /// Executing one request.
    #[serde(default = "default_execute")]
    pub execute: SimDuration,
}

fn default_mac() -> SimDuration {
    SimDuration::from_micros(1)
}
fn default_sign() -> SimDuration {
    SimDuration::from_micros(50)
}
fn default_verify() -> SimDuration {
    SimDuration::from_micros(100)
}
fn default_execute() -> SimDuration {
    SimDuration::from_micros(10)
}

impl Default for Costs {
    fn default() -> Self {
        Costs { mac: default_mac(), sign: default_sign(), verify: default_verify(), execute: default_execute() }
    }
}

impl Costs {
    /// All costs zero: the protocol's timing is the network's alone.
    pub fn free() -> Self {
        Costs { mac: SimDuration::ZERO, sign: SimDuration::ZERO, verify: SimDuration::ZERO, execute: SimDuration::ZERO }
    }
}

/// The state requests touch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionConfig {
    /// Size of the key space.
    pub keys: u64,
    /// Keys each request reads.
    #[serde(default = "default_reads")]
    pub reads: u32,
    /// Keys each request writes.
    #[serde(default = "default_writes")]
    pub writes: u32,
    /// The first `hot_keys` keys are hot...
    #[serde(default)]
    pub hot_keys: u64,
    /// ...and receive this share of all accesses.
    #[serde(default)]
    pub hot_share: f64,
    /// Keys held by each replica's LRU state cache; a read of any other key goes to disk.
    #[serde(default = "default_cache")]
    pub cache: u64,
    /// Bytes read from disk per missed key.
    #[serde(default = "default_value_size")]
    pub value_size: ByteSize,
}

fn default_reads() -> u32 {
    2
}
fn default_writes() -> u32 {
    1
}
fn default_cache() -> u64 {
    10_000
}
fn default_value_size() -> ByteSize {
    ByteSize(256)
}

/// A replica that deviates from the protocol from a given time on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByzantineConfig {
    /// The replica.
    pub replica: NodeId,
    /// What it does.
    pub behaviour: Behaviour,
    /// When it starts.
    #[serde(default)]
    pub from: SimDuration,
}

/// Faulty behaviours.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Behaviour {
    /// Sends nothing at all (a silent primary stalls the view until it is replaced).
    Silent,
    /// As primary, sends one batch to half of the backups and a different batch with the same
    /// sequence number to the other half; follows the protocol otherwise.
    Equivocate,
}

/// Most replicas: bit sets of votes and all-to-all traffic grow with n².
pub const MAX_REPLICAS: u32 = 1_000;

/// The fault threshold f of `n` replicas.
pub fn fault_threshold(n: u32) -> u32 {
    (n - 1) / 3
}

impl PbftConfig {
    /// The first key set (away from its default) of those an outer protocol running the group
    /// as a component decides itself: who the replicas are, the load and how many requests
    /// clients issue, the warm-up, the state requests touch.
    pub fn first_outer_key(&self) -> Option<&'static str> {
        let unset = PbftConfig::default();
        [
            ("replicas", self.replicas != unset.replicas),
            ("load", self.load != unset.load),
            ("requests", self.requests.is_some()),
            ("warmup", self.warmup != unset.warmup),
            ("execution", self.execution.is_some()),
        ]
        .into_iter()
        .find_map(|(key, set)| set.then_some(key))
    }

    /// The watermark window L.
    pub fn window(&self) -> u64 {
        self.window.unwrap_or(2 * self.checkpoint_interval)
    }

    /// Checks values for `n` replicas in a network of `nodes` nodes; paths are relative to the
    /// protocol section.
    pub fn validate(&self, n: u32, nodes: u32) -> Result<(), ConfigError> {
        if !(4..=MAX_REPLICAS).contains(&n) || !(n - 1).is_multiple_of(3) {
            let which = match &self.replicas {
                Replicas::Count(_) => String::new(),
                Replicas::Role(name) => format!("role `{name}` has {n} nodes, and "),
            };
            return Err(ConfigError::new(
                "replicas",
                format!("{which}{n} is not 3f + 1 for some f ≥ 1 (up to {MAX_REPLICAS}): use 4, 7, 10, 13, 16, ..."),
            ));
        }
        if nodes <= n {
            return Err(ConfigError::new(
                "replicas",
                format!(
                    "network.nodes ({nodes}) must exceed the {n} replicas: the nodes that are not replicas are the clients"
                ),
            ));
        }
        match self.load {
            Load::Open { rate } if !(rate.is_finite() && rate > 0.0) => {
                return Err(ConfigError::new("load.rate", "must be a positive number of requests per second"));
            }
            Load::Closed { window: 0 } => return Err(ConfigError::new("load.window", "must be at least 1")),
            _ => {}
        }
        if self.requests == Some(0) {
            return Err(ConfigError::new("requests", "must be at least 1, or absent for no limit"));
        }
        if self.batch_size == 0 {
            return Err(ConfigError::new("batch_size", "must be at least 1"));
        }
        if self.in_flight == 0 {
            return Err(ConfigError::new("in_flight", "must be at least 1"));
        }
        if self.checkpoint_interval == 0 {
            return Err(ConfigError::new("checkpoint_interval", "must be at least 1"));
        }
        if self.window() < self.checkpoint_interval {
            return Err(ConfigError::new(
                "window",
                format!("must be at least checkpoint_interval ({}) or the primary stalls", self.checkpoint_interval),
            ));
        }
        if self.view_change_timeout == SimDuration::ZERO {
            return Err(ConfigError::new("view_change_timeout", "must be > 0"));
        }
        if self.client_timeout == SimDuration::ZERO {
            return Err(ConfigError::new("client_timeout", "must be > 0"));
        }
        if let Some(execution) = &self.execution {
            execution.validate().map_err(|e| e.within("execution"))?;
        }
        for (i, b) in self.byzantine.iter().enumerate() {
            if b.replica >= n {
                return Err(ConfigError::new(
                    format!("byzantine[{i}].replica"),
                    format!("replica {} does not exist: replicas are 0..{n}", b.replica),
                ));
            }
            if self.byzantine[..i].iter().any(|other| other.replica == b.replica) {
                return Err(ConfigError::new(
                    format!("byzantine[{i}].replica"),
                    format!("replica {} is listed twice; give each faulty replica one behaviour", b.replica),
                ));
            }
        }
        Ok(())
    }
}

impl ExecutionConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.keys == 0 {
            return Err(ConfigError::new("keys", "must be at least 1"));
        }
        if self.hot_keys > self.keys {
            return Err(ConfigError::new("hot_keys", format!("must not exceed keys ({})", self.keys)));
        }
        if !(0.0..=1.0).contains(&self.hot_share) {
            return Err(ConfigError::new("hot_share", "must be between 0 and 1"));
        }
        if self.hot_share > 0.0 && self.hot_keys == 0 {
            return Err(ConfigError::new("hot_keys", "must be at least 1 when hot_share > 0"));
        }
        Ok(())
    }
}
