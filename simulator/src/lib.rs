//! chainsim's engine: a deterministic, single-threaded discrete-event simulator of a network of
//! nodes with modelled links, latency, CPU, disk and faults. Protocols plug in through
//! [`protocol::Protocol`]; the engine knows nothing about blocks, consensus or shards.
//!
//! Determinism contract: simulated time is integer nanoseconds; events run in `(time, seq)` order
//! where `seq` is assigned at scheduling; every random draw comes from a stream derived from the
//! master seed ([`rng`]); nothing iterates a hash map. The same world, protocol and seed give the
//! same [`stats::RunStats::digest`] on any machine.

#![warn(missing_docs)]

pub mod config;
pub mod cpu;
pub mod digest;
pub mod disk;
pub mod engine;
pub mod faults;
pub mod harness;
pub mod id_hash;
pub mod latency;
pub mod math;
pub mod network;
pub mod prefetch;
pub mod presets;
pub mod protocol;
pub mod queue;
pub mod report;
pub mod rng;
pub mod roles;
pub mod sampling;
pub mod series;
pub mod slab;
pub mod stats;
pub mod time;
mod timers;
pub mod topology;
pub mod trace;
pub mod units;
pub mod world;

pub use engine::{Limits, Simulation};
pub use protocol::{Context, Effect, Effects, Message, Protocol, TimerId};
pub use report::{MetricValue, Report};
pub use stats::{NodeCounters, RunStats, StopReason};
pub use time::{SimDuration, SimTime};
pub use topology::{NodeId, Topology};
pub use world::{NodeLabels, World};
