//! Bitcoin-style proof-of-work mining and block relay.
//!
//! Mining: inter-block times are exponential with the configured network mean, and each block's
//! miner is drawn in proportion to hash power; by memorylessness this is the same as every node
//! mining on its own, so the whole schedule is drawn at the start from the workload stream. A
//! miner builds on its current tip when its block comes due, so forks arise from propagation
//! delay alone. A node's tip is its highest validated block, the first seen winning ties.
//!
//! Relay, per block and node: `Full` — validated blocks are announced by `inv` to every peer not
//! known to have them; a node requests the block (`getdata`) from the first announcer and, when
//! that peer does not deliver within `request_timeout`, from the next. `Compact` (BIP 152) —
//! a node pushes `cmpctblock` unasked to the peers that chose it as a high-bandwidth peer (each
//! node picks up to `high_bandwidth_peers` peers: at start its first peers, then always the peers
//! that most recently delivered a new block first, signalled with `sendcmpct`), and announces to
//! the others, who ask for the compact block. A receiver rebuilds the block from its mempool and
//! asks the sender for missing transactions (`getblocktxn` / `blocktxn`); a timed-out request is
//! retried with a full block from the next announcer. Blocks are validated on the CPU (cost per
//! transaction) before they are relayed, except that `RelayThenValidate` pushes a rebuilt compact
//! block to high-bandwidth peers first.
//!
//! A node holds a block once it has validated it (the miner from the moment it mines it).

mod config;
mod downloads;
mod mempool;
mod messages;
mod metrics;
mod protocol;
mod registered;

pub use config::{BitcoinConfig, HashPower, Mempool, Relay, Validation, ValidationOrder};
pub use messages::{Body, Wire};
pub use metrics::METRICS;

use std::sync::Arc;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use simulator::rng::{GLOBAL, Purpose, stream};
use simulator::sampling::{Geometric, standard_exponential};
use simulator::{Context, NodeId, SimDuration, SimTime};
use smallvec::SmallVec;

use downloads::{Download, Downloads};
use mempool::TxGossip;
use messages::Sizes;

/// Where a node stands with one block.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Have {
    Unknown,
    Fetching,
    Validating,
    Valid,
}

/// A planned block: when it is mined and by whom.
#[derive(Copy, Clone, Debug)]
struct Planned {
    at: SimTime,
    miner: NodeId,
}

/// A mined block.
#[derive(Clone, Debug)]
struct Mined {
    parent: Option<u32>,
    height: u32,
    at: SimTime,
    /// Transactions, the coinbase included.
    txs: u64,
    /// With a gossip mempool, the ids of its transactions other than the coinbase.
    contents: Option<Arc<[u32]>>,
}

/// A short list of peers, inline up to BIP 152's three high-bandwidth peers and one spare.
type PeerList = SmallVec<[NodeId; 4]>;

/// Per-node relay state.
#[derive(Clone, Debug, Default)]
struct Node {
    tip: Option<u32>,
    downloads: Downloads,
    /// Peers this node asked to push blocks to it, most recent deliverer first.
    high_bandwidth_out: PeerList,
    /// Peers that asked this node to push blocks to them.
    high_bandwidth_in: PeerList,
}

/// Timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Timer {
    /// This node mines planned block `k`.
    Mine(u32),
    /// Transaction `t` appears at this node (gossip mempool).
    NewTx(u32),
    /// This node announces the transactions it learnt since its last announcement.
    Trickle,
    /// A block request may have failed.
    Timeout {
        /// The block.
        block: u32,
        /// The request it belongs to.
        attempt: u32,
    },
}

/// CPU work.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// Validating a block.
    Validate(u32),
}

