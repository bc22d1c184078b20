//! The `protocol` section of an experiment: one registered protocol's typed config behind a
//! trait object, read and written as `Name(fields...)` like an enum variant.

use std::fmt;
use std::time::{Duration, Instant};

use serde::de::{DeserializeSeed, EnumAccess, Error as _, VariantAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use simulator::config::ConfigError;
use simulator::trace::Tracer;
use simulator::{Limits, Report, RunStats, Simulation, StopReason, World};

use super::{ItemCurve, PerItem, PlotSpec, ProtocolEntry, Registered, Setting};
use crate::Model;

/// What the runner needs of a protocol section; implemented for every registered protocol.
pub trait Section: fmt::Debug + Send + Sync {
    /// The protocol's name in experiment files.
    fn name(&self) -> &'static str;
    /// See [`Registered::validate`].
    fn validate(&self, setting: &Setting<'_>) -> Result<(), ConfigError>;
    /// See [`Registered::metric_names`].
    fn metric_names(&self) -> Vec<String>;
    /// See [`Registered::default_plots`].
    fn default_plots(&self, swept: &[&str]) -> Vec<PlotSpec>;
    /// See [`Registered::series_names`].
    fn series_names(&self) -> Vec<String>;
    /// See [`Registered::item_curve`].
    fn item_curve(&self) -> Option<ItemCurve>;
    /// See [`Registered::per_item`].
    fn per_item(&self, metric: &str) -> Option<PerItem>;
    /// See [`Registered::work_estimate`].
    fn work_estimate(&self, setting: &Setting<'_>) -> f64;
    /// See [`Registered::memory_estimate`].
    fn memory_estimate(&self, setting: &Setting<'_>) -> f64;
    /// Builds the protocol and runs it over `world` to a stop condition, its events going to
    /// `trace` if given.
    fn run(
        &self,
        world: World,
        setting: &Setting<'_>,
        seed: u64,
        limits: Limits,
        trace: Option<Box<dyn Tracer>>,
    ) -> Finished;
    /// The config, for serialisation.
    fn config(&self) -> &dyn erased_serde::Serialize;
    /// A copy.
    fn boxed_clone(&self) -> Box<dyn Section>;
}

/// A run that reached a stop condition.
pub struct Finished {
    /// The protocol's metrics and detail.
    pub report: Report,
    /// The engine's counters.
    pub stats: RunStats,
    /// The planned work the time limit cut off before it began, if the run stopped on the limit.
    pub unstarted: Option<String>,
    /// Wall-clock time of the event loop alone.
    pub loop_time: Duration,
}

/// Runs `simulation` to a stop condition, timing the event loop.
fn finish<M: Model>(simulation: Simulation<M>) -> Finished {
    let looping = Instant::now();
    let (model, stats) = simulation.run();
    let loop_time = looping.elapsed();
    let unstarted = if stats.stop == StopReason::TimeLimit { model.unstarted() } else { None };
    Finished { report: model.report(&stats), stats, unstarted, loop_time }
}

/// The section of protocol `M`.
pub(super) struct Typed<M: Registered>(pub(super) M::Config);

impl<M: Registered> fmt::Debug for Typed<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(M::NAME).field(&self.0).finish()
    }
}

impl<M: Registered> Section for Typed<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }

    fn validate(&self, setting: &Setting<'_>) -> Result<(), ConfigError> {
        M::validate(&self.0, setting)
    }

    fn metric_names(&self) -> Vec<String> {
        M::metric_names(&self.0)
    }

    fn default_plots(&self, swept: &[&str]) -> Vec<PlotSpec> {
        M::default_plots(&self.0, swept)
    }

    fn series_names(&self) -> Vec<String> {
        M::series_names(&self.0)
    }

    fn item_curve(&self) -> Option<ItemCurve> {
        M::item_curve()
    }

    fn per_item(&self, metric: &str) -> Option<PerItem> {
        M::per_item(metric)
    }

    fn work_estimate(&self, setting: &Setting<'_>) -> f64 {
        M::work_estimate(&self.0, setting)
    }

    fn memory_estimate(&self, setting: &Setting<'_>) -> f64 {
        M::memory_estimate(&self.0, setting)
    }

    fn run(
        &self,
        world: World,
        setting: &Setting<'_>,
        seed: u64,
        limits: Limits,
        trace: Option<Box<dyn Tracer>>,
    ) -> Finished {
        let protocol = M::build(&self.0, setting, seed);
        match trace {
            None => finish(Simulation::new(protocol, world, seed, limits)),
            Some(trace) => finish(Simulation::traced(protocol, world, seed, limits, trace)),
        }
    }

    fn config(&self) -> &dyn erased_serde::Serialize {
        &self.0
    }

    fn boxed_clone(&self) -> Box<dyn Section> {
        Box::new(Typed::<M>(self.0.clone()))
    }
}

/// The `protocol` section of an experiment: `Flood(items: 10)`, `Pbft(replicas: 4)`, ...
pub struct ProtocolConfig(Box<dyn Section>);

impl ProtocolConfig {
    /// The section of protocol `M` with `config`.
    pub fn new<M: Registered>(config: M::Config) -> Self {
        ProtocolConfig(Box::new(Typed::<M>(config)))
    }
}

impl std::ops::Deref for ProtocolConfig {
    type Target = dyn Section;

    fn deref(&self) -> &(dyn Section + 'static) {
        &*self.0
    }
}

impl Clone for ProtocolConfig {
    fn clone(&self) -> Self {
        ProtocolConfig(self.0.boxed_clone())
    }
}

impl fmt::Debug for ProtocolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Sections are equal when they name the same protocol and serialise alike (configs are plain
/// data, so this is field-by-field equality).
impl PartialEq for ProtocolConfig {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name() && serde_json::to_value(self).ok() == serde_json::to_value(other).ok()
    }
}

impl Serialize for ProtocolConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let name = self.name();
        let index = super::names().iter().position(|n| *n == name).unwrap_or(0) as u32;
        serializer.serialize_newtype_variant("ProtocolConfig", index, name, self.config())
    }
}

impl<'de> Deserialize<'de> for ProtocolConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The variant list only feeds error messages; names are looked up as they come.
        deserializer.deserialize_enum("ProtocolConfig", &[], SectionVisitor)
    }
}

struct SectionVisitor;

impl<'de> Visitor<'de> for SectionVisitor {
    type Value = ProtocolConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a protocol: one of {}", super::names().join(", "))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<ProtocolConfig, A::Error> {
        let (ProtocolName(name), variant) = data.variant()?;
        let Some(entry) = super::lookup(&name) else {
            return Err(A::Error::custom(format!(
                "unknown protocol `{name}`, expected one of {}",
                super::names().join(", ")
            )));
        };
        variant.newtype_variant_seed(SectionSeed(entry))
    }
}

/// The protocol's name in front of its section, read as an identifier (as enum variants are).
struct ProtocolName(String);

impl<'de> Deserialize<'de> for ProtocolName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = ProtocolName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a protocol name")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<ProtocolName, E> {
                Ok(ProtocolName(name.to_string()))
            }
        }
        deserializer.deserialize_identifier(Name)
    }
}

/// Reads a section's content with the config type of `entry`'s protocol.
struct SectionSeed(&'static dyn ProtocolEntry);

impl<'de> DeserializeSeed<'de> for SectionSeed {
    type Value = ProtocolConfig;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ProtocolConfig, D::Error> {
        let mut erased = <dyn erased_serde::Deserializer>::erase(deserializer);
        self.0.parse(&mut erased).map(ProtocolConfig).map_err(D::Error::custom)
    }
}
