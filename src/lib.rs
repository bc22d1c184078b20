//! The `chainsim` command line as a library: [`cli::main`] runs a command line in this process,
//! so a program that registers its own protocols (`models::registry::register`) can offer every
//! command for them.

#![warn(missing_docs)]

mod bench;
pub mod cli;
mod commands;
mod progress;
mod slurm;
mod status;
mod swarm;
mod trace;
