//! How a protocol plugs into experiments. A protocol implements [`Registered`]: its name in
//! experiment files, its config section, the rules that section must obey given the whole
//! experiment, its metric columns, its default plots and how it is built for a run. One line in
//! [`crate::PROTOCOLS`] makes it known to the experiment format, the runner and the plots;
//! [`register`] adds one at run time (a program that embeds chainsim with its own protocol).
//!
//! An experiment's `protocol` section is a [`ProtocolConfig`]: the typed config of one registered
//! protocol behind a trait object. Dynamic dispatch happens only per run (validation, building,
//! reporting); the event loop runs on the concrete protocol type.

mod plot_spec;
mod section;

pub use plot_spec::{PlotKind, PlotSpec, ReferenceLine};
pub use section::{Finished, ProtocolConfig, Section};

use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::{PoisonError, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use simulator::SimDuration;
use simulator::config::{ConfigError, NetworkConfig};

use crate::Model;

/// What a protocol sees of the experiment around its section, for validation and building.
#[derive(Copy, Clone, Debug)]
pub struct Setting<'a> {
    /// The `network` section.
    pub network: &'a NetworkConfig,
    /// The simulated-time limit (`stop.time`), if any.
    pub stop_time: Option<SimDuration>,
}

/// A per-item curve a protocol writes into its run files, drawn by `Propagation` plots: the list
/// under `detail.<list>` holds one object per item, each with `field`, the times (ms) at which a
/// tenth, two tenths, … of the nodes held the item.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ItemCurve {
    /// The key of the item list in the run file's detail.
    pub list: &'static str,
    /// The field of each item holding the curve.
    pub field: &'static str,
    /// What an item is, for titles and labels ("block").
    pub noun: &'static str,
    /// The event the times count from ("mining").
    pub origin: &'static str,
}

/// Where a run file holds, for each item a metric summarises (each block, each flooded item),
/// that item's own value: `detail.<list>[i].<field>`, null for an item that never got there.
/// `Cdf` plots draw these values, pooled over a point's replicates.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PerItem {
    /// The key of the item list in the run file's detail.
    pub list: &'static str,
    /// The field of each item holding its value.
    pub field: &'static str,
    /// What an item is, for labels ("block").
    pub noun: &'static str,
}

/// A protocol that experiment files can name.
pub trait Registered: Model + Sized + 'static {
    /// Its name in experiment files: `protocol: <NAME>(...)`.
    const NAME: &'static str;
    /// Its config section.
    type Config: Serialize + DeserializeOwned + Clone + PartialEq + Debug + Send + Sync + 'static;

    /// Checks the section against the experiment around it. Error paths are full key paths
    /// (`protocol.items`, `network.topology`).
    fn validate(config: &Self::Config, setting: &Setting<'_>) -> Result<(), ConfigError>;

    /// The metric columns a run reports, in order.
    fn metric_names(config: &Self::Config) -> Vec<String>;

    /// The plots drawn when the experiment file declares none; `swept` lists the swept keys in
    /// axis order.
    fn default_plots(config: &Self::Config, swept: &[&str]) -> Vec<PlotSpec>;

    /// The axis label of metric or time series `name`, or of a swept key by its full path
    /// (`protocol.rate`), in words with its unit ("median cross-shard latency (ms)"); `None`
    /// leaves the column name.
    fn label(_name: &str) -> Option<&'static str> {
        None
    }

    /// The time series its runs record (`Report::series` names), for `TimeSeries` plots.
    fn series_names(_config: &Self::Config) -> Vec<String> {
        Vec::new()
    }

    /// The per-item curve its run files hold, if any.
    fn item_curve() -> Option<ItemCurve> {
        None
    }

    /// Where the run files hold metric `metric`'s value for each item it summarises, if they do.
    fn per_item(_metric: &str) -> Option<PerItem> {
        None
    }

    /// A rough, relative measure of a run's work, to start the longest runs of a study first so
    /// that no core is left with one long run at the end. By default the number of nodes.
    fn work_estimate(_config: &Self::Config, setting: &Setting<'_>) -> f64 {
        f64::from(setting.network.nodes)
    }

    /// Bytes of the protocol's own state at a run's peak, about, beyond the engine's (which
    /// `NetworkConfig::memory_estimate` counts): a run whose total exceeds the machine's
    /// available memory is refused before it starts. By default nothing beyond the engine's.
    fn memory_estimate(_config: &Self::Config, _setting: &Setting<'_>) -> f64 {
        0.0
    }

    /// The protocol's state for a run with `seed`, for a validated config.
    fn build(config: &Self::Config, setting: &Setting<'_>, seed: u64) -> Self;
}

