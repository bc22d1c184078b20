//! An L1 chain as a component that any protocol can run on a set of its nodes: fixed slots with a
//! proposer per slot drawn from the validators, blocks limited by gas and by blobs, a
//! fee-ordered mempool at every chain node fed by gossip, blocks gossiped over the same mesh,
//! and finality a fixed number of slots after a block's own.
//!
//! The chain does not fork: a proposer that has not received the newest block when its slot
//! starts proposes as soon as it does, and misses its slot if that takes the whole slot. Blocks
//! carry their slot's start as their time, as Ethereum's do. What a transaction *means* is left
//! to the protocol around the chain (its payload `T`): it executes each new block once, at the
//! moment it is built, and each node reacts to a block when it receives it.
//!
//! [`BftChain`] is the other kind: a chain ordered by a PBFT group, whose blocks are final when
//! built.

mod bft;
mod config;
mod fees;
mod mempool;
mod types;

pub use bft::{BftChain, BftChainConfig, Tick};
pub use config::{BLOB_BYTES, BLOB_SIDECAR_BYTES, BLOB_USABLE_BYTES, BlobParams, ChainConfig, OtherUsers};
pub use fees::{blob_base_fee, fake_exponential};

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use rand::RngExt;
use simulator::math;
use simulator::rng::{GLOBAL, Purpose, stream};
use simulator::sampling::standard_exponential;
use simulator::{Context, NodeId, Protocol, SimDuration, SimTime, Topology};

use mempool::{Candidate, Mempool};
pub use types::{Block, ChainId, ChainMsg, ChainTimer, Gossip, L1Tx, Outgoing};

/// Names an L1 transaction: its index in [`Chain::txs`].
pub type TxId = u32;

/// Bytes of a block header on the wire.
const HEADER_BYTES: u64 = 600;
/// Bytes of a transaction's envelope (signature, nonce, fees, addresses) before its data.
const TX_ENVELOPE_BYTES: u64 = 150;
/// Stream ids (within the protocol purpose) of the chain's own random draws.
const MESH_STREAM: u64 = GLOBAL - 1;
const SCHEDULE_STREAM: u64 = GLOBAL - 2;
/// Marks a node that takes no part in the chain.
const OUTSIDE: u32 = u32::MAX;

/// One chain node's view.
#[derive(Clone, Debug, Default)]
struct View {
    /// Blocks held: numbers `0..head`.
    head: u32,
    /// Blocks received ahead of a gap, with their senders.
    pending: BTreeMap<u32, NodeId>,
    /// The highest block number asked for to fill a gap.
    asked: u32,
    /// A slot whose proposal waits for the newest block.
    waiting: Option<u64>,
    mempool: Mempool,
}

/// The chain, as every chain node sees it.
pub struct Chain<T> {
    id: ChainId,
    config: ChainConfig,
    /// Chain node index → node; validators first.
    members: Vec<NodeId>,
    validators: usize,
    /// Node → chain node index, or `OUTSIDE`.
    index: Vec<u32>,
    mesh: Topology,
    /// Each validator's slots, ascending.
    slots_of: Vec<Vec<u64>>,
    views: Vec<View>,
    /// Every transaction ever submitted.
    pub txs: Vec<L1Tx<T>>,
    /// The chain; block 0 is genesis, held by every chain node from the start.
    pub blocks: Vec<Block>,
    /// Next nonce on chain, per sender.
    included_nonce: HashMap<NodeId, u64>,
    /// Next nonce to sign, per sender.
    signed_nonce: HashMap<NodeId, u64>,
    excess_blob_gas: u64,
    /// Other users' transactions so far (each has its own sender id, above every node's).
    others: u32,
}

