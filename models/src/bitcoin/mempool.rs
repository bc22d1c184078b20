//! Real transaction gossip (`mempool: Gossip(...)`): transactions appear at random nodes as a
//! Poisson process; every node announces the transactions it learnt since its last announcement
//! to all its peers at exponentially distributed intervals (inventory trickling); a peer fetches
//! the ones it has not seen, by id, from the first announcer. Each node keeps its own mempool;
//! miners fill blocks from theirs, oldest first, and a validated block's transactions leave it.
//! Every piece of state is per node and per transaction, so this mode suits small networks and
//! short runs; `Sampled` stands in for it at scale.

use std::collections::BTreeSet;
use std::sync::Arc;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use simulator::sampling::standard_exponential;
use simulator::{Context, NodeId, SimDuration, SimTime};

use super::messages::Body;
use super::{Bitcoin, Timer};

/// Transaction gossip state of every node.
#[derive(Clone, Debug)]
pub(super) struct TxGossip {
    trickle: SimDuration,
    /// Transactions appear until the last block is mined; trickling stops then too, so that a
    /// run ends.
    horizon: SimTime,
    /// Creation time and origin of every transaction, in id order.
    created: Vec<(SimTime, NodeId)>,
    /// Transaction ids sorted by origin.
    by_origin: Vec<u32>,
    nodes: u32,
    /// Bit `tx * nodes + node`: the node has seen the transaction.
    seen: Vec<u64>,
    requested: Vec<BTreeSet<u32>>,
    mempool: Vec<BTreeSet<u32>>,
    /// Transactions each node will announce at its next trickle.
    unannounced: Vec<Vec<u32>>,
}

impl TxGossip {
    /// Transactions at `tx_rate` per second over the network until `horizon`.
    pub(super) fn new(tx_rate: f64, trickle: SimDuration, nodes: u32, horizon: SimTime, rng: &mut ChaCha8Rng) -> Self {
        let mut created = Vec::new();
        let mut at = SimTime::ZERO;
        loop {
            at += SimDuration::from_secs_f64_rounded(standard_exponential(rng) / tx_rate);
            if at > horizon {
                break;
            }
            created.push((at, rng.random_range(0..nodes)));
        }
        let mut by_origin: Vec<u32> = (0..created.len() as u32).collect();
        by_origin.sort_by_key(|&t| (created[t as usize].1, t));
        let bits = created.len() * nodes as usize;
        TxGossip {
            trickle,
            horizon,
            by_origin,
            nodes,
            seen: vec![0; bits.div_ceil(64)],
            requested: vec![BTreeSet::new(); nodes as usize],
            mempool: vec![BTreeSet::new(); nodes as usize],
            unannounced: vec![Vec::new(); nodes as usize],
            created,
        }
    }

    fn bit(&self, tx: u32, node: NodeId) -> (usize, u64) {
        let bit = tx as usize * self.nodes as usize + node as usize;
        (bit / 64, 1 << (bit % 64))
    }

    /// Whether `node` has seen `tx`.
    pub(super) fn has_seen(&self, tx: u32, node: NodeId) -> bool {
        let (word, mask) = self.bit(tx, node);
        self.seen[word] & mask != 0
    }

    /// `node` learns `tx`; returns false if it knew it.
    fn learn(&mut self, tx: u32, node: NodeId) -> bool {
        let (word, mask) = self.bit(tx, node);
        if self.seen[word] & mask != 0 {
            return false;
        }
        self.seen[word] |= mask;
        self.requested[node as usize].remove(&tx);
        self.mempool[node as usize].insert(tx);
        self.unannounced[node as usize].push(tx);
        true
    }

    /// Timers of `node` at the start: its own transactions and its first trickle.
    pub(super) fn start(&self, node: NodeId, rng: &mut ChaCha8Rng) -> Vec<(SimDuration, Timer)> {
        let mut timers: Vec<(SimDuration, Timer)> =
            crate::planned_for(&self.by_origin, |t| self.created[t as usize].1, node)
                .iter()
                .map(|&t| (self.created[t as usize].0.since(SimTime::ZERO), Timer::NewTx(t)))
                .collect();
        timers.push((self.next_trickle(rng), Timer::Trickle));
        timers
    }

    fn next_trickle(&self, rng: &mut ChaCha8Rng) -> SimDuration {
        SimDuration::from_secs_f64_rounded(standard_exponential(rng) * self.trickle.as_secs_f64())
    }

    /// A transaction appears at its origin.
    pub(super) fn created(&mut self, tx: u32, node: NodeId) {
        self.learn(tx, node);
    }

    /// Up to `limit` of `node`'s mempool transactions, oldest first, for a block it mines.
    pub(super) fn fill_block(&mut self, node: NodeId, limit: usize) -> Vec<u32> {
        let txs: Vec<u32> = self.mempool[node as usize].iter().take(limit).copied().collect();
        self.confirm(node, &txs);
        txs
    }

    /// `node` holds a block with `txs`: they are seen and leave its mempool.
    pub(super) fn confirm(&mut self, node: NodeId, txs: &[u32]) {
        for &tx in txs {
            let (word, mask) = self.bit(tx, node);
            self.seen[word] |= mask;
            self.requested[node as usize].remove(&tx);
            self.mempool[node as usize].remove(&tx);
        }
    }

    /// How many of `txs` `node` has not seen.
    pub(super) fn missing(&self, node: NodeId, txs: &[u32]) -> u32 {
        txs.iter().filter(|&&tx| !self.has_seen(tx, node)).count() as u32
    }

    /// The trickle timer of `node` fired: announce what it learnt since the last one.
    pub(super) fn trickle(&mut self, node: NodeId, ctx: &mut Context<'_, Bitcoin>) -> Option<Body> {
        let delay = self.next_trickle(ctx.rng());
        if ctx.now() < self.horizon {
            ctx.set_timer(delay, Timer::Trickle);
        }
        let announced = std::mem::take(&mut self.unannounced[node as usize]);
        (!announced.is_empty()).then(|| Body::TxInv(Arc::new(announced)))
    }

    /// Announced transactions `node` wants: not seen, not already requested.
    pub(super) fn wanted(&mut self, node: NodeId, announced: &[u32]) -> Option<Body> {
        let wanted: Vec<u32> = announced
            .iter()
            .copied()
            .filter(|&tx| !self.has_seen(tx, node) && self.requested[node as usize].insert(tx))
            .collect();
        (!wanted.is_empty()).then(|| Body::GetTx(Arc::new(wanted)))
    }

    /// A peer's transaction arrived.
    pub(super) fn received(&mut self, node: NodeId, tx: u32) {
        self.learn(tx, node);
    }

    /// Transactions created in the run.
    pub(super) fn transactions(&self) -> usize {
        self.created.len()
    }
}