/// Counters for the report.
#[derive(Clone, Debug, Default)]
struct Counters {
    /// Compact blocks that started a node's copy of a block.
    cmpct_received: u64,
    /// ...of which rebuilt from the mempool alone.
    cmpct_reconstructed: u64,
    /// Blocks a node received from a peer.
    receptions: u64,
    /// Round trips beyond the relay mode's normal path (getblocktxn, timed-out requests).
    extra_round_trips: u64,
    /// Transactions requested with getblocktxn.
    missing_txs: u64,
    /// Transactions (other than coinbases) in the compact blocks counted above.
    cmpct_txs: u64,
}

/// The state of every node.
pub struct Bitcoin {
    config: BitcoinConfig,
    nodes: u32,
    sizes: Sizes,
    plan: Vec<Planned>,
    /// Planned block ids sorted by miner.
    by_miner: Vec<u32>,
    mined: Vec<Option<Mined>>,
    /// `have[block * nodes + node]`.
    have: Vec<Have>,
    node: Vec<Node>,
    /// Per block, the delay from mining at which each successive node held it.
    reach: Vec<Vec<SimDuration>>,
    counters: Counters,
    /// Transaction gossip, with a gossip mempool.
    gossip: Option<TxGossip>,
}

impl Bitcoin {
    /// The protocol over `nodes` nodes for the run with `seed`; the mining schedule comes from the
    /// workload stream. The config must have been validated.
    pub fn new(config: BitcoinConfig, nodes: u32, seed: u64) -> Self {
        let mut rng = stream(seed, Purpose::Workload, GLOBAL);
        let plan = plan_blocks(&config, nodes, &mut rng);
        let mut by_miner: Vec<u32> = (0..config.blocks).collect();
        by_miner.sort_by_key(|&k| (plan[k as usize].miner, k));
        let blocks = config.blocks as usize;
        let gossip = match config.mempool {
            Mempool::Sampled { .. } => None,
            Mempool::Gossip { tx_rate, trickle } => {
                let horizon = plan.last().map_or(SimTime::ZERO, |p| p.at);
                Some(TxGossip::new(tx_rate, trickle, nodes, horizon, &mut rng))
            }
        };
        Bitcoin {
            gossip,
            sizes: Sizes::new(&config),
            plan,
            by_miner,
            mined: vec![None; blocks],
            have: vec![Have::Unknown; blocks * nodes as usize],
            node: vec![Node::default(); nodes as usize],
            reach: vec![Vec::new(); blocks],
            counters: Counters::default(),
            nodes,
            config,
        }
    }

    /// Where `node`'s standing with `block` sits in `have`.
    fn have_index(&self, block: u32, node: NodeId) -> usize {
        block as usize * self.nodes as usize + node as usize
    }

    fn have(&self, block: u32, node: NodeId) -> Have {
        self.have[self.have_index(block, node)]
    }

    fn set_have(&mut self, block: u32, node: NodeId, have: Have) {
        let index = self.have_index(block, node);
        self.have[index] = have;
    }

    fn send(&self, to: NodeId, body: Body, ctx: &mut Context<'_, Self>) {
        let txs = body.block().and_then(|b| self.mined[b as usize].as_ref()).map_or(0, |m| m.txs);
        let bytes = self.sizes.of(&body, txs);
        ctx.send(to, Wire { body, bytes });
    }

    fn compact(&self) -> bool {
        self.config.relay == Relay::Compact
    }

    fn relays_before_validation(&self) -> bool {
        self.compact() && self.config.validation.order == ValidationOrder::RelayThenValidate
    }

    /// `node` holds `block` from now on.
    fn hold(&mut self, block: u32, node: NodeId, now: SimTime) {
        self.set_have(block, node, Have::Valid);
        let height = |b: u32| self.mined[b as usize].as_ref().expect("a held block is mined").height;
        let at = self.mined[block as usize].as_ref().expect("a held block is mined").at;
        let taller = self.node[node as usize].tip.is_none_or(|tip| height(block) > height(tip));
        self.reach[block as usize].push(now.since(at));
        if taller {
            self.node[node as usize].tip = Some(block);
        }
    }

