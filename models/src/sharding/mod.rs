//! Sharding: accounts split over k shards, each shard a committee running the reusable batched
//! PBFT group ([`crate::pbft::ReplicaGroup`]), clients issuing transfers, and cross-shard
//! transfers carried out by two-phase commit (coordinated by the payer's shard or by the client)
//! or, without atomicity, by relay.
//!
//! Every step between parties is a *certified call*: the caller (a client, or every replica of a
//! committee) sends a request to the callee shard, which orders it through its consensus; each of
//! the callee's replicas replies when it executes it, and the caller accepts a result once f + 1
//! replicas agree. A committee calls as one client slot of the callee group: its replicas send the
//! same request id, the callee's primary orders it once, and the replies go to each replica of the
//! caller (see [`crate::pbft::Membership`]). Request numbers of a committee's calls are assigned
//! by its replicated state, so every replica of the caller gives the same. A committee's own
//! decisions are handed to its group by every replica ([`crate::pbft::ReplicaGroup::deliver`])
//! under one id, and ordered once.
//!
//! The flows (k the shards of the transaction, C the payer's):
//! - intra-shard: client → shard: `Intra` (checks funds and locks, applies);
//! - `TwoPhaseClient`: client → every shard: `Prepare` (vote); client → every shard: `Commit` or
//!   `Abort`; a client that lacks votes after `vote_timeout` asks the silent shards to `Resolve`
//!   (a shard that has not voted then votes no, so every party that computes the decision computes
//!   the same);
//! - `TwoPhaseShard`: client → C: `Begin` (C prepares); C → others: `Prepare`; C orders `Commit`
//!   or `Abort` once it holds every vote (or `Abort` after `vote_timeout`); C → others: the
//!   decision; C's replicas tell the client (`Outcome`);
//! - `Relay`: client → C: `Debit`; C → receivers' shards: `Credit`; C's replicas tell the client.

mod accounts;
mod bank;
mod calls;
mod client;
mod committee;
mod config;
mod ledger;
mod locks;
mod metrics;
mod registered;
mod txs;

pub use accounts::ShardId;
pub use config::{Assignment, Locking, Mechanism, ScriptedTransfer, ShardingConfig, Validators};
pub use metrics::METRICS;

use std::rc::Rc;

use simulator::series::{Aggregate, TimeSeries};
use simulator::{Context, Message, NodeId, Protocol, SimDuration, SimTime};

use crate::pbft::{self, Application, GroupId, Hosts, Membership, ReplicaGroup, Request, Seq};
use accounts::Accounts;
use bank::Bank;
use calls::Calls;
use client::ClientState;
use committee::Drives;
use ledger::{Apply, Executed, Ledger};
use txs::{Op, Tx, TxId};

/// Bytes of a request that carries a decision, a vote or a transaction id rather than the
/// transaction (id, outcome, and the reference to the votes or decision it follows from).
const CONTROL_BYTES: u64 = 48;
/// Bytes of an `Outcome` or `Query` message: header, transaction id, outcome, signature.
const OUTCOME_BYTES: u64 = 48 + 64;
/// Width of the buckets of the time series.
const SERIES_BUCKET: SimDuration = SimDuration::from_millis(100);

/// Messages: a PBFT message of a shard's group, or a committee replica telling a client how its
/// transaction ended.
#[derive(Clone, Debug)]
pub enum ShardMsg {
    /// A message of shard `.0`'s replica group.
    Pbft(GroupId, pbft::Wire),
    /// The transaction is finished everywhere it had to be; `committed` or not.
    Outcome {
        /// The transaction.
        tx: TxId,
        /// Whether it committed.
        committed: bool,
    },
    /// A client that heard no outcome in time asks the replicas of the shard it waits on.
    Query {
        /// The transaction.
        tx: TxId,
    },
}

