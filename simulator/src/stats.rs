//! Run-level results every protocol shares: per-node counters, the stop reason, the digest.

use serde::Serialize;

use crate::time::SimTime;

/// Traffic and resource counters of one node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeCounters {
    /// Bytes handed to the network by this node.
    pub bytes_sent: u64,
    /// Bytes delivered to this node.
    pub bytes_received: u64,
    /// Messages handed to the network by this node.
    pub messages_sent: u64,
    /// Messages delivered to this node.
    pub messages_received: u64,
    /// Messages addressed to this node that were lost, cut off by a partition, or arrived while
    /// it was down.
    pub messages_dropped: u64,
    /// Core time used, in nanoseconds.
    pub cpu_busy_ns: u64,
    /// Disk time used, in nanoseconds.
    pub disk_busy_ns: u64,
}

/// Why a run stopped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum StopReason {
    /// No event left to run.
    Quiescent,
    /// The protocol declared itself finished.
    Finished,
    /// The simulated-time limit was reached.
    TimeLimit,
    /// The event budget ran out before the run ended.
    EventBudget,
}

/// Engine-level outcome of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStats {
    /// Why the run stopped.
    pub stop: StopReason,
    /// Simulated time at the end.
    pub end_time: SimTime,
    /// Events dispatched.
    pub events: u64,
    /// Digest of every dispatched event.
    pub digest: u64,
    /// Counters per node.
    pub nodes: Vec<NodeCounters>,
}

impl RunStats {
    /// Sum of a counter over all nodes.
    pub fn total(&self, counter: impl Fn(&NodeCounters) -> u64) -> u64 {
        self.nodes.iter().map(counter).sum()
    }
}