    /// Passes a validated block on: pushed to high-bandwidth peers (unless that happened before
    /// validation), announced to every other peer not known to have it.
    fn relay(&mut self, node: NodeId, block: u32, ctx: &mut Context<'_, Self>) {
        let state = &self.node[node as usize];
        let holders = state.downloads.get(block).map(|d| d.holders.as_slice()).unwrap_or_default();
        let pushed_early = self.relays_before_validation();
        for &peer in ctx.peers() {
            if holders.contains(&peer) {
                continue;
            }
            let pushes = self.compact() && state.high_bandwidth_in.contains(&peer);
            match (pushes, pushed_early) {
                (true, true) => {}
                (true, false) => self.send(peer, Body::CmpctBlock(block), ctx),
                (false, _) => self.send(peer, Body::Inv(block), ctx),
            }
        }
    }

    /// BIP 152's early push: a rebuilt compact block goes to high-bandwidth peers before validation.
    fn push_early(&self, node: NodeId, block: u32, ctx: &mut Context<'_, Self>) {
        let state = &self.node[node as usize];
        let holders = state.downloads.get(block).map(|d| d.holders.as_slice()).unwrap_or_default();
        for &peer in &state.high_bandwidth_in {
            if !holders.contains(&peer) {
                self.send(peer, Body::CmpctBlock(block), ctx);
            }
        }
    }

    /// Asks `peer` for `block`: a compact block on the first request in compact mode, a full
    /// block otherwise.
    fn request(&mut self, node: NodeId, block: u32, peer: NodeId, ctx: &mut Context<'_, Self>) {
        let compact = self.compact();
        let timeout = self.request_timeout(node, block, peer);
        let download = self.node[node as usize].downloads.entry(block);
        let first = download.attempt == 0;
        download.attempt += 1;
        download.from = Some(peer);
        download.rebuilding = false;
        let attempt = download.attempt;
        if let Some(old) = download.timer.replace(ctx.set_timer(timeout, Timer::Timeout { block, attempt })) {
            ctx.cancel_timer(old);
        }
        self.send(peer, Body::GetData { block, compact: compact && first }, ctx);
    }

    /// How long `node` waits for `block` from `peer`: the configured timeout, or Core's, which
    /// counts the other peers it is fetching blocks from right now.
    fn request_timeout(&self, node: NodeId, block: u32, peer: NodeId) -> SimDuration {
        if let Some(fixed) = self.config.request_timeout {
            return fixed;
        }
        let mut others = PeerList::new();
        for (other, asked) in self.node[node as usize].downloads.requests() {
            if other != block && asked != peer && self.have(other, node) == Have::Fetching && !others.contains(&asked) {
                others.push(asked);
            }
        }
        self.config.core_request_timeout(others.len())
    }

    /// Records that `peer` has `block`; returns the node's download of it.
    fn note_holder(&mut self, node: NodeId, block: u32, peer: NodeId) -> &mut Download {
        let download = self.node[node as usize].downloads.entry(block);
        if !download.holders.contains(&peer) {
            download.holders.push(peer);
        }
        download
    }

    /// The whole block is here (from `peer`): validate it, after an early push if configured.
    fn received(&mut self, node: NodeId, block: u32, peer: NodeId, ctx: &mut Context<'_, Self>) {
        self.counters.receptions += 1;
        let contents = self.contents(block);
        if let (Some(gossip), Some(contents)) = (self.gossip.as_mut(), contents) {
            gossip.confirm(node, &contents);
        }
        self.set_have(block, node, Have::Validating);
        let download = self.note_holder(node, block, peer);
        download.from = Some(peer);
        if let Some(timer) = download.timer.take() {
            ctx.cancel_timer(timer);
        }
        if self.relays_before_validation() {
            self.push_early(node, block, ctx);
        }
        let txs = self.mined[block as usize].as_ref().map_or(0, |m| m.txs);
        let cost = SimDuration(self.config.validation.per_tx.0 * txs);
        if cost == SimDuration::ZERO {
            self.validated(node, block, ctx);
        } else {
            ctx.run_cpu(cost, Job::Validate(block));
        }
    }