impl Message for ShardMsg {
    fn wire_bytes(&self) -> u64 {
        match self {
            ShardMsg::Pbft(_, wire) => wire.bytes,
            ShardMsg::Outcome { .. } | ShardMsg::Query { .. } => OUTCOME_BYTES,
        }
    }
}

/// Timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ShardTimer {
    /// A replica's timer in shard `.0`'s group.
    Replica(GroupId, pbft::Timer),
    /// A call to `shard` with request `number` is unanswered: send it to every replica.
    Retransmit {
        /// The callee.
        shard: ShardId,
        /// The request number.
        number: u64,
    },
    /// A coordinator gives up waiting for votes on `tx`.
    VoteTimeout {
        /// The transaction.
        tx: TxId,
    },
    /// A client has waited a client timeout for the outcome of `tx`: it asks again.
    AskOutcome {
        /// The transaction.
        tx: TxId,
    },
    /// An open-loop client's next transaction.
    Arrival,
    /// A client issues a scripted transfer.
    Scripted {
        /// Its position in the script.
        index: u32,
    },
    /// Record every shard's queue of waiting requests.
    Sample,
    /// A replica looks for transactions whose locks its shard has held too long (two-phase commit
    /// driven by the client).
    RecoveryScan,
}

/// What an observer knows of a transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TxSummary {
    /// When its client issued it.
    pub issued: SimTime,
    /// Whether it touches more than one shard.
    pub cross_shard: bool,
    /// The decision, once a shard applied one: committed or not.
    pub committed: Option<bool>,
    /// When every shard it touches had applied the decision.
    pub finished: Option<SimTime>,
}

/// Where a node stands.
#[derive(Clone, Debug)]
enum Role {
    /// A replica of this shard.
    Replica(ShardId),
    /// Client with this index.
    Client(u32),
}

/// What a replica of a shard executed, for the replica's part in what follows.
#[derive(Debug)]
struct Done {
    shard: ShardId,
    op: Op,
    tx: TxId,
    executed: Executed,
    /// A request that waited for locks and is answered now, with `executed.result`.
    answer: Option<pbft::RequestId>,
}

/// The shards' replicated state, the transactions, and the shards' executions waiting to be acted
/// upon: the application of every replica group.
struct Shards {
    ledgers: Vec<Ledger>,
    bank: Bank,
    accounts: Accounts,
    txs: Vec<Tx>,
    warmup: SimTime,
    /// Executions since the outer protocol last looked.
    done: Vec<Done>,
    /// Committed transactions per shard (a cross-shard one in each of its shards).
    committed: Vec<TimeSeries>,
}

/// A shard's view of `tx`, carried by `request`, at `now`: the state outside the shard's ledger.
fn view<'a>(
    (txs, bank, accounts): (&'a mut [Tx], &'a mut Bank, &'a Accounts),
    warmup: SimTime,
    (tx, request): (TxId, pbft::RequestId),
    now: SimTime,
) -> Apply<'a> {
    Apply { tx: &mut txs[tx as usize], id: tx, bank, now, measured: now >= warmup, accounts, request }
}

impl Shards {
    /// `op` for `tx`, carried by `request`, at shard `shard`.
    fn apply(&mut self, shard: ShardId, op: Op, tx: TxId, request: pbft::RequestId, now: SimTime) -> Executed {
        let apply = view((&mut self.txs, &mut self.bank, &self.accounts), self.warmup, (tx, request), now);
        self.ledgers[usize::from(shard)].execute(op, apply)
    }
}

