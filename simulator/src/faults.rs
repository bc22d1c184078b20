//! Fault state: which nodes are up, which partitions are active, and loss probabilities.
//!
//! Partition `i` is bit `i` of a per-node membership mask; two nodes are cut off from each other
//! when they differ in any active partition's bit, so overlapping partitions compose.

use std::collections::BTreeMap;

use crate::config::{FaultsConfig, LinkLoss};
use crate::time::SimTime;
use crate::topology::NodeId;

/// A change of fault state at a scheduled time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultEvent {
    /// The node stops: it receives nothing and its pending timers and tasks are void.
    Crash(NodeId),
    /// The node restarts.
    Recover(NodeId),
    /// Partition `i` takes effect.
    PartitionStart(u8),
    /// Partition `i` heals.
    PartitionEnd(u8),
}

/// Current fault state of the network.
#[derive(Clone, Debug)]
pub struct Faults {
    membership: Vec<u64>,
    active: u64,
    alive: Vec<bool>,
    incarnation: Vec<u32>,
    default_loss: f64,
    link_loss: BTreeMap<(NodeId, NodeId), f64>,
}

impl Faults {
    /// No faults yet for `nodes` nodes; returns the state and the schedule of fault events.
    pub fn new(
        nodes: u32,
        config: &FaultsConfig,
        loss: f64,
        link_loss: &[LinkLoss],
    ) -> (Self, Vec<(SimTime, FaultEvent)>) {
        let mut membership = vec![0u64; nodes as usize];
        let mut schedule = Vec::new();
        for (i, p) in config.partitions.iter().enumerate() {
            for id in p.nodes.ids() {
                membership[id as usize] |= 1 << i;
            }
            schedule.push((SimTime::ZERO + p.from, FaultEvent::PartitionStart(i as u8)));
            if let Some(until) = p.until {
                schedule.push((SimTime::ZERO + until, FaultEvent::PartitionEnd(i as u8)));
            }
        }
        for c in &config.crashes {
            schedule.push((SimTime::ZERO + c.at, FaultEvent::Crash(c.node)));
            if let Some(recover) = c.recover {
                schedule.push((SimTime::ZERO + recover, FaultEvent::Recover(c.node)));
            }
        }
        // Stable sort: simultaneous events keep config order.
        schedule.sort_by_key(|&(t, _)| t);
        let link_loss = link_loss.iter().map(|l| ((l.a.min(l.b), l.a.max(l.b)), l.probability)).collect();
        let faults = Faults {
            membership,
            active: 0,
            alive: vec![true; nodes as usize],
            incarnation: vec![0; nodes as usize],
            default_loss: loss,
            link_loss,
        };
        (faults, schedule)
    }

    /// Applies a scheduled change.
    pub fn apply(&mut self, event: FaultEvent) {
        match event {
            FaultEvent::Crash(n) => {
                self.alive[n as usize] = false;
                self.incarnation[n as usize] += 1;
            }
            FaultEvent::Recover(n) => self.alive[n as usize] = true,
            FaultEvent::PartitionStart(i) => self.active |= 1 << i,
            FaultEvent::PartitionEnd(i) => self.active &= !(1 << i),
        }
    }

    /// Whether `node` is up.
    #[inline]
    pub fn is_alive(&self, node: NodeId) -> bool {
        self.alive[node as usize]
    }

    /// How many times `node` has crashed; work scheduled in an earlier incarnation is void.
    #[inline]
    pub fn incarnation(&self, node: NodeId) -> u32 {
        self.incarnation[node as usize]
    }

    /// Whether an active partition separates `a` and `b`.
    #[inline]
    pub fn is_cut(&self, a: NodeId, b: NodeId) -> bool {
        // Checked per message: skip the membership loads while no partition is active.
        self.active != 0 && (self.membership[a as usize] ^ self.membership[b as usize]) & self.active != 0
    }

    /// Loss probability of the link between `a` and `b`.
    #[inline]
    pub fn loss_probability(&self, a: NodeId, b: NodeId) -> f64 {
        if self.link_loss.is_empty() {
            return self.default_loss;
        }
        *self.link_loss.get(&(a.min(b), a.max(b))).unwrap_or(&self.default_loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CrashConfig, NodeSet, PartitionConfig};
    use crate::time::SimDuration;

    #[test]
    fn overlapping_partitions_and_crashes() {
        let s = SimDuration::from_secs;
        let config = FaultsConfig {
            partitions: vec![
                PartitionConfig { from: s(1), until: Some(s(3)), nodes: NodeSet::Range(0, 2) },
                PartitionConfig { from: s(2), until: None, nodes: NodeSet::Nodes(vec![1]) },
            ],
            crashes: vec![CrashConfig { node: 3, at: s(1), recover: Some(s(2)) }],
        };
        let (mut f, schedule) = Faults::new(4, &config, 0.1, &[LinkLoss { a: 2, b: 0, probability: 0.5 }]);
        assert_eq!(schedule.len(), 5);
        assert!(schedule.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(!f.is_cut(0, 2));
        for (t, e) in &schedule {
            if *t <= SimTime::ZERO + s(2) {
                f.apply(*e);
            }
        }
        assert!(f.is_cut(0, 2) && f.is_cut(0, 1) && !f.is_cut(2, 3));
        assert!(f.is_alive(3) && f.incarnation(3) == 1);
        f.apply(FaultEvent::PartitionEnd(0));
        assert!(!f.is_cut(0, 2) && f.is_cut(0, 1));
        assert_eq!(f.loss_probability(0, 2), 0.5);
        assert_eq!(f.loss_probability(0, 1), 0.1);
    }
}