impl<T> Chain<T> {
    /// A chain run by `validators` (who propose) and `followers` (who only follow it), among
    /// `nodes` nodes, with proposers drawn for every slot up to `until`.
    pub fn new(
        config: ChainConfig,
        validators: &[NodeId],
        followers: &[NodeId],
        nodes: u32,
        until: SimTime,
        seed: u64,
    ) -> Self {
        let members: Vec<NodeId> = validators.iter().chain(followers).copied().collect();
        let mut index = vec![OUTSIDE; nodes as usize];
        for (i, &node) in members.iter().enumerate() {
            index[node as usize] = i as u32;
        }
        let count = members.len() as u32;
        let mut degree = config.mesh_degree.min(count.saturating_sub(1));
        if count % 2 == 1 && degree % 2 == 1 {
            degree -= 1;
        }
        let mesh = if degree + 1 >= count {
            Topology::complete(count)
        } else {
            // A gossip mesh is connected: a small degree can draw separate rings, so draw again.
            let mut rng = stream(seed, Purpose::Protocol, MESH_STREAM);
            loop {
                let mesh =
                    Topology::random_regular(count, degree, &mut rng).expect("an even degree sum below the node count");
                if mesh.components() == 1 {
                    break mesh;
                }
            }
        };
        let mut slots_of = vec![Vec::new(); validators.len()];
        let mut rng = stream(seed, Purpose::Protocol, SCHEDULE_STREAM);
        let last_slot = until.0 / config.slot.0 + 1;
        for slot in 1..=last_slot {
            slots_of[rng.random_range(0..validators.len())].push(slot);
        }
        let genesis = Block {
            slot: 0,
            time: SimTime::ZERO,
            proposer: validators[0],
            txs: Vec::new(),
            blobs: 0,
            gas_used: 0,
            blob_base_fee: blob_base_fee(0, config.blobs.values().2),
            bytes: HEADER_BYTES,
        };
        Chain {
            id: 0,
            views: vec![View { head: 1, asked: 1, ..View::default() }; members.len()],
            config,
            validators: validators.len(),
            members,
            index,
            mesh,
            slots_of,
            txs: Vec::new(),
            blocks: vec![genesis],
            included_nonce: HashMap::new(),
            signed_nonce: HashMap::new(),
            excess_blob_gas: 0,
            others: 0,
        }
    }

    /// The same chain, tagging its messages and timers with `id` (for a protocol that runs
    /// several).
    pub fn with_id(mut self, id: ChainId) -> Self {
        self.id = id;
        self
    }

    fn msg(&self, gossip: Gossip) -> ChainMsg {
        ChainMsg { chain: self.id, gossip }
    }

    /// The chain's settings.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// Whether `node` takes part in the chain.
    pub fn is_member(&self, node: NodeId) -> bool {
        self.index.get(node as usize).is_some_and(|&i| i != OUTSIDE)
    }

    /// Blocks `node` holds (numbers `0..head`).
    pub fn head(&self, node: NodeId) -> u32 {
        self.views[self.index[node as usize] as usize].head
    }

    /// The time a block of `slot` is final.
    pub fn final_at(&self, block_time: SimTime) -> SimTime {
        block_time + SimDuration(self.config.slot.0 * u64::from(self.config.finality_slots))
    }

    /// Slots that have started by `now` (after genesis) in which no block was built.
    pub fn missed_slots(&self, now: SimTime) -> u64 {
        (now.0 / self.config.slot.0).saturating_sub(self.blocks.len() as u64 - 1)
    }

    /// Transactions pending at chain node `node`.
    pub fn pending(&self, node: NodeId) -> usize {
        self.views[self.index[node as usize] as usize].mempool.len()
    }

    /// A reorganisation: the blocks from number `from` on are replaced by a branch in which
    /// each transaction whose payload `conflict` maps to another carries that one instead (an
    /// attacker's transaction replaced by a conflicting one with the same nonce: a double
    /// spend) and every other transaction stays where it was. Every chain node adopts the branch
    /// at once. Returns the replaced transactions with their old payloads, in block order.
    pub fn reorganise(&mut self, from: u32, mut conflict: impl FnMut(&T) -> Option<T>) -> Vec<(TxId, T)> {
        let mut replaced = Vec::new();
        for block in &self.blocks[from as usize..] {
            for &id in &block.txs {
                let tx = &mut self.txs[id as usize];
                if let Some(new) = tx.payload.as_ref().and_then(&mut conflict) {
                    let old = tx.payload.replace(new).expect("a payload to replace");
                    replaced.push((id, old));
                }
            }
        }
        replaced
    }