impl Application for Shards {
    fn execute(&mut self, group: GroupId, _: u32, _: Seq, request: &Request, now: SimTime) -> Option<u64> {
        let (op, tx) = Op::decode(request.payload.op);
        let executed = self.apply(group, op, tx, request.id, now);
        if executed.committed_here {
            self.committed[usize::from(group)].add(now, 1.0);
        }
        let result = executed.result;
        self.done.push(Done { shard: group, op, tx, executed, answer: None });
        if matches!(op, Op::Commit | Op::Abort | Op::Resolve) {
            // Under wait-die, transfers waiting for the locks this released try again; those
            // answered now are answered by every replica as it executes this operation.
            let ledger = &mut self.ledgers[usize::from(group)];
            for waiter in ledger.waiters_to_retry() {
                let state = (&mut self.txs[..], &mut self.bank, &self.accounts);
                let apply = view(state, self.warmup, (waiter.tx, waiter.request), now);
                if ledger.retry(waiter, tx, apply) {
                    self.committed[usize::from(group)].add(now, 1.0);
                }
            }
            for waiter in self.ledgers[usize::from(group)].resumed(tx).to_vec() {
                // Answered from the record: the retry above applied it.
                let executed = self.apply(group, waiter.op, waiter.tx, waiter.request, now);
                self.done.push(Done {
                    shard: group,
                    op: waiter.op,
                    tx: waiter.tx,
                    executed,
                    answer: Some(waiter.request),
                });
            }
        }
        result
    }

    fn recall(&self, group: GroupId, _: u32, request: &Request) -> Option<u64> {
        let (op, tx) = Op::decode(request.payload.op);
        self.ledgers[usize::from(group)].recall(op, tx, &self.txs[tx as usize])
    }
}

/// The sharded system.
pub struct Sharding {
    config: ShardingConfig,
    groups: Vec<ReplicaGroup>,
    committees: Vec<Vec<NodeId>>,
    client_nodes: Vec<NodeId>,
    roles: Vec<Option<Role>>,
    shards: Shards,
    calls: Vec<Calls>,
    clients: Vec<ClientState>,
    drives: Vec<Drives>,
    /// Clients issue nothing from this time on.
    issue_until: SimTime,
    /// Requests waiting at each shard's primary, sampled.
    queues: Vec<TimeSeries>,
}

impl Sharding {
    /// The system for a validated config: shard `s`'s replicas at `committees[s]`, clients at
    /// `client_nodes`, in a network of `nodes` nodes; clients stop issuing at `issue_until`.
    pub fn new(
        config: ShardingConfig,
        nodes: u32,
        committees: Vec<Vec<NodeId>>,
        client_nodes: Vec<NodeId>,
        issue_until: SimTime,
    ) -> Self {
        let k = committees.len();
        let mut roles = vec![None; nodes as usize];
        for (s, committee) in committees.iter().enumerate() {
            for &node in committee {
                roles[node as usize] = Some(Role::Replica(s as ShardId));
            }
        }
        for (c, &node) in client_nodes.iter().enumerate() {
            roles[node as usize] = Some(Role::Client(c as u32));
        }
        let groups = (0..k)
            .map(|s| {
                let mut slots: Vec<Vec<NodeId>> = client_nodes.iter().map(|&node| vec![node]).collect();
                slots.extend(committees.iter().enumerate().filter(|&(t, _)| t != s).map(|(_, c)| c.clone()));
                // Decisions the committee orders for itself, and aborts after a vote timeout.
                slots.extend([Vec::new(), Vec::new()]);
                let membership = Membership::with_slots(committees[s].clone(), slots);
                ReplicaGroup::with_membership(s as GroupId, config.consensus.clone(), membership)
            })
            .collect();
        let series = |name: &str| -> Vec<TimeSeries> {
            let aggregate = if name == "queue_length" { Aggregate::Last } else { Aggregate::RatePerSecond };
            (0..k).map(|s| TimeSeries::new(name, &format!("shard-{s}"), aggregate, SERIES_BUCKET)).collect()
        };
        let shards = Shards {
            ledgers: (0..k).map(|s| Ledger::new(s as ShardId, k as u32, config.locking == Locking::WaitDie)).collect(),
            bank: Bank::new(config.accounts, config.balance),
            accounts: Accounts::new(&config),
            txs: Vec::new(),
            warmup: SimTime::ZERO + config.warmup,
            done: Vec::new(),
            committed: series("committed_tps"),
        };
        Sharding {
            groups,
            calls: (0..nodes).map(|_| Calls::new(k)).collect(),
            clients: client_nodes.iter().map(|&node| ClientState::new(node, k)).collect(),
            drives: (0..nodes).map(|_| Drives::default()).collect(),
            committees,
            client_nodes,
            roles,
            shards,
            issue_until,
            queues: series("queue_length"),
            config,
        }
    }

