//! Protocol models that run as node behaviours inside the chainsim engine. Each model is a
//! [`simulator::Protocol`] with its own config section, validation and [`Model::report`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod arrivals;
pub mod bitcoin;
pub mod bridge;
pub mod chain;
pub mod flood;
pub mod pbft;
pub mod registry;
pub mod rollup;
pub mod sharding;

use registry::{Entry, ProtocolEntry};

/// The per-item field of a run file (each block, each flooded item) holding the times (ms) at
/// which a tenth, two tenths, … of the nodes held the item: ten entries, null where never
/// reached. `Propagation` plots draw it.
pub const REACH_CURVE: &str = "reach_deciles_ms";

/// Every protocol experiment files can name, one line each.
pub const PROTOCOLS: &[&dyn ProtocolEntry] = &[
    &Entry::<flood::Flood>::NEW,
    &Entry::<bitcoin::Bitcoin>::NEW,
    &Entry::<pbft::Pbft>::NEW,
    &Entry::<sharding::Sharding>::NEW,
    &Entry::<rollup::Rollup>::NEW,
    &Entry::<bridge::Bridge>::NEW,
];

use simulator::config::ConfigError;
use simulator::{Message, MetricValue, NodeId, Protocol, Report, RunStats, SimDuration, SimTime};

/// A protocol that can summarise a finished run.
pub trait Model: Protocol {
    /// Scalar metrics (fixed column order) and detail for the run's JSON file.
    fn report(&self, stats: &RunStats) -> Report;

    /// The planned work that had not begun when the run stopped, if any (e.g. "3 of 10 planned
    /// blocks not yet mined"). A run that the time limit cuts off before then would report
    /// metrics over part of what was asked, so it fails instead. The default has no plan: PBFT
    /// clients issue requests until the time limit by design.
    fn unstarted(&self) -> Option<String> {
        None
    }
}

/// A message body with the size it has on the wire, computed by the protocol when sending.
#[derive(Clone)]
pub struct Wire<B> {
    /// What it says.
    pub body: B,
    /// Bytes on the wire.
    pub bytes: u64,
}

/// The body first, so that a trace names a message by its body's variant.
impl<B: std::fmt::Debug> std::fmt::Debug for Wire<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} ({} B)", self.body, self.bytes)
    }
}

impl<B> Message for Wire<B> {
    fn wire_bytes(&self) -> u64 {
        self.bytes
    }
}

/// The rules of a protocol whose nodes reach each other directly while its chains gossip over
/// their own meshes, and whose users issue until a time limit: a complete topology (`why` says
/// why, for the error), a `stop.time` (returned), and `warmup` and `drain` shorter than it.
pub(crate) fn require_timed_complete(
    setting: &registry::Setting<'_>,
    protocol: &str,
    why: &str,
    warmup: SimDuration,
    drain: SimDuration,
) -> Result<SimDuration, ConfigError> {
    if setting.network.topology != simulator::config::TopologyConfig::Complete {
        return Err(ConfigError::new("network.topology", format!("{why}: use topology: Complete")));
    }
    let Some(stop) = setting.stop_time else {
        return Err(ConfigError::new(
            "stop.time",
            format!("{protocol} runs need a simulated-time limit (users issue until then); add e.g. time: \"1h\""),
        ));
    };
    for (key, span) in [("warmup", warmup), ("drain", drain)] {
        if span >= stop {
            return Err(ConfigError::new(
                format!("protocol.{key}"),
                format!("must be shorter than stop.time ({stop})"),
            ));
        }
    }
    Ok(stop)
}

/// Checks that `count` events `interval` apart (on average) fit in the simulated clock: the
/// error names the key `path` and the fix.
pub(crate) fn check_horizon(path: &str, count: u32, interval: SimDuration, what: &str) -> Result<(), ConfigError> {
    let span = u128::from(count) * u128::from(interval.0);
    if span > u128::from(SimTime::HORIZON.0) {
        return Err(ConfigError::new(
            path,
            format!(
                "{count} {what} {interval} apart span more than the 2^60 ns (about 36 years) chainsim can simulate; lower the interval or the count"
            ),
        ));
    }
    Ok(())
}

/// The entries of `by_node` (ids sorted by the node they belong to) that belong to `node`: a
/// node finds its own planned items (blocks to mine, items to create) when it starts.
pub(crate) fn planned_for(by_node: &[u32], node_of: impl Fn(u32) -> NodeId, node: NodeId) -> &[u32] {
    let first = by_node.partition_point(|&id| node_of(id) < node);
    let count = by_node[first..].iter().take_while(|&&id| node_of(id) == node).count();
    &by_node[first..first + count]
}

/// Nearest-rank percentile `p` of sorted durations, in milliseconds.
pub(crate) fn percentile(sorted: &[SimDuration], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1].as_millis_f64())
}

/// `numerator / denominator`, missing when the denominator is zero.
pub(crate) fn per(numerator: u64, denominator: u64) -> MetricValue {
    if denominator == 0 { MetricValue::Missing } else { MetricValue::real(numerator as f64 / denominator as f64) }
}

/// The label of `name` in a protocol's table of (metric or series, label) pairs.
pub(crate) fn label_in(table: &[(&str, &'static str)], name: &str) -> Option<&'static str> {
    table.iter().find(|(n, _)| *n == name).map(|(_, label)| *label)
}
