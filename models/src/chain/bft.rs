//! A chain whose blocks are the batches a PBFT group commits ([`crate::pbft::ReplicaGroup`]):
//! a block is final the moment it is built, with no confirmations to wait for. Block `s` is the
//! batch committed at sequence number `s`, built when the first replica commits it, at that
//! time. Any node that is not a replica sends transactions as a PBFT client; followers (nodes
//! that watch the chain without ordering it) receive every block from every replica that
//! commits it, with the commit certificate that makes one copy enough, and take the first.
//!
//! A PBFT group orders requests only when some arrive, but light clients read time from
//! headers (a packet's timeout): every replica hands the group a tick every `block_interval`,
//! numbered by the time, which the group orders once, so that a block is built at least that
//! often, as Tendermint's empty blocks do.

use std::collections::BTreeSet;
use std::ops::Range;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use simulator::{Context, NodeId, SimDuration, SimTime};

use super::types::{Block, ChainId, ChainMsg, Gossip, L1Tx, Outgoing};
use super::{ChainConfig, HEADER_BYTES, TxId};
use crate::pbft::{
    self, Application, Batch, GroupId, Hosts, Membership, Payload, PbftConfig, ReplicaGroup, Request, RequestId, Seq,
    Submit, View,
};

/// Bytes of one replica's signature in a commit certificate (signature and signer).
const CERTIFICATE_SIGNATURE_BYTES: u64 = 72;
/// Bytes of a tick request: the time it stands for.
const TICK_BYTES: u64 = 16;
/// The operation of a tick (a transaction's operation is its id).
const TICK: u64 = u64::MAX;
/// The only replica group of the chain.
const GROUP: GroupId = 0;

/// The `Pbft(...)` settings of a chain ordered by a PBFT group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BftChainConfig {
    /// A block is built at least this often, empty if no transaction waits.
    #[serde(default = "default_block_interval")]
    pub block_interval: SimDuration,
    /// The replica group: batching, timeouts, authentication, misbehaving replicas. Its
    /// replicas are the chain's validators; transactions are its requests.
    #[serde(default)]
    pub consensus: PbftConfig,
}

fn default_block_interval() -> SimDuration {
    SimDuration::from_secs(1)
}

impl Default for BftChainConfig {
    fn default() -> Self {
        BftChainConfig { block_interval: default_block_interval(), consensus: PbftConfig::default() }
    }
}

/// A replica's tick timer of chain `.0`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Tick(pub ChainId);

/// What a follower waits for.
#[derive(Clone, Debug, Default)]
struct Follower {
    /// Blocks received ahead of a gap.
    pending: BTreeSet<u32>,
    /// The highest block number asked for to fill a gap.
    asked: u32,
}

/// The chain's record, which the replica group's callbacks write.
struct Record<T> {
    txs: Vec<L1Tx<T>>,
    blocks: Vec<Block>,
    /// Replica index → node.
    replicas: Vec<NodeId>,
    /// Node → blocks it holds (numbers `0..head`); 0 for a node outside the chain.
    heads: Vec<u32>,
    /// Transactions not yet in a block: (sender, id).
    unincluded: BTreeSet<(NodeId, TxId)>,
    /// Blocks the replica handling the current event committed, to announce to the followers.
    announce: Vec<u32>,
    /// Bytes of a commit certificate.
    certificate: u64,
}

impl<T> Application for Record<T> {
    /// The outcome every replica returns: the transaction is in the chain; what it does is for
    /// the outer protocol to execute, block by block.
    fn execute(&mut self, _: GroupId, _: u32, _: Seq, _: &Request, _: SimTime) -> Option<u64> {
        Some(0)
    }

    fn committed(&mut self, _: GroupId, replica: u32, seq: Seq, batch: &Batch, now: SimTime) {
        let number = u32::try_from(seq).expect("fewer than 2³² blocks");
        assert!(number as usize <= self.blocks.len(), "some replica commits every sequence number first, in order");
        let node = self.replicas[replica as usize];
        if number as usize == self.blocks.len() {
            self.build(node, number, batch, now);
        }
        self.heads[node as usize] = number + 1;
        self.announce.push(number);
    }
}

