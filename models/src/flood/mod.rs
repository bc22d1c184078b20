//! Flooding: the simplest dissemination protocol, and the baseline for every relay protocol.
//! Items are created at source nodes on a schedule drawn at the start of the run; a node that
//! receives an item for the first time (optionally verifies it on its CPU and writes it to disk,
//! then) forwards it to every peer except the one it came from.

mod config;
mod metrics;
mod registered;

pub use config::{Arrivals, FloodConfig, Sources};
pub use metrics::METRICS;

use rand::RngExt;
use simulator::rng::{GLOBAL, Purpose, stream};
use simulator::roles::Roles;
use simulator::sampling::standard_exponential;
use simulator::{Context, Message, NodeId, Protocol, SimDuration, SimTime};

/// An item on the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Which item.
    pub id: u32,
    /// Its size in bytes.
    pub bytes: u64,
}

impl Message for Item {
    fn wire_bytes(&self) -> u64 {
        self.bytes
    }
}

/// Work on a received item before it is forwarded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    item: u32,
    /// The peer it came from, which is not sent the item back.
    from: Option<NodeId>,
}

/// Planned creation of one item.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Creation {
    at: SimTime,
    source: NodeId,
}

/// State of the flood protocol across all nodes.
pub struct Flood {
    config: FloodConfig,
    nodes: u32,
    plan: Vec<Creation>,
    /// Item ids sorted by source, so a node finds its own items at start by binary search.
    by_source: Vec<u32>,
    /// Bit `item * nodes + node`: the node holds the item.
    holds: Vec<u64>,
    created: Vec<Option<SimTime>>,
    /// For every item, the delay from creation at which each successive node first held it.
    reach: Vec<Vec<SimDuration>>,
    fully_reached: u32,
    duplicates: u64,
}

impl Flood {
    /// A flood over `nodes` nodes with `roles`; creation times and sources come from the workload
    /// stream of `seed`. The config must have been validated against the network.
    pub fn new(config: FloodConfig, nodes: u32, roles: &Roles, seed: u64) -> Self {
        let candidates = match &config.sources {
            Sources::Any => None,
            Sources::Nodes(list) => Some(list.as_slice()),
            Sources::Role(name) => Some(roles.members(name).expect("sources name a validated role")),
        };
        let mut rng = stream(seed, Purpose::Workload, GLOBAL);
        let mut plan = Vec::with_capacity(config.items as usize);
        let mut at = SimTime::ZERO;
        for k in 0..config.items {
            if k > 0 {
                at += match config.arrivals {
                    Arrivals::Periodic => config.interval,
                    Arrivals::Poisson => SimDuration::from_secs_f64_rounded(
                        standard_exponential(&mut rng) * config.interval.as_secs_f64(),
                    ),
                };
            }
            let source = match candidates {
                None => rng.random_range(0..nodes),
                Some(list) => list[rng.random_range(0..list.len())],
            };
            plan.push(Creation { at, source });
        }
        let mut by_source: Vec<u32> = (0..config.items).collect();
        by_source.sort_by_key(|&k| (plan[k as usize].source, k));
        let bits = config.items as usize * nodes as usize;
        Flood {
            nodes,
            by_source,
            holds: vec![0; bits.div_ceil(64)],
            created: vec![None; config.items as usize],
            reach: vec![Vec::new(); config.items as usize],
            fully_reached: 0,
            duplicates: 0,
            plan,
            config,
        }
    }

    /// Marks `node` as holding `item`; false if it already did.
    fn take(&mut self, item: u32, node: NodeId, now: SimTime) -> bool {
        let bit = item as usize * self.nodes as usize + node as usize;
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        if self.holds[word] & mask != 0 {
            return false;
        }
        self.holds[word] |= mask;
        let created = self.created[item as usize].expect("an item is held only after it was created");
        let reach = &mut self.reach[item as usize];
        reach.push(now.since(created));
        if reach.len() == self.nodes as usize {
            self.fully_reached += 1;
        }
        true
    }

    /// Whether `node` holds `item`.
    pub fn holds(&self, item: u32, node: NodeId) -> bool {
        let bit = item as usize * self.nodes as usize + node as usize;
        self.holds[bit / 64] & (1 << (bit % 64)) != 0
    }

    fn forward(&self, job: Forward, ctx: &mut Context<'_, Self>) {
        let msg = Item { id: job.item, bytes: self.config.item_size.bytes() };
        for &peer in ctx.peers() {
            if Some(peer) != job.from {
                ctx.send(peer, msg);
            }
        }
    }

