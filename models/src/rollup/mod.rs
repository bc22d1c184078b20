//! An optimistic rollup on an L1 chain ([`crate::chain`]). Clients send L2 transactions to the
//! sequencer, which executes them into an L2 block every `l2_block`, compresses sealed blocks
//! into batches and posts each batch with its state root to L1 (in blobs or calldata). The
//! rollup's L1 contract (`contract.rs`) takes each batch as an *assertion*, which becomes final
//! once its challenge window has passed without a successful dispute. Verifiers follow L1,
//! re-execute every batch and challenge a wrong root; the dispute is a bisection game played in
//! L1 transactions under a chess clock per side, ended by a one-step proof. A removed root takes
//! every root built on it along, and the sequencer posts those transactions again. A client that
//! gets no receipt sends its transactions to the L1 inbox, from which they are included by force
//! after `force_delay`.

mod client;
mod config;
mod contract;
mod l2;
mod metrics;
mod registered;
mod sequencer;
mod verifier;

pub use config::{Posting, RollupConfig, TxSize};
pub use contract::{Assertion, Contract, Dispute, Event, Side, Status};
pub use metrics::METRICS;

use simulator::{Context, NodeId, Protocol, SimDuration, SimTime};

use crate::Wire;
use crate::chain::{Chain, ChainMsg, ChainTimer, Outgoing};
use client::Client;
use l2::L2Txs;
use sequencer::Sequencer;

/// What an L1 transaction of the rollup asks its contract to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// Take batch `batch` of the sequencer with its state root.
    Batch(u32),
    /// Open a dispute over an assertion's root.
    Challenge(u32),
    /// Bisection move `index` (1-based) of a dispute.
    Move {
        /// The dispute.
        dispute: u32,
        /// Which move.
        index: u32,
    },
    /// The one-step proof that ends a dispute.
    Prove(u32),
    /// L2 transactions sent to the inbox by a client that got no receipt.
    Force(Vec<u32>),
}

/// Messages of the rollup.
#[derive(Clone, Debug)]
pub enum Body {
    /// L1 gossip.
    Chain(ChainMsg),
    /// L2 transactions `first..first + count` from a client to the sequencer.
    Txs {
        /// The first.
        first: u32,
        /// How many.
        count: u32,
    },
    /// Receipts of these transactions, sealed in an L2 block.
    Receipts(Vec<u32>),
}

/// A rollup message on the wire.
pub type Msg = Wire<Body>;

impl From<ChainMsg> for Body {
    fn from(msg: ChainMsg) -> Self {
        Body::Chain(msg)
    }
}

/// Timers of the rollup.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Timer {
    /// L1 slots.
    Chain(ChainTimer),
    /// A client sends the transactions that arrived since the last time.
    Issue(u32),
    /// A client checks for receipts of `count` transactions from `first`.
    Receipts {
        /// The first.
        first: u32,
        /// How many.
        count: u32,
    },
    /// The sequencer seals an L2 block.
    Seal,
    /// A verifier challenges an assertion.
    Challenge(u32),
}

impl From<ChainTimer> for Timer {
    fn from(timer: ChainTimer) -> Self {
        Timer::Chain(timer)
    }
}

/// CPU work of the rollup.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// The sequencer executes L2 block `n`.
    Execute(u32),
    /// The sequencer compresses batch `n`.
    Compress(u32),
    /// A verifier re-executes the batch of an assertion.
    Reexecute(u32),
    /// A bisection move (`index`, 1-based) or, past the last move, the one-step proof.
    Move {
        /// The dispute.
        dispute: u32,
        /// Which move.
        index: u32,
    },
}

/// The rollup across all nodes.
pub struct Rollup {
    config: RollupConfig,
    chain: Chain<Call>,
    contract: Contract,
    sequencer: Sequencer,
    /// Whether each node is a verifier.
    is_verifier: Vec<bool>,
    /// Node → client index.
    client_of: Vec<Option<u32>>,
    clients: Vec<Client>,
    txs: L2Txs,
    issue_until: SimTime,
    series_bucket: SimDuration,
}