impl<T> Record<T> {
    /// Block `number` from `batch`, committed first by `node`: its transactions not already in
    /// a block (a request sent again may be ordered twice), in batch order.
    fn build(&mut self, node: NodeId, number: u32, batch: &Batch, now: SimTime) {
        let (mut txs, mut gas_used, mut bytes) = (Vec::new(), 0, HEADER_BYTES + self.certificate);
        for request in &batch.requests {
            if request.payload.op == TICK {
                continue;
            }
            let id = request.payload.op as TxId;
            let tx = &mut self.txs[id as usize];
            if tx.block.is_some() {
                continue;
            }
            tx.block = Some(number);
            gas_used += tx.gas;
            bytes += tx.wire_bytes();
            self.unincluded.remove(&(tx.sender, id));
            txs.push(id);
        }
        self.blocks.push(Block {
            slot: u64::from(number),
            time: now,
            proposer: node,
            txs,
            blobs: 0,
            gas_used,
            blob_base_fee: 0,
            bytes,
        });
    }
}

/// A chain ordered by one PBFT group.
pub struct BftChain<T> {
    id: ChainId,
    block_interval: SimDuration,
    /// Gas of a transaction: base, and per byte of calldata.
    gas: (u64, u64),
    group: ReplicaGroup,
    record: Record<T>,
    /// Node → what it waits for, if it follows the chain.
    following: Vec<Option<Follower>>,
    followers: Vec<NodeId>,
    /// Node → its next request number, and the newest view its replies told it.
    clients: Vec<(u64, View)>,
    /// The client slot of ticks, which no node holds.
    tick_slot: u32,
}

impl<T> BftChain<T> {
    /// A chain ordered by `replicas` (whose count `config` was validated for) and watched by
    /// `followers`, among `nodes` nodes; every node that is not a replica may send transactions.
    /// Gas is counted by `gas_schedule`'s base gas and calldata price.
    pub fn new(
        id: ChainId,
        config: &BftChainConfig,
        gas_schedule: &ChainConfig,
        replicas: &[NodeId],
        followers: &[NodeId],
        nodes: u32,
    ) -> Self {
        let n = replicas.len() as u32;
        let mut slots: Vec<Vec<NodeId>> =
            (0..nodes).filter(|node| !replicas.contains(node)).map(|node| vec![node]).collect();
        let tick_slot = slots.len() as u32;
        slots.push(Vec::new());
        let group = ReplicaGroup::with_membership(
            GROUP,
            config.consensus.clone(),
            Membership::with_slots(replicas.to_vec(), slots),
        );
        let mut heads = vec![0; nodes as usize];
        let mut following = vec![None; nodes as usize];
        for &node in replicas {
            heads[node as usize] = 1;
        }
        for &node in followers {
            heads[node as usize] = 1;
            following[node as usize] = Some(Follower { pending: BTreeSet::new(), asked: 1 });
        }
        let genesis = Block {
            slot: 0,
            time: SimTime::ZERO,
            proposer: replicas[0],
            txs: Vec::new(),
            blobs: 0,
            gas_used: 0,
            blob_base_fee: 0,
            bytes: HEADER_BYTES,
        };
        let quorum = 2 * group.f() + 1;
        debug_assert!(quorum <= n, "a validated group of 3f + 1 replicas");
        BftChain {
            id,
            block_interval: config.block_interval,
            gas: (gas_schedule.base_gas, gas_schedule.calldata_gas_per_byte),
            group,
            record: Record {
                txs: Vec::new(),
                blocks: vec![genesis],
                replicas: replicas.to_vec(),
                heads,
                unincluded: BTreeSet::new(),
                announce: Vec::new(),
                certificate: u64::from(quorum) * CERTIFICATE_SIGNATURE_BYTES,
            },
            following,
            followers: followers.to_vec(),
            clients: vec![(0, 0); nodes as usize],
            tick_slot,
        }
    }

    /// Every transaction ever sent.
    pub fn txs(&self) -> &[L1Tx<T>] {
        &self.record.txs
    }

    /// The chain; block 0 is genesis.
    pub fn blocks(&self) -> &[Block] {
        &self.record.blocks
    }

    /// Blocks `node` holds (numbers `0..head`).
    pub fn head(&self, node: NodeId) -> u32 {
        self.record.heads[node as usize]
    }

    /// How often a block is built at least.
    pub fn block_interval(&self) -> SimDuration {
        self.block_interval
    }

    /// Safety violations of the replica group (two correct replicas committing different
    /// batches at one sequence number).
    pub fn safety_violations(&self) -> usize {
        self.group.safety_violations()
    }

    fn msg(&self, gossip: Gossip) -> ChainMsg {
        ChainMsg { chain: self.id, gossip }
    }

    /// The request that carries transaction `id`.
    fn request(&self, id: TxId) -> Rc<Request> {
        let tx = &self.record.txs[id as usize];
        let client = self.group_slot(tx.sender);
        Rc::new(Request {
            id: RequestId { client, number: tx.nonce },
            payload: Payload {
                bytes: tx.wire_bytes(),
                cost: self.group.config().costs.execute,
                access: Default::default(),
                op: u64::from(id),
            },
        })
    }

