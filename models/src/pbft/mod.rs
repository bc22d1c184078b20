//! Batched PBFT (Castro & Liskov) as a node behaviour: nodes `0..n` are replicas, the other nodes
//! are clients. The module is split by concern: [`replica`] holds the normal case, execution and
//! checkpoints, [`view_change`] the view changes, [`client`] the clients, [`conflict`] and
//! [`cache`] the parallel execution of a batch, [`checker`] the safety observer and [`metrics`]
//! the report.
//!
//! Message accounting: `replica_msgs_per_request` counts every message one replica sends to
//! another (PRE-PREPARE, PREPARE, COMMIT, VIEW-CHANGE, NEW-VIEW, forwarded requests and state
//! transfer) except CHECKPOINT, divided by the requests committed. Client requests and replies are
//! not replica-to-replica traffic; checkpoints are reported apart (`messages.checkpoint` in the run
//! file) because their share depends on the checkpoint interval, not on the agreement protocol.

mod cache;
mod checker;
mod client;
mod config;
pub mod conflict;
mod messages;
mod metrics;
mod registered;
mod replica;
mod view_change;
mod votes;
mod workload;

pub use config::{Auth, Behaviour, ByzantineConfig, Costs, ExecutionConfig, Load, PbftConfig};
pub use messages::Wire;
pub use metrics::METRICS;

use std::collections::BTreeMap;

use simulator::series::{Aggregate, TimeSeries};
use simulator::{Context, NodeId, Protocol, SimDuration, SimTime};

use checker::SafetyChecker;
use client::Client;
use config::Auth as AuthKind;
use messages::{Batch, Body, Kind, KindCounts, Seq, Sizes, View};
use replica::Replica;
use workload::KeyGenerator;

/// Where a message goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    /// One node.
    One(NodeId),
    /// Every replica except the sender.
    Replicas,
}

/// Timers of replicas and clients.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The primary's batch timeout.
    Batch {
        /// Identifies the arming this firing belongs to.
        generation: u64,
    },
    /// A backup's view-change timeout.
    ViewChange {
        /// Identifies the arming this firing belongs to.
        generation: u64,
    },
    /// A faulty replica starts misbehaving.
    Misbehave,
    /// A replica resends messages that may have been lost.
    Resend,
    /// A client's request timeout.
    Retransmit {
        /// The request.
        number: u64,
    },
    /// An open-loop client's next request.
    Arrival,
}

/// Work on a replica's CPU.
#[derive(Clone, Debug)]
pub enum CpuJob {
    /// A received message whose authentication has been checked.
    Receive {
        /// Sender.
        from: NodeId,
        /// The message.
        body: Body,
    },
    /// A message whose authentication has been computed, ready to send.
    Emit {
        /// Receivers.
        to: Targets,
        /// The message.
        body: Body,
    },
    /// One request of the batch being executed.
    Execute {
        /// The batch's sequence number.
        seq: Seq,
        /// The request's position in the batch.
        index: u32,
    },
}

/// Work on a replica's disk.
#[derive(Clone, Debug)]
pub enum DiskJob {
    /// A PREPARE or COMMIT whose log record is on disk, ready to multicast.
    Persisted(Body),
    /// One state read of the batch being executed.
    Fetch {
        /// The batch's sequence number.
        seq: Seq,
    },
}

/// Width of the buckets of the throughput series.
const SERIES_BUCKET: SimDuration = SimDuration::from_millis(100);

/// Run-wide counters.
#[derive(Clone, Debug)]
struct Stats {
    /// Requests accepted by clients over time.
    throughput: TimeSeries,
    /// Messages sent between replicas, by kind.
    replica_messages: KindCounts,
    /// Messages sent by clients and to clients, by kind.
    client_messages: KindCounts,
    /// The first time a correct replica installed each view after view 0.
    installed: BTreeMap<View, SimTime>,
    /// The first primary failure: when, and in which view.
    primary_failure: Option<(SimTime, View)>,
    /// The first commit by a correct replica in a view after the failed one.
    recovered: Option<SimTime>,
    /// Prepared batches re-proposed by NEW-VIEW messages.
    reproposed: u64,
    /// Null batches proposed by NEW-VIEW messages to fill gaps.
    null_proposals: u64,
}

/// What every replica and client shares: the configuration, message sizes, the key generator,
/// the safety checker and run-wide counters.
pub(crate) struct Shared {
    config: PbftConfig,
    n: u32,
    f: u32,
    sizes: Sizes,
    keys: Option<KeyGenerator>,
    checker: SafetyChecker,
    stats: Stats,
}