/// A protocol as the registry holds it: a name and a way to read its section.
pub trait ProtocolEntry: Sync {
    /// The name in experiment files.
    fn name(&self) -> &'static str;

    /// The Rust type implementing the protocol, to tell a repeated registration from a clash.
    fn type_name(&self) -> &'static str;

    /// The axis label of its metric or time series `name` ([`Registered::label`]).
    fn label(&self, name: &str) -> Option<&'static str>;

    /// Its per-item curve ([`Registered::item_curve`]).
    fn item_curve(&self) -> Option<ItemCurve>;

    /// Where its run files hold `metric` per item ([`Registered::per_item`]).
    fn per_item(&self, metric: &str) -> Option<PerItem>;

    /// Reads the section's content (what follows the name) from `input`.
    fn parse<'de>(
        &self,
        input: &mut dyn erased_serde::Deserializer<'de>,
    ) -> Result<Box<dyn Section>, erased_serde::Error>;
}

/// The registry entry of protocol `M`: `&Entry::<MyProtocol>::NEW` in [`crate::PROTOCOLS`].
pub struct Entry<M>(PhantomData<fn() -> M>);

impl<M> Entry<M> {
    /// The entry.
    pub const NEW: Entry<M> = Entry(PhantomData);
}

impl<M: Registered> ProtocolEntry for Entry<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<M>()
    }

    fn label(&self, name: &str) -> Option<&'static str> {
        M::label(name)
    }

    fn item_curve(&self) -> Option<ItemCurve> {
        M::item_curve()
    }

    fn per_item(&self, metric: &str) -> Option<PerItem> {
        M::per_item(metric)
    }

    fn parse<'de>(
        &self,
        input: &mut dyn erased_serde::Deserializer<'de>,
    ) -> Result<Box<dyn Section>, erased_serde::Error> {
        let config: M::Config = erased_serde::deserialize(input)?;
        Ok(Box::new(section::Typed::<M>(config)))
    }
}

/// Protocols added at run time, after the built-in ones.
static ADDED: RwLock<Vec<&'static dyn ProtocolEntry>> = RwLock::new(Vec::new());

/// Adds a protocol to those experiment files can name, in this process. Registering the same
/// protocol twice is harmless; another protocol under a name already taken is refused.
pub fn register<M: Registered>() -> Result<(), String> {
    let mut added = ADDED.write().unwrap_or_else(PoisonError::into_inner);
    if crate::PROTOCOLS.iter().chain(added.iter()).any(|entry| entry.name() == M::NAME) {
        let same = find(&added, M::NAME).is_some_and(|entry| entry.type_name() == std::any::type_name::<M>());
        return if same { Ok(()) } else { Err(format!("a protocol named `{}` is registered already", M::NAME)) };
    }
    added.push(Box::leak(Box::new(Entry::<M>::NEW)));
    Ok(())
}

fn find(added: &[&'static dyn ProtocolEntry], name: &str) -> Option<&'static dyn ProtocolEntry> {
    crate::PROTOCOLS.iter().chain(added.iter()).copied().find(|entry| entry.name() == name)
}

/// The registered protocol called `name`.
pub fn lookup(name: &str) -> Option<&'static dyn ProtocolEntry> {
    find(&ADDED.read().unwrap_or_else(PoisonError::into_inner), name)
}

/// The names of every registered protocol, built-in ones first.
pub fn names() -> Vec<&'static str> {
    let added = ADDED.read().unwrap_or_else(PoisonError::into_inner);
    crate::PROTOCOLS.iter().chain(added.iter()).map(|entry| entry.name()).collect()
}