    /// The client slot of `node` (every node that is not a replica has one, in node order).
    fn group_slot(&self, node: NodeId) -> u32 {
        let before = self.record.replicas.iter().filter(|&&r| r < node).count() as u32;
        node - before
    }

    /// Signs and sends a transaction from `ctx.node()` (not a replica) to the primary of the
    /// newest view it knows of. Returns its id.
    pub fn submit<P: Hosts>(&mut self, tx: Outgoing<T>, ctx: &mut Context<'_, P>) -> TxId {
        let sender = ctx.node();
        let (number, view) = &mut self.clients[sender as usize];
        let (base, per_byte) = self.gas;
        let id = self.record.txs.len() as TxId;
        self.record.txs.push(L1Tx {
            sender,
            nonce: *number,
            tip: tx.tip,
            max_blob_fee: 0,
            blobs: 0,
            calldata: tx.calldata,
            gas: base + tx.exec_gas + tx.calldata * per_byte,
            submitted: ctx.now(),
            block: None,
            payload: Some(tx.payload),
        });
        *number += 1;
        let to = Submit::Primary(*view);
        self.record.unincluded.insert((sender, id));
        let request = self.request(id);
        self.group.submit(sender, to, request, ctx, &mut self.record);
        id
    }

    /// Sends transaction `id` again, to every replica, if it is not in a block yet (the primary
    /// may have crashed: the backups forward it and, if it stays unordered, change the view).
    pub fn resend<P: Hosts>(&mut self, id: TxId, ctx: &mut Context<'_, P>) {
        let tx = &self.record.txs[id as usize];
        if tx.block.is_some() {
            return;
        }
        let (sender, request) = (tx.sender, self.request(id));
        self.group.submit(sender, Submit::Everyone, request, ctx, &mut self.record);
    }

    /// Sends again every transaction `node` signed that is not in a block yet.
    pub fn resend_pending<P: Hosts>(&mut self, node: NodeId, ctx: &mut Context<'_, P>) {
        let pending: Vec<TxId> =
            self.record.unincluded.range((node, 0)..=(node, TxId::MAX)).map(|&(_, id)| id).collect();
        for id in pending {
            self.resend(id, ctx);
        }
    }