impl Shared {
    /// The primary of `view`.
    fn primary(&self, view: View) -> u32 {
        (view % u64::from(self.n)) as u32
    }

    /// The node of client `index`.
    fn client_node(&self, index: u32) -> NodeId {
        self.n + index
    }

    fn is_client(&self, node: NodeId) -> bool {
        node >= self.n
    }

    /// CPU time to authenticate a message for `to`.
    fn generation_cost(&self, to: Targets) -> SimDuration {
        let costs = &self.config.costs;
        match (self.config.auth, to) {
            (AuthKind::Macs, Targets::One(_)) => costs.mac,
            (AuthKind::Macs, Targets::Replicas) => SimDuration(costs.mac.0 * u64::from(self.n - 1)),
            (AuthKind::Signatures, _) => costs.sign,
        }
    }

    /// CPU time to check a received message; the requests inside a PRE-PREPARE are checked too.
    fn verification_cost(&self, body: &Body) -> SimDuration {
        let costs = &self.config.costs;
        let one = match self.config.auth {
            AuthKind::Macs => costs.mac,
            AuthKind::Signatures => costs.verify,
        };
        let count = match body {
            Body::PrePrepare { batch, .. } => 1 + batch.requests.len() as u64,
            _ => 1,
        };
        SimDuration(one.0 * count)
    }

    /// Puts `body` on the wire from `from` to `to`, counting it.
    fn transmit(&mut self, from: NodeId, to: Targets, body: Body, ctx: &mut Context<'_, Pbft>) {
        let bytes = self.sizes.of(&body);
        let kind = body.kind();
        match to {
            Targets::One(node) => {
                self.count(from, node, kind, 1);
                ctx.send(node, Wire { body, bytes });
            }
            Targets::Replicas => {
                let receivers = (0..self.n).filter(|&r| r != from);
                self.count(from, 0, kind, receivers.clone().count() as u64);
                for r in receivers {
                    ctx.send(r, Wire { body: body.clone(), bytes });
                }
            }
        }
    }

    fn count(&mut self, from: NodeId, to: NodeId, kind: Kind, messages: u64) {
        let counters = if self.is_client(from) || self.is_client(to) {
            &mut self.stats.client_messages
        } else {
            &mut self.stats.replica_messages
        };
        counters.add(kind, messages);
    }

    /// `replica` committed `batch` at `seq` in `view`.
    fn committed(&mut self, replica: u32, view: View, seq: Seq, batch: &Batch, now: SimTime) {
        self.checker.commit(replica, seq, batch.digest, batch.requests.len(), now);
        if let Some((_, failed_view)) = self.stats.primary_failure
            && self.stats.recovered.is_none()
            && view > failed_view
            && self.checker.is_correct(replica)
        {
            self.stats.recovered = Some(now);
        }
    }

    /// `replica` installed `view`.
    fn view_installed(&mut self, replica: u32, view: View, now: SimTime) {
        if self.checker.is_correct(replica) {
            self.stats.installed.entry(view).or_insert(now);
        }
    }

    /// A NEW-VIEW went out with these proposals.
    fn new_view_sent(&mut self, batches: &[(Seq, std::sync::Arc<Batch>)]) {
        let nulls = batches.iter().filter(|(_, b)| b.requests.is_empty()).count() as u64;
        self.stats.null_proposals += nulls;
        self.stats.reproposed += batches.len() as u64 - nulls;
    }

    /// The primary of `view` stopped doing its job at `now`; only the first failure is timed.
    fn primary_failed(&mut self, view: View, now: SimTime) {
        if self.stats.primary_failure.is_none() {
            self.stats.primary_failure = Some((now, view));
        }
    }
}

/// The state of the PBFT protocol across all nodes.
pub struct Pbft {
    shared: Shared,
    replicas: Vec<Replica>,
    clients: Vec<Client>,
}

impl Pbft {
    /// PBFT over `nodes` nodes (the first `config.replicas` are replicas) for the run with `seed`.
    /// The config must have been validated.
    pub fn new(config: PbftConfig, nodes: u32, seed: u64) -> Self {
        let n = config.replicas;
        let clients = nodes - n;
        let fault = |r: u32| config.byzantine.iter().find(|b| b.replica == r).cloned();
        let keys = config.execution.clone().map(|e| KeyGenerator::new(e, seed));
        let cache = keys.as_ref().map_or(0, KeyGenerator::cache_capacity);
        let replicas = (0..n).map(|r| Replica::new(r, clients as usize, cache, fault(r))).collect();
        let correct = (0..n).map(|r| fault(r).is_none()).collect();
        let shared = Shared {
            n,
            f: config.f(),
            sizes: Sizes::new(&config, clients),
            keys,
            checker: SafetyChecker::new(correct),
            stats: Stats {
                throughput: TimeSeries::new("throughput_rps", "all", Aggregate::RatePerSecond, SERIES_BUCKET),
                replica_messages: KindCounts::default(),
                client_messages: KindCounts::default(),
                installed: BTreeMap::new(),
                primary_failure: None,
                recovered: None,
                reproposed: 0,
                null_proposals: 0,
            },
            config,
        };
        Pbft { shared, replicas, clients: (0..clients).map(Client::new).collect() }
    }