    fn start_of(&self, slot: u64) -> SimTime {
        SimTime(slot * self.config.slot.0)
    }

    /// Schedules the first slot of a validator at or after now (at the start, or when it
    /// recovers from a crash).
    pub fn on_start<P>(&mut self, node: NodeId, ctx: &mut Context<'_, P>)
    where
        P: Protocol,
        P::Timer: From<ChainTimer>,
    {
        let i = self.index[node as usize] as usize;
        if i >= self.validators {
            return;
        }
        let now = ctx.now();
        let slots = &self.slots_of[i];
        let next = slots.partition_point(|&s| self.start_of(s) < now);
        if let Some(&slot) = slots.get(next) {
            ctx.set_timer(self.start_of(slot).since(now), ChainTimer::Propose(self.id, slot).into());
        }
        self.next_other(ctx);
    }

    /// Schedules the next arrival of another user's transaction at this validator, if any come.
    fn next_other<P>(&self, ctx: &mut Context<'_, P>)
    where
        P: Protocol,
        P::Timer: From<ChainTimer>,
    {
        let per_slot = self.config.others.blob_txs_per_slot / self.validators as f64;
        if per_slot > 0.0 {
            let slots = standard_exponential(ctx.rng()) / per_slot;
            ctx.set_timer(
                SimDuration::from_secs_f64_rounded(slots * self.config.slot.as_secs_f64()),
                ChainTimer::Others(self.id).into(),
            );
        }
    }

    /// Another user's blob transaction arrives at validator `node`, with its own sender, fee cap
    /// and tip.
    fn other_arrives<P>(&mut self, node: NodeId, ctx: &mut Context<'_, P>)
    where
        P: Protocol,
        P::Msg: From<ChainMsg>,
        P::Timer: From<ChainTimer>,
    {
        let others = &self.config.others;
        let (lo, hi) = (others.max_blob_fee.0 as f64, others.max_blob_fee.1 as f64);
        let rng = ctx.rng();
        let cap = math::exp(math::ln(lo) + rng.random::<f64>() * (math::ln(hi) - math::ln(lo)));
        let tip = rng.random_range(others.tip.0..=others.tip.1);
        let sender = self.index.len() as NodeId + self.others;
        self.others += 1;
        let id = self.txs.len() as TxId;
        self.txs.push(L1Tx {
            sender,
            nonce: 0,
            tip,
            max_blob_fee: cap.round() as u128,
            blobs: others.blobs,
            calldata: 0,
            gas: self.config.base_gas,
            submitted: ctx.now(),
            block: None,
            payload: None,
        });
        self.take_tx(node, None, id, ctx);
        self.next_other(ctx);
    }

    /// Signs and sends a transaction from `ctx.node()`: into its own mempool and its mesh if it
    /// is a chain node, else to a validator that takes it in. Returns its id.
    pub fn submit<P>(&mut self, tx: Outgoing<T>, ctx: &mut Context<'_, P>) -> TxId
    where
        P: Protocol,
        P::Msg: From<ChainMsg>,
    {
        let sender = ctx.node();
        let nonce = self.signed_nonce.entry(sender).or_insert(0);
        let gas = self.config.base_gas + tx.exec_gas + tx.calldata * self.config.calldata_gas_per_byte;
        let id = self.txs.len() as TxId;
        self.txs.push(L1Tx {
            sender,
            nonce: *nonce,
            tip: tx.tip,
            max_blob_fee: tx.max_blob_fee.map_or(u128::MAX, u128::from),
            blobs: tx.blobs,
            calldata: tx.calldata,
            gas,
            submitted: ctx.now(),
            block: None,
            payload: Some(tx.payload),
        });
        *nonce += 1;
        let bytes = self.txs[id as usize].wire_bytes();
        if self.is_member(sender) {
            self.take_tx(sender, None, id, ctx);
        } else {
            let entry = self.members[sender as usize % self.validators];
            ctx.send(entry, self.msg(Gossip::Tx(id, bytes)).into());
        }
        id
    }

    /// Sends transaction `id` again, as a wallet does with one not yet included: from a chain
    /// node to its mesh, from any other node to the validator `attempt` places after the
    /// first it tried (a lost message leaves a gap in the sender's nonces that holds back every
    /// later transaction of it).
    pub fn resend<P>(&self, id: TxId, attempt: u32, ctx: &mut Context<'_, P>)
    where
        P: Protocol,
        P::Msg: From<ChainMsg>,
    {
        let tx = &self.txs[id as usize];
        if tx.block.is_some() {
            return;
        }
        let msg = self.msg(Gossip::Tx(id, tx.wire_bytes()));
        if self.is_member(tx.sender) {
            self.gossip(self.index[tx.sender as usize] as usize, None, msg, ctx);
        } else {
            let entry = (tx.sender as usize + attempt as usize) % self.validators;
            ctx.send(self.members[entry], msg.into());
        }
    }

    /// Sends again every transaction chain node `node` signed that its mempool still holds.
    pub fn resend_pending<P>(&self, node: NodeId, ctx: &mut Context<'_, P>)
    where
        P: Protocol,
        P::Msg: From<ChainMsg>,
    {
        let i = self.index[node as usize] as usize;
        for id in self.views[i].mempool.of(node) {
            self.resend(id, 0, ctx);
        }
    }

    /// Handles a chain message at chain node `node`; returns the blocks it newly holds (often
    /// none), which the outer protocol executes if new and reacts to.
    pub fn on_message<P>(&mut self, node: NodeId, from: NodeId, msg: ChainMsg, ctx: &mut Context<'_, P>) -> Range<u32>
    where
        P: Protocol,
        P::Msg: From<ChainMsg>,
    {
        let i = self.index[node as usize] as usize;
        let before = self.views[i].head;
        debug_assert_eq!(msg.chain, self.id, "a message of another chain");
        match msg.gossip {
            Gossip::Tx(id, _) => self.take_tx(node, Some(from), id, ctx),
            Gossip::Request(first) => {
                for number in first..self.views[i].head {
                    ctx.send(from, self.msg(Gossip::Block(number, self.blocks[number as usize].bytes)).into());
                }
            }
            Gossip::Block(number, _) => {
                let view = &mut self.views[i];
                if number < view.head || view.pending.contains_key(&number) {
                    return before..before;
                }
                view.pending.insert(number, from);
                if number > view.head && number > view.asked {
                    view.asked = number;
                    let first = view.head;
                    ctx.send(from, self.msg(Gossip::Request(first)).into());
                }
                self.apply_pending(i, ctx);
                self.propose_if_waiting(i, ctx);
            }
        }
        before..self.views[i].head
    }

    /// A validator's slot has started: it proposes now if it holds the newest block, else when
    /// it does (within the slot). Returns the blocks it newly holds.
    pub fn on_timer<P>(&mut self, node: NodeId, timer: ChainTimer, ctx: &mut Context<'_, P>) -> Range<u32>
    where
        P: Protocol,
        P::Msg: From<ChainMsg>,
        P::Timer: From<ChainTimer>,
    {
        let ChainTimer::Propose(_, slot) = timer else {
            self.other_arrives(node, ctx);
            let head = self.head(node);
            return head..head;
        };
        let i = self.index[node as usize] as usize;
        let before = self.views[i].head;
        self.views[i].waiting = Some(slot);
        self.propose_if_waiting(i, ctx);
        let slots = &self.slots_of[i];
        if let Some(&next) = slots.get(slots.partition_point(|&s| s <= slot)) {
            ctx.set_timer(self.start_of(next).since(ctx.now()), ChainTimer::Propose(self.id, next).into());
        }
        before..self.views[i].head
    }

    fn take_tx<P>(&mut self, node: NodeId, from: Option<NodeId>, id: TxId, ctx: &mut Context<'_, P>)
    where
        P: Protocol,
        P::Msg: From<ChainMsg>,
    {
        let i = self.index[node as usize] as usize;
        let tx = &self.txs[id as usize];
        let view = &mut self.views[i];
        if tx.block.is_some_and(|b| b < view.head) || !view.mempool.insert(tx.sender, tx.nonce, id) {
            return;
        }
        let msg = self.msg(Gossip::Tx(id, tx.wire_bytes()));
        self.gossip(i, from, msg, ctx);
    }

    fn gossip<P>(&self, i: usize, from: Option<NodeId>, msg: ChainMsg, ctx: &mut Context<'_, P>)
    where
        P: Protocol,
        P::Msg: From<ChainMsg>,
    {
        for &peer in self.mesh.neighbours(i as NodeId) {
            let peer = self.members[peer as usize];
            if Some(peer) != from {
                ctx.send(peer, msg.into());
            }
        }
    }

    /// Applies the received blocks that follow the node's head, relaying the newest.
    fn apply_pending<P>(&mut self, i: usize, ctx: &mut Context<'_, P>)
    where
        P: Protocol,
        P::Msg: From<ChainMsg>,
    {
        loop {
            let number = self.views[i].head;
            let Some(from) = self.views[i].pending.remove(&number) else { break };
            self.apply(i, number);
            if number as usize + 1 == self.blocks.len() {
                let block = &self.blocks[number as usize];
                self.gossip(i, Some(from), self.msg(Gossip::Block(number, block.bytes)), ctx);
            }
        }
    }

    fn apply(&mut self, i: usize, number: u32) {
        let view = &mut self.views[i];
        view.head = number + 1;
        view.asked = view.asked.max(view.head);
        for &id in &self.blocks[number as usize].txs {
            let tx = &self.txs[id as usize];
            view.mempool.remove(tx.sender, tx.nonce);
        }
    }

    fn propose_if_waiting<P>(&mut self, i: usize, ctx: &mut Context<'_, P>)
    where
        P: Protocol,
        P::Msg: From<ChainMsg>,
    {
        let Some(slot) = self.views[i].waiting else { return };
        if ctx.now() >= self.start_of(slot + 1) {
            self.views[i].waiting = None;
            return;
        }
        if self.views[i].head as usize != self.blocks.len() {
            return;
        }
        self.views[i].waiting = None;
        let number = self.build(i, slot);
        self.apply(i, number);
        let bytes = self.blocks[number as usize].bytes;
        self.gossip(i, None, self.msg(Gossip::Block(number, bytes)), ctx);
    }

    /// Builds the next block from chain node `i`'s mempool.
    fn build(&mut self, i: usize, slot: u64) -> u32 {
        let (target, max, fraction) = self.config.blobs.values();
        let fee = blob_base_fee(self.excess_blob_gas, fraction);
        let txs = &self.txs;
        let nonces = &self.included_nonce;
        let picked = self.views[i].mempool.pick(
            |id| {
                let tx = &txs[id as usize];
                Candidate { tip: tx.tip, blobs: tx.blobs, gas: tx.gas, max_blob_fee: tx.max_blob_fee }
            },
            |sender| nonces.get(&sender).copied().unwrap_or(0),
            (max, self.config.gas_limit, fee),
        );
        let number = self.blocks.len() as u32;
        let (mut blobs, mut gas_used, mut bytes) = (0, 0, HEADER_BYTES);
        for &id in &picked {
            let tx = &mut self.txs[id as usize];
            tx.block = Some(number);
            blobs += tx.blobs;
            gas_used += tx.gas;
            bytes += tx.wire_bytes();
            *self.included_nonce.entry(tx.sender).or_insert(0) += 1;
        }
        self.excess_blob_gas = fees::next_excess(self.excess_blob_gas, blobs, target);
        self.blocks.push(Block {
            slot,
            time: self.start_of(slot),
            proposer: self.members[i],
            txs: picked,
            blobs,
            gas_used,
            blob_base_fee: fee,
            bytes,
        });
        number
    }
}
