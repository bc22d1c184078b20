//! Protocol models that run as node behaviours inside the chainsim engine. Each model is a
//! [`simulator::Protocol`] with its own config section, validation and [`Model::report`].

#![warn(missing_docs)]

pub mod bitcoin;
pub mod flood;
pub mod pbft;

use simulator::{Protocol, Report, RunStats};

/// A protocol that can summarise a finished run.
pub trait Model: Protocol {
    /// Scalar metrics (fixed column order) and detail for the run's JSON file.
    fn report(&self, stats: &RunStats) -> Report;
}