    /// Every transaction issued so far, in issue order.
    pub fn transactions(&self) -> impl Iterator<Item = TxSummary> + '_ {
        self.shards.txs.iter().map(|tx| TxSummary {
            issued: tx.issued,
            cross_shard: tx.is_cross_shard(),
            committed: tx.decision,
            finished: tx.finished,
        })
    }

    /// The balance of `account`.
    pub fn balance(&self, account: u32) -> u64 {
        self.shards.bank.balances[account as usize]
    }

    fn shard_count(&self) -> u32 {
        self.committees.len() as u32
    }

    /// The fault threshold of every committee.
    fn f(&self) -> u32 {
        self.groups[0].f()
    }

    /// The client slot of `node` in shard `shard`'s group: a client's own, or its committee's.
    fn slot(&self, node: NodeId, shard: ShardId) -> u32 {
        let clients = self.client_nodes.len() as u32;
        match &self.roles[node as usize] {
            Some(Role::Client(c)) => *c,
            Some(Role::Replica(own)) => clients + u32::from(*own) - u32::from(*own > shard),
            None => unreachable!("node {node} has no role"),
        }
    }

    /// The slot under which a committee's replicas hand their group its own decisions
    /// (`timed_out`: aborts after a vote timeout).
    fn own_slot(&self, timed_out: bool) -> u32 {
        self.client_nodes.len() as u32 + self.shard_count() - 1 + u32::from(timed_out)
    }

    /// A request of `slot` numbered `number` asking shard `shard` to do `op` for `tx`: it writes
    /// the transaction's accounts in that shard.
    fn request(&self, slot: u32, number: u64, op: Op, tx: TxId, shard: ShardId) -> Rc<Request> {
        let bytes = if op.carries_transaction() { self.config.tx_size.bytes() } else { CONTROL_BYTES };
        let accounts = &self.shards.accounts;
        let writes = self.shards.txs[tx as usize]
            .parties
            .iter()
            .filter(|&&a| accounts.shard_of(a) == shard)
            .map(|&a| u64::from(a))
            .collect();
        Rc::new(Request {
            id: pbft::RequestId { client: slot, number },
            payload: pbft::Payload {
                bytes,
                cost: self.config.consensus.costs.execute,
                access: pbft::conflict::Access { reads: Vec::new(), writes },
                op: op.encode(tx),
            },
        })
    }

    /// Acts on what the replica at `node` executed during the last call into its group.
    fn after(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        while !self.shards.done.is_empty() {
            for done in std::mem::take(&mut self.shards.done) {
                self.executed(node, done, ctx);
            }
        }
    }
}

impl Hosts for Sharding {
    fn wrap_message(group: GroupId, msg: pbft::Wire) -> ShardMsg {
        ShardMsg::Pbft(group, msg)
    }

    fn wrap_timer(group: GroupId, timer: pbft::Timer) -> ShardTimer {
        ShardTimer::Replica(group, timer)
    }

    fn wrap_cpu(group: GroupId, job: pbft::CpuJob) -> (GroupId, pbft::CpuJob) {
        (group, job)
    }

    fn wrap_disk(group: GroupId, job: pbft::DiskJob) -> (GroupId, pbft::DiskJob) {
        (group, job)
    }
}