    fn validated(&mut self, node: NodeId, block: u32, ctx: &mut Context<'_, Self>) {
        self.hold(block, node, ctx.now());
        let deliverer = self.node[node as usize].downloads.get(block).and_then(|d| d.from);
        if let Some(peer) = deliverer {
            self.promote_high_bandwidth(node, peer, ctx);
        }
        self.relay(node, block, ctx);
        self.node[node as usize].downloads.remove(block);
    }

    /// `peer` delivered a new block first: it becomes (or stays) a high-bandwidth peer, pushing out
    /// the one that delivered least recently.
    fn promote_high_bandwidth(&mut self, node: NodeId, peer: NodeId, ctx: &mut Context<'_, Self>) {
        let limit = self.config.high_bandwidth_peers as usize;
        if !self.compact() || limit == 0 {
            return;
        }
        let list = &mut self.node[node as usize].high_bandwidth_out;
        let known = list.iter().position(|&p| p == peer);
        match known {
            Some(i) => {
                list.remove(i);
                list.insert(0, peer);
            }
            None => {
                list.insert(0, peer);
                let evicted = (list.len() > limit).then(|| list.pop()).flatten();
                self.send(peer, Body::SendCmpct { high_bandwidth: true }, ctx);
                if let Some(old) = evicted {
                    self.send(old, Body::SendCmpct { high_bandwidth: false }, ctx);
                }
            }
        }
    }

    /// The transaction ids of `block`, with a gossip mempool.
    fn contents(&self, block: u32) -> Option<Arc<[u32]>> {
        self.mined[block as usize].as_ref().and_then(|m| m.contents.clone())
    }

    /// Transactions of `block` that `node` lacks: with a gossip mempool, those it has not seen;
    /// sampled, each non-coinbase transaction independently with the miss rate (counted by
    /// geometric skips, so the cost is the number missing).
    fn missing(&self, node: NodeId, block: u32, rng: &mut ChaCha8Rng) -> u32 {
        if let (Some(gossip), Some(contents)) = (self.gossip.as_ref(), self.contents(block)) {
            return gossip.missing(node, &contents);
        }
        let Mempool::Sampled { miss_rate } = self.config.mempool else { return 0 };
        let candidates = self.mined[block as usize].as_ref().map_or(1, |m| m.txs) - 1;
        if miss_rate <= 0.0 || candidates == 0 {
            return 0;
        }
        if miss_rate >= 1.0 {
            return candidates as u32;
        }
        let gaps = Geometric::new(miss_rate);
        let (mut position, mut count) = (0u64, 0u32);
        loop {
            let skip = gaps.sample(rng);
            if skip >= (candidates - position) as f64 {
                return count;
            }
            position += skip as u64 + 1;
            count += 1;
        }
    }

    fn on_cmpct_block(&mut self, node: NodeId, from: NodeId, block: u32, ctx: &mut Context<'_, Self>) {
        let have = self.have(block, node);
        if have == Have::Valid {
            return;
        }
        let download = self.note_holder(node, block, from);
        if have == Have::Validating || download.rebuilding {
            return;
        }
        self.set_have(block, node, Have::Fetching);
        self.counters.cmpct_received += 1;
        self.counters.cmpct_txs += self.mined[block as usize].as_ref().map_or(1, |m| m.txs) - 1;
        let missing = self.missing(node, block, ctx.rng());
        if missing == 0 {
            self.counters.cmpct_reconstructed += 1;
            self.received(node, block, from, ctx);
            return;
        }
        self.counters.extra_round_trips += 1;
        self.counters.missing_txs += u64::from(missing);
        let timeout = self.request_timeout(node, block, from);
        let download = self.note_holder(node, block, from);
        download.from = Some(from);
        download.rebuilding = true;
        download.attempt += 1;
        let attempt = download.attempt;
        if let Some(old) = download.timer.replace(ctx.set_timer(timeout, Timer::Timeout { block, attempt })) {
            ctx.cancel_timer(old);
        }
        self.send(from, Body::GetBlockTxn { block, missing }, ctx);
    }