    fn check_done(&self, ctx: &mut Context<'_, Self>) {
        if self.fully_reached == self.config.items {
            ctx.finish();
        }
    }
}

impl Protocol for Flood {
    type Msg = Item;
    type Timer = u32;
    type CpuJob = Forward;
    type DiskJob = Forward;

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        for &k in crate::planned_for(&self.by_source, |k| self.plan[k as usize].source, node) {
            ctx.set_timer(self.plan[k as usize].at.since(ctx.now()), k);
        }
    }

    fn on_timer(&mut self, node: NodeId, item: u32, ctx: &mut Context<'_, Self>) {
        self.created[item as usize] = Some(ctx.now());
        self.take(item, node, ctx.now());
        self.forward(Forward { item, from: None }, ctx);
        self.check_done(ctx);
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, msg: Item, ctx: &mut Context<'_, Self>) {
        if !self.take(msg.id, node, ctx.now()) {
            self.duplicates += 1;
            return;
        }
        let job = Forward { item: msg.id, from: Some(from) };
        if self.config.verify > SimDuration::ZERO {
            ctx.run_cpu(self.config.verify, job);
        } else if self.config.persist {
            ctx.disk_write(msg.bytes, job);
        } else {
            self.forward(job, ctx);
        }
        self.check_done(ctx);
    }

    fn on_cpu_done(&mut self, _node: NodeId, job: Forward, ctx: &mut Context<'_, Self>) {
        if self.config.persist {
            ctx.disk_write(self.config.item_size.bytes(), job);
        } else {
            self.forward(job, ctx);
        }
    }

    fn on_disk_done(&mut self, _node: NodeId, job: Forward, ctx: &mut Context<'_, Self>) {
        self.forward(job, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simulator::harness::{Harness, receivers};
    use simulator::{Effect, Topology};

    #[test]
    fn forwards_once_to_every_peer_but_the_sender() {
        let topology = Topology::from_edges(4, [(0, 1), (0, 2), (0, 3)]);
        let config = FloodConfig { items: 1, sources: Sources::Nodes(vec![1]), ..FloodConfig::default() };
        let mut flood = Flood::new(config, 4, &Roles::default(), 1);
        let mut h = Harness::new(topology, 1);
        flood.created[0] = Some(SimTime::ZERO);
        let first = h.at(SimTime(5)).message(&mut flood, 0, 1, Item { id: 0, bytes: 10 });
        assert!(first.iter().all(|e| matches!(e, Effect::Send { .. })), "{first:?}");
        assert_eq!(receivers(&first), vec![2, 3]);
        assert!(h.message(&mut flood, 0, 2, Item { id: 0, bytes: 10 }).is_empty());
        assert_eq!(flood.duplicates, 1);
        assert!(flood.holds(0, 0) && !flood.holds(0, 3));
    }

    #[test]
    fn verify_and_persist_run_before_forwarding() {
        let topology = Topology::complete(3);
        let config = FloodConfig { items: 1, verify: SimDuration(7), persist: true, ..FloodConfig::default() };
        let mut flood = Flood::new(config, 3, &Roles::default(), 1);
        flood.created[0] = Some(SimTime::ZERO);
        let mut h = Harness::new(topology, 1);
        let job = Forward { item: 0, from: Some(1) };
        let verify = h.at(SimTime(5)).message(&mut flood, 0, 1, Item { id: 0, bytes: 10 });
        assert!(matches!(verify.as_slice(), [Effect::Cpu { duration: SimDuration(7), job: j }] if *j == job));
        let persist = h.at(SimTime(12)).cpu_done(&mut flood, 0, job);
        assert!(matches!(persist.as_slice(), [Effect::DiskWrite { bytes: 1_000_000, .. }]));
        let forward = h.at(SimTime(20)).disk_done(&mut flood, 0, job);
        assert!(matches!(forward.as_slice(), [Effect::Send { to: 2, .. }]));
    }

    #[test]
    fn periodic_plan_and_sources() {
        let config = FloodConfig {
            items: 4,
            arrivals: Arrivals::Periodic,
            interval: SimDuration::from_millis(250),
            sources: Sources::Nodes(vec![3, 5]),
            ..FloodConfig::default()
        };
        let flood = Flood::new(config, 10, &Roles::default(), 9);
        let times: Vec<u64> = flood.plan.iter().map(|c| c.at.0).collect();
        assert_eq!(times, vec![0, 250_000_000, 500_000_000, 750_000_000]);
        assert!(flood.plan.iter().all(|c| c.source == 3 || c.source == 5));
    }
}