impl Rollup {
    /// A rollup among `nodes` nodes with the given L1 validators, sequencer, verifiers and
    /// clients; clients issue transactions until `issue_until`, and L1 slots are scheduled until
    /// `until`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: RollupConfig,
        nodes: u32,
        l1: &[NodeId],
        sequencer: NodeId,
        verifiers: &[NodeId],
        clients: &[NodeId],
        issue_until: SimTime,
        until: SimTime,
        seed: u64,
    ) -> Self {
        let followers: Vec<NodeId> = std::iter::once(sequencer).chain(verifiers.iter().copied()).collect();
        let chain = Chain::new(config.chain.clone(), l1, &followers, nodes, until, seed);
        let mut is_verifier = vec![false; nodes as usize];
        for &v in verifiers {
            is_verifier[v as usize] = true;
        }
        let mut client_of = vec![None; nodes as usize];
        for (i, &c) in clients.iter().enumerate() {
            client_of[c as usize] = Some(i as u32);
        }
        let rate = if clients.is_empty() { 0.0 } else { config.rate / clients.len() as f64 };
        let clients = clients.iter().map(|&node| Client::new(node, rate, seed)).collect();
        let bucket = SimDuration((until.0 / 400).div_ceil(config.chain.slot.0).max(1) * config.chain.slot.0);
        Rollup {
            contract: Contract::new(&config, sequencer),
            sequencer: Sequencer::new(sequencer, bucket),
            chain,
            is_verifier,
            client_of,
            clients,
            txs: L2Txs::default(),
            issue_until,
            series_bucket: bucket,
            config,
        }
    }

    /// The rollup's L1 contract.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// The L1 chain.
    pub fn chain(&self) -> &Chain<Call> {
        &self.chain
    }

    /// When L2 transaction `tx` was included by force from the inbox, if it was.
    pub fn forced_at(&self, tx: u32) -> Option<SimTime> {
        let at = self.txs.forced_at[tx as usize];
        (at != l2::NEVER).then_some(at)
    }

    /// The L2 transactions of the sequencer's batch `batch`.
    pub fn batch_txs(&self, batch: u32) -> &[u32] {
        self.sequencer.txs_of(batch)
    }

    /// An L1 transaction of the rollup's contracts, under the fee cap of `max_blob_fee`.
    fn call(&self, payload: Call, tip: u64, blobs: u32, calldata: u64) -> Outgoing<Call> {
        Outgoing {
            payload,
            tip,
            max_blob_fee: self.config.max_blob_fee,
            blobs,
            calldata,
            exec_gas: self.config.contract_gas,
        }
    }

    /// Starts `node`'s timers: its slots and other users' arrivals (L1 validators), L2 blocks
    /// (the sequencer), its users' transactions (a client).
    fn start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        if self.chain.is_member(node) {
            self.chain.on_start(node, ctx);
        }
        if node == self.sequencer.node {
            ctx.set_timer(self.config.l2_block, Timer::Seal);
        } else if let Some(c) = self.client_of[node as usize] {
            self.client_starts(c, ctx);
        }
    }

    /// Executes the blocks of `blocks` that are new, then lets `node` react to each.
    fn blocks_applied(&mut self, node: NodeId, blocks: std::ops::Range<u32>, ctx: &mut Context<'_, Self>) {
        for number in blocks {
            while self.contract.executed() <= number {
                let next = self.contract.executed();
                self.contract.execute(&self.chain, next, &self.sequencer, &mut self.txs, &self.config);
            }
            if node == self.sequencer.node {
                self.sequencer_reacts(number, ctx);
            } else if self.is_verifier[node as usize] {
                self.verifier_reacts(number, ctx);
            }
        }
    }
}

impl Protocol for Rollup {
    type Msg = Msg;
    type Timer = Timer;
    type CpuJob = Job;
    type DiskJob = ();

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        self.start(node, ctx);
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, msg: Msg, ctx: &mut Context<'_, Self>) {
        match msg.body {
            Body::Chain(chain_msg) => {
                let applied = self.chain.on_message(node, from, chain_msg, ctx);
                self.blocks_applied(node, applied, ctx);
            }
            Body::Txs { first, count } => self.sequencer_receives(first..first + count),
            Body::Receipts(txs) => {
                for tx in txs {
                    self.txs.receipt(tx, ctx.now());
                }
            }
        }
    }

    fn on_timer(&mut self, node: NodeId, timer: Timer, ctx: &mut Context<'_, Self>) {
        match timer {
            Timer::Chain(chain_timer) => {
                let applied = self.chain.on_timer(node, chain_timer, ctx);
                self.blocks_applied(node, applied, ctx);
            }
            Timer::Issue(c) => self.client_issues(c, ctx),
            Timer::Receipts { first, count } => self.client_checks(first..first + count, ctx),
            Timer::Seal => self.seal(ctx),
            Timer::Challenge(assertion) => self.challenge(assertion, ctx),
        }
    }

    fn on_cpu_done(&mut self, _node: NodeId, job: Job, ctx: &mut Context<'_, Self>) {
        match job {
            Job::Execute(block) => self.executed(block, ctx),
            Job::Compress(batch) => self.compressed(batch, ctx),
            Job::Reexecute(assertion) => self.reexecuted(assertion, ctx),
            Job::Move { dispute, index } => self.submit_move(dispute, index, ctx),
        }
    }

    fn on_disk_done(&mut self, _node: NodeId, _job: (), _ctx: &mut Context<'_, Self>) {}

    /// A node back from a crash starts its timers again; its state survived.
    fn on_recover(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        self.start(node, ctx);
    }
}