    fn is_replica(&self, node: NodeId) -> bool {
        node < self.shared.n
    }

    /// Safety violations seen by the checker.
    pub fn safety_violations(&self) -> usize {
        self.shared.checker.violations().len()
    }

    /// Requests accepted by clients.
    pub fn accepted_requests(&self) -> u64 {
        self.clients.iter().map(|c| c.accepted).sum()
    }

    /// The highest view installed by a correct replica.
    pub fn highest_view(&self) -> View {
        self.shared.stats.installed.keys().next_back().copied().unwrap_or(0)
    }
}

impl Protocol for Pbft {
    type Msg = Wire;
    type Timer = Timer;
    type CpuJob = CpuJob;
    type DiskJob = DiskJob;

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        if self.is_replica(node) {
            if let Some(from) = self.replicas[node as usize].fault_start() {
                ctx.set_timer(from, Timer::Misbehave);
            }
        } else {
            self.clients[(node - self.shared.n) as usize].start(&mut self.shared, ctx);
        }
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, msg: Wire, ctx: &mut Context<'_, Self>) {
        let shared = &mut self.shared;
        if node < shared.n {
            let cost = shared.verification_cost(&msg.body);
            if cost == SimDuration::ZERO {
                self.replicas[node as usize].handle(from, msg.body, shared, ctx);
            } else {
                ctx.run_cpu(cost, CpuJob::Receive { from, body: msg.body });
            }
        } else if let Body::Reply { view, request, result } = msg.body {
            self.clients[(node - shared.n) as usize].on_reply(from, view, request, result, shared, ctx);
        }
    }

    fn on_timer(&mut self, node: NodeId, timer: Timer, ctx: &mut Context<'_, Self>) {
        let shared = &mut self.shared;
        match timer {
            Timer::Batch { generation } => self.replicas[node as usize].on_batch_timer(generation, shared, ctx),
            Timer::ViewChange { generation } => {
                self.replicas[node as usize].on_view_change_timer(generation, shared, ctx)
            }
            Timer::Resend => self.replicas[node as usize].on_resend_timer(shared, ctx),
            Timer::Misbehave => {
                let replica = &self.replicas[node as usize];
                if replica.active && replica.is_primary_of(replica.view, shared) {
                    shared.primary_failed(replica.view, ctx.now());
                }
            }
            Timer::Retransmit { number } => self.clients[(node - shared.n) as usize].on_retransmit(number, shared, ctx),
            Timer::Arrival => self.clients[(node - shared.n) as usize].on_arrival(shared, ctx),
        }
    }

    fn on_cpu_done(&mut self, node: NodeId, job: CpuJob, ctx: &mut Context<'_, Self>) {
        let shared = &mut self.shared;
        let replica = &mut self.replicas[node as usize];
        match job {
            CpuJob::Receive { from, body } => replica.handle(from, body, shared, ctx),
            CpuJob::Emit { to, body } => shared.transmit(node, to, body, ctx),
            CpuJob::Execute { seq, index } => replica.executed_request(seq, index as usize, shared, ctx),
        }
    }

    fn on_disk_done(&mut self, node: NodeId, job: DiskJob, ctx: &mut Context<'_, Self>) {
        let shared = &mut self.shared;
        let replica = &mut self.replicas[node as usize];
        match job {
            DiskJob::Persisted(body) => replica.emit(Targets::Replicas, body, shared, ctx),
            DiskJob::Fetch { seq } => replica.fetched(seq, shared, ctx),
        }
    }

    fn on_crash(&mut self, node: NodeId, now: SimTime) {
        if self.is_replica(node) {
            let replica = &mut self.replicas[node as usize];
            if replica.active && replica.is_primary_of(replica.view, &self.shared) {
                self.shared.primary_failed(replica.view, now);
            }
            replica.crash();
        }
    }

    fn on_recover(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        if self.is_replica(node) {
            self.replicas[node as usize].recover(&mut self.shared, ctx);
        }
    }
}