impl Protocol for Sharding {
    type Msg = ShardMsg;
    type Timer = ShardTimer;
    type CpuJob = (GroupId, pbft::CpuJob);
    type DiskJob = (GroupId, pbft::DiskJob);

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        match self.roles[node as usize] {
            Some(Role::Replica(s)) => {
                self.groups[usize::from(s)].on_start(node, ctx, &mut self.shards);
                self.arm_recovery_scan(ctx);
            }
            Some(Role::Client(c)) => {
                if c == 0 {
                    ctx.set_timer(SERIES_BUCKET, ShardTimer::Sample);
                }
                self.start_client(c, ctx);
            }
            None => {}
        }
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, msg: ShardMsg, ctx: &mut Context<'_, Self>) {
        match msg {
            ShardMsg::Pbft(g, wire) => match wire.body {
                pbft::Body::Reply { view, request, result } => {
                    self.on_reply(node, from, g, (view, request, result), ctx)
                }
                _ => {
                    self.groups[usize::from(g)].on_message(node, from, wire, ctx, &mut self.shards);
                    self.after(node, ctx);
                }
            },
            ShardMsg::Outcome { tx, committed } => self.on_outcome(node, from, tx, committed, ctx),
            ShardMsg::Query { tx } => self.on_query(node, from, tx, ctx),
        }
    }

    fn on_timer(&mut self, node: NodeId, timer: ShardTimer, ctx: &mut Context<'_, Self>) {
        match timer {
            ShardTimer::Replica(g, timer) => {
                self.groups[usize::from(g)].on_timer(node, timer, ctx, &mut self.shards);
                self.after(node, ctx);
            }
            ShardTimer::Retransmit { shard, number } => self.retransmit(node, shard, number, ctx),
            ShardTimer::VoteTimeout { tx } => match self.roles[node as usize] {
                Some(Role::Client(c)) => self.client_vote_timeout(c, tx, ctx),
                Some(Role::Replica(s)) => self.committee_vote_timeout(node, s, tx, ctx),
                None => {}
            },
            ShardTimer::AskOutcome { tx } => {
                if let Some(Role::Client(c)) = self.roles[node as usize] {
                    self.ask_outcome(c, tx, ctx);
                }
            }
            ShardTimer::Arrival => {
                if let Some(Role::Client(c)) = self.roles[node as usize] {
                    self.on_arrival(c, ctx);
                }
            }
            ShardTimer::Scripted { index } => {
                if let Some(Role::Client(c)) = self.roles[node as usize] {
                    self.on_scripted(c, index, ctx);
                }
            }
            ShardTimer::RecoveryScan => {
                if let Some(Role::Replica(s)) = self.roles[node as usize] {
                    self.recovery_scan(node, s, ctx);
                    self.arm_recovery_scan(ctx);
                }
            }
            ShardTimer::Sample => {
                for (queue, group) in self.queues.iter_mut().zip(&self.groups) {
                    queue.set(ctx.now(), group.waiting() as f64);
                }
                ctx.set_timer(SERIES_BUCKET, ShardTimer::Sample);
            }
        }
    }

    fn on_cpu_done(&mut self, node: NodeId, (g, job): (GroupId, pbft::CpuJob), ctx: &mut Context<'_, Self>) {
        self.groups[usize::from(g)].on_cpu_done(node, job, ctx, &mut self.shards);
        self.after(node, ctx);
    }

    fn on_disk_done(&mut self, node: NodeId, (g, job): (GroupId, pbft::DiskJob), ctx: &mut Context<'_, Self>) {
        self.groups[usize::from(g)].on_disk_done(node, job, ctx, &mut self.shards);
        self.after(node, ctx);
    }

    fn on_crash(&mut self, node: NodeId, now: SimTime) {
        if let Some(Role::Replica(s)) = self.roles[node as usize] {
            self.groups[usize::from(s)].on_crash(node, now);
        }
        // Its timers are gone: its calls and coordinations are forgotten with them.
        self.calls[node as usize].clear();
        self.drives[node as usize].clear();
    }

    fn on_recover(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        if let Some(Role::Replica(s)) = self.roles[node as usize] {
            self.groups[usize::from(s)].on_recover(node, ctx, &mut self.shards);
            self.after(node, ctx);
            self.arm_recovery_scan(ctx);
        }
    }
}
