//! Experiments: the experiment file format, loading and validation, run execution and the result
//! files. The `chainsim` command line is a thin layer over this crate.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod atomic;
pub mod campaign;
pub mod experiment;
pub mod figures;
mod item_charts;
mod key_at;
pub mod load;
pub mod memory;
pub mod network_section;
pub mod nodes_table;
pub mod overrides;
pub mod reproduce;
pub mod results;
pub mod ron_value;
pub mod runner;
pub mod series_table;
pub mod slices;
pub mod student_t;
pub mod summary;
pub mod swarm;
pub mod sweep;
mod table;
mod time_chart;

pub use experiment::{Experiment, ProtocolConfig, StopConfig};
pub use load::{InputError, LoadedExperiment, Override, Point, load};
pub use results::{Provenance, ResultDir, WriteError};
pub use runner::{RunError, RunRecord, RunSpec, Timing, execute, execute_traced, plan};