    fn on_inv(&mut self, node: NodeId, from: NodeId, block: u32, ctx: &mut Context<'_, Self>) {
        let have = self.have(block, node);
        if have == Have::Valid {
            // Already relayed: who else has it no longer matters.
            return;
        }
        let download = self.note_holder(node, block, from);
        let idle = download.from.is_none();
        match have {
            Have::Unknown => {
                self.set_have(block, node, Have::Fetching);
                self.request(node, block, from, ctx);
            }
            Have::Fetching if idle => self.request(node, block, from, ctx),
            _ => {}
        }
    }

    /// A request timed out: ask the next peer known to have the block, for the whole block.
    fn on_timeout(&mut self, node: NodeId, block: u32, attempt: u32, ctx: &mut Context<'_, Self>) {
        if self.have(block, node) != Have::Fetching {
            return;
        }
        let Some(download) = self.node[node as usize].downloads.get_mut(block) else { return };
        if download.attempt != attempt {
            return;
        }
        download.timer = None;
        let current = download.from.and_then(|p| download.holders.iter().position(|&h| h == p)).unwrap_or(0);
        let next = download.holders[(current + 1) % download.holders.len()];
        self.counters.extra_round_trips += 1;
        self.request(node, block, next, ctx);
    }
}

/// Draws when each block is mined and by whom.
fn plan_blocks(config: &BitcoinConfig, nodes: u32, rng: &mut ChaCha8Rng) -> Vec<Planned> {
    let weights: Vec<(NodeId, f64)> = match &config.hash_power {
        HashPower::Equal => Vec::new(),
        HashPower::Exponential => (0..nodes).map(|n| (n, standard_exponential(rng))).collect(),
        HashPower::Miners(miners) => miners.clone(),
    };
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut total = 0.0;
    for &(_, w) in &weights {
        total += w;
        cumulative.push(total);
    }
    let mut at = SimTime::ZERO;
    (0..config.blocks)
        .map(|_| {
            at += SimDuration::from_secs_f64_rounded(standard_exponential(rng) * config.interval.as_secs_f64());
            let miner = if weights.is_empty() {
                rng.random_range(0..nodes)
            } else {
                let target = rng.random::<f64>() * total;
                let i = cumulative.partition_point(|&c| c <= target).min(weights.len() - 1);
                weights[i].0
            };
            Planned { at, miner }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_timeout_counts_other_peers_a_node_is_fetching_from() {
        let config = BitcoinConfig { blocks: 4, interval: SimDuration::from_secs(10), ..BitcoinConfig::default() };
        let mut bitcoin = Bitcoin::new(config, 8, 1);
        // Node 0 fetches block 1 from peer 5 and block 2 from peer 6, and has block 3 (from
        // peer 7) in validation already.
        for (block, peer, have) in [(1, 5, Have::Fetching), (2, 6, Have::Fetching), (3, 7, Have::Validating)] {
            bitcoin.node[0].downloads.entry(block).from = Some(peer);
            bitcoin.set_have(block, 0, have);
        }
        let secs = SimDuration::from_secs;
        // Asking peer 4 for block 0: two other peers downloading.
        assert_eq!(bitcoin.request_timeout(0, 0, 4), secs(20));
        // Asking peer 5 again (for block 0): only peer 6 is another peer.
        assert_eq!(bitcoin.request_timeout(0, 0, 5), secs(15));
        // Re-asking for block 1 from peer 4: its own earlier request does not count.
        assert_eq!(bitcoin.request_timeout(0, 1, 4), secs(15));
        assert_eq!(bitcoin.request_timeout(1, 0, 4), secs(10));
        bitcoin.config.request_timeout = Some(secs(3));
        assert_eq!(bitcoin.request_timeout(0, 0, 4), secs(3), "a configured timeout counts no peers");
    }
}