    /// A replica starts: its first tick, and a replica scheduled to misbehave arms.
    pub fn on_start<P>(&mut self, node: NodeId, ctx: &mut Context<'_, P>)
    where
        P: Hosts,
        P::Timer: From<Tick>,
    {
        if self.group.replica_of(node).is_some() {
            self.group.on_start(node, ctx, &mut self.record);
            self.arm_tick(ctx);
        }
    }

    /// A node restarted after a crash: a replica catches up through its group; a follower asks
    /// a replica for the blocks it missed.
    pub fn on_recover<P>(&mut self, node: NodeId, ctx: &mut Context<'_, P>) -> Range<u32>
    where
        P: Hosts,
        P::Msg: From<ChainMsg>,
        P::Timer: From<Tick>,
    {
        let before = self.head(node);
        if self.group.replica_of(node).is_some() {
            self.group.on_recover(node, ctx, &mut self.record);
            self.arm_tick(ctx);
            self.announce(node, ctx);
        } else if self.following[node as usize].is_some() {
            let replica = self.record.replicas[node as usize % self.record.replicas.len()];
            ctx.send(replica, self.msg(Gossip::Request(before)).into());
        }
        before..self.head(node)
    }

    /// `node` crashed.
    pub fn on_crash(&mut self, node: NodeId, now: SimTime) {
        self.group.on_crash(node, now);
    }

    fn arm_tick<P>(&self, ctx: &mut Context<'_, P>)
    where
        P: Hosts,
        P::Timer: From<Tick>,
    {
        let interval = self.block_interval.0;
        let next = (ctx.now().0 / interval + 1) * interval;
        ctx.set_timer(SimDuration(next - ctx.now().0), Tick(self.id).into());
    }

    /// A replica's tick: it hands its group the tick of this instant (every replica hands the
    /// same, and the group orders it once).
    pub fn on_tick<P>(&mut self, node: NodeId, ctx: &mut Context<'_, P>) -> Range<u32>
    where
        P: Hosts,
        P::Msg: From<ChainMsg>,
        P::Timer: From<Tick>,
    {
        let before = self.head(node);
        let request = Rc::new(Request {
            id: RequestId { client: self.tick_slot, number: ctx.now().0 / self.block_interval.0 },
            payload: Payload { bytes: TICK_BYTES, cost: SimDuration::ZERO, access: Default::default(), op: TICK },
        });
        self.group.deliver(node, request, ctx, &mut self.record);
        self.arm_tick(ctx);
        self.announce(node, ctx);
        before..self.head(node)
    }

    /// A chain message at `node`: a block from a replica (at a follower), or a follower's
    /// request for the blocks from a number on (at a replica).
    pub fn on_message<P>(&mut self, node: NodeId, from: NodeId, msg: ChainMsg, ctx: &mut Context<'_, P>) -> Range<u32>
    where
        P: Hosts,
        P::Msg: From<ChainMsg>,
    {
        let before = self.head(node);
        match msg.gossip {
            Gossip::Request(first) => {
                for number in first..before {
                    let bytes = self.record.blocks[number as usize].bytes;
                    ctx.send(from, self.msg(Gossip::Block(number, bytes)).into());
                }
            }
            Gossip::Block(number, _) => {
                let Some(follower) = self.following[node as usize].as_mut() else { return before..before };
                if number < before || !follower.pending.insert(number) {
                    return before..before;
                }
                if number > before && number > follower.asked {
                    follower.asked = number;
                    ctx.send(from, ChainMsg { chain: self.id, gossip: Gossip::Request(before) }.into());
                }
                let head = &mut self.record.heads[node as usize];
                while follower.pending.remove(head) {
                    *head += 1;
                }
            }
            Gossip::Tx(..) => debug_assert!(false, "transactions reach a PBFT chain as requests"),
        }
        before..self.head(node)
    }

    /// A replica group message at `node`; a reply at a client tells it the view.
    pub fn on_group_message<P>(
        &mut self,
        node: NodeId,
        from: NodeId,
        msg: pbft::Wire,
        ctx: &mut Context<'_, P>,
    ) -> Range<u32>
    where
        P: Hosts,
        P::Msg: From<ChainMsg>,
    {
        if let pbft::Body::Reply { view, .. } = msg.body {
            let known = &mut self.clients[node as usize].1;
            *known = (*known).max(view);
            let head = self.head(node);
            return head..head;
        }
        self.run(node, ctx, |group, record, ctx| group.on_message(node, from, msg, ctx, record))
    }

    /// A replica timer at `node`.
    pub fn on_group_timer<P>(&mut self, node: NodeId, timer: pbft::Timer, ctx: &mut Context<'_, P>) -> Range<u32>
    where
        P: Hosts,
        P::Msg: From<ChainMsg>,
    {
        self.run(node, ctx, |group, record, ctx| group.on_timer(node, timer, ctx, record))
    }

    /// A replica's CPU job finished at `node`.
    pub fn on_group_cpu<P>(&mut self, node: NodeId, job: pbft::CpuJob, ctx: &mut Context<'_, P>) -> Range<u32>
    where
        P: Hosts,
        P::Msg: From<ChainMsg>,
    {
        self.run(node, ctx, |group, record, ctx| group.on_cpu_done(node, job, ctx, record))
    }

    /// A replica's disk operation finished at `node`.
    pub fn on_group_disk<P>(&mut self, node: NodeId, job: pbft::DiskJob, ctx: &mut Context<'_, P>) -> Range<u32>
    where
        P: Hosts,
        P::Msg: From<ChainMsg>,
    {
        self.run(node, ctx, |group, record, ctx| group.on_disk_done(node, job, ctx, record))
    }

    /// Runs a group handler at `node`, then announces what the replica committed; returns the
    /// blocks `node` newly holds.
    fn run<P>(
        &mut self,
        node: NodeId,
        ctx: &mut Context<'_, P>,
        handler: impl FnOnce(&mut ReplicaGroup, &mut Record<T>, &mut Context<'_, P>),
    ) -> Range<u32>
    where
        P: Hosts,
        P::Msg: From<ChainMsg>,
    {
        let before = self.head(node);
        handler(&mut self.group, &mut self.record, ctx);
        self.announce(node, ctx);
        before..self.head(node)
    }

    /// Replica `node` sends each block it just committed to every follower.
    fn announce<P>(&mut self, node: NodeId, ctx: &mut Context<'_, P>)
    where
        P: Hosts,
        P::Msg: From<ChainMsg>,
    {
        for number in std::mem::take(&mut self.record.announce) {
            let msg = self.msg(Gossip::Block(number, self.record.blocks[number as usize].bytes));
            for &follower in &self.followers {
                debug_assert_ne!(follower, node, "a replica does not follow its own chain");
                ctx.send(follower, msg.into());
            }
        }
    }
}
