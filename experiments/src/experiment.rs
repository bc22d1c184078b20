//! The schema of an experiment file.

pub use models::registry::ProtocolConfig;
use models::registry::Setting;
use serde::{Deserialize, Serialize};

use crate::figures::PlotSpec;
use crate::sweep::{Axis, deserialize_axes};
use simulator::config::{ConfigError, NetworkConfig};
use simulator::{Limits, SimDuration, SimTime};

/// One experiment: a network, a protocol, and when to stop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Name of the study; results go to `results/<name>/` by default.
    pub name: String,
    /// Free text for the reader of the file and of the results.
    #[serde(default)]
    pub description: String,
    /// A short name for one point of a sweep across scenarios: a zip axis over `label`, next to
    /// the keys that make each scenario, names the scenarios in tables and plot legends.
    #[serde(default)]
    pub label: String,
    /// Master seed; every run's seed derives from it.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Stop conditions of every run.
    #[serde(default)]
    pub stop: StopConfig,
    /// The simulated network, written out or as `Preset("bitcoin-2019")` with optional changes.
    #[serde(deserialize_with = "crate::network_section::network_or_preset")]
    pub network: NetworkConfig,
    /// The protocol every node runs.
    pub protocol: ProtocolConfig,
    /// Runs per parameter point, each with its own seed.
    #[serde(default = "default_replicates")]
    pub replicates: u32,
    /// Swept keys: `[("network.nodes", [100, 1000])]`; the grid is their cartesian product.
    /// Not part of a point's resolved config (the manifest lists the sweep separately).
    #[serde(default, skip_serializing, deserialize_with = "deserialize_axes")]
    pub sweep: Vec<Axis>,
    /// Keys varied together as one axis of the grid; all need equally many values.
    #[serde(default, skip_serializing, deserialize_with = "deserialize_axes")]
    pub zip: Vec<Axis>,
    /// Charts drawn from the results; the protocol's defaults when empty. Not part of a point's
    /// resolved config (the manifest lists the plots separately).
    #[serde(default, skip_serializing)]
    pub plots: Vec<PlotSpec>,
}

fn default_seed() -> u64 {
    1
}

fn default_replicates() -> u32 {
    1
}

/// When a run stops, besides running out of events or the protocol declaring itself done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopConfig {
    /// Simulated-time limit; none by default.
    #[serde(default)]
    pub time: Option<SimDuration>,
    /// Most events one run may dispatch; running out fails the run (it guards against runaway
    /// configurations, so raise it deliberately).
    #[serde(default = "default_event_budget")]
    pub events: u64,
}

fn default_event_budget() -> u64 {
    1_000_000_000
}

impl Default for StopConfig {
    fn default() -> Self {
        StopConfig { time: None, events: default_event_budget() }
    }
}

impl StopConfig {
    /// The engine limits these settings stand for.
    pub fn limits(&self) -> Limits {
        Limits { time: self.time.map(|d| SimTime::ZERO + d), events: Some(self.events) }
    }
}

impl Experiment {
    /// What the protocol sees of the experiment around its section.
    pub fn setting(&self) -> Setting<'_> {
        Setting { network: &self.network, stop_time: self.stop.time }
    }

    /// Checks every value; errors carry the full key path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(ConfigError::new(
                "name",
                format!(
                    "`{}` must be non-empty and use only letters, digits, `-` and `_` (it names the results folder)",
                    self.name
                ),
            ));
        }
        if self.replicates == 0 {
            return Err(ConfigError::new("replicates", "must be at least 1"));
        }
        if self.stop.events == 0 {
            return Err(ConfigError::new("stop.events", "must be at least 1"));
        }
        self.network.validate().map_err(|e| e.within("network"))?;
        self.protocol.validate(&self.setting())
    }
}
