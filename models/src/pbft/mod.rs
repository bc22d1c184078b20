//! Batched PBFT (Castro & Liskov). The protocol is a reusable component: a [`ReplicaGroup`] runs
//! the replicas of one consensus group at any list of member nodes, inside any outer protocol
//! that [`Hosts`] it, for an [`Application`] that supplies request payloads and receives the
//! group's in-order callbacks. [`Pbft`] is the protocol experiment files name: one group whose
//! replicas are the first nodes (or a role's nodes), with the other nodes as clients.
//!
//! The module is split by concern: [`replica`] holds a replica's state and the normal case,
//! [`execution`] the execution of committed batches, [`checkpoint`] checkpoints and state
//! transfer, [`liveness`] resends and timers, [`view_change`] the view changes, [`client`] the
//! clients, [`conflict`] and [`cache`] the parallel execution of a batch, [`checker`] the safety
//! observer and [`metrics`] the report.
//!
//! Message accounting: `replica_msgs_per_request` counts every message one replica sends to
//! another (PRE-PREPARE, PREPARE, COMMIT, VIEW-CHANGE, NEW-VIEW, forwarded requests and state
//! transfer) except CHECKPOINT, divided by the requests committed. Client requests and replies are
//! not replica-to-replica traffic; checkpoints are reported apart (`messages.checkpoint` in the run
//! file) because their share depends on the checkpoint interval, not on the agreement protocol.

mod cache;
mod checker;
mod checkpoint;
mod client;
mod config;
pub mod conflict;
mod execution;
mod group;
mod host;
mod liveness;
mod messages;
mod metrics;
mod registered;
mod replica;
mod shared;
mod view_change;
mod votes;
mod workload;

pub use config::{Auth, Behaviour, ByzantineConfig, Costs, ExecutionConfig, Load, MAX_REPLICAS, PbftConfig, Replicas};
pub use group::{ReplicaGroup, Submit};
pub use host::{Application, GroupId, Host, Hosts, Membership, Scoped};
pub use messages::{Batch, Body, Payload, Request, RequestId, Seq, View, Wire};
pub use metrics::METRICS;
pub use shared::Targets;

use simulator::series::{Aggregate, TimeSeries};
use simulator::{Context, NodeId, Protocol, SimDuration, SimTime};

use client::Client;
use workload::KeyGenerator;

/// Timers of a replica.
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
}

/// Timers of the `Pbft` protocol: its group's replicas' and its clients'.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PbftTimer {
    /// A replica's timer.
    Replica(Timer),
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

/// The application of the `Pbft` protocol: requests do not interact, so a request's outcome is a
/// function of the request alone, and any replica can tell it again.
struct IndependentRequests;

impl Application for IndependentRequests {
    fn execute(&mut self, _: GroupId, _: u32, _: Seq, request: &Request, _: SimTime) -> Option<u64> {
        Some(request.id.result())
    }

    fn recall(&self, _: GroupId, _: u32, request: &Request) -> Option<u64> {
        Some(request.id.result())
    }
}

/// What the clients of the `Pbft` protocol share: how requests are made and what is measured.
struct ClientSide {
    /// Keys a request touches, when the state is modelled.
    keys: Option<KeyGenerator>,
    /// Requests accepted by clients over time.
    throughput: TimeSeries,
    app: IndependentRequests,
}

/// The `Pbft` protocol: one replica group and its clients.
pub struct Pbft {
    group: ReplicaGroup,
    clients: Vec<Client>,
    /// Client `c` runs at node `client_nodes[c]`.
    client_of: Vec<Option<u32>>,
    side: ClientSide,
}

impl Pbft {
    /// PBFT over `nodes` nodes whose replicas run at `members` (in replica order) and whose
    /// clients are all the other nodes, for the run with `seed`. The config must have been
    /// validated.
    pub fn new(config: PbftConfig, nodes: u32, members: Vec<NodeId>, seed: u64) -> Self {
        let mut client_of = vec![None; nodes as usize];
        let mut is_member = vec![false; nodes as usize];
        for &m in &members {
            is_member[m as usize] = true;
        }
        let client_nodes: Vec<NodeId> = (0..nodes).filter(|&node| !is_member[node as usize]).collect();
        for (c, &node) in client_nodes.iter().enumerate() {
            client_of[node as usize] = Some(c as u32);
        }
        let keys = config.execution.clone().map(|e| KeyGenerator::new(e, seed));
        let clients = client_nodes.iter().enumerate().map(|(c, &node)| Client::new(c as u32, node)).collect();
        let group = ReplicaGroup::new(0, config, members, client_nodes);
        let throughput = TimeSeries::new("throughput_rps", "all", Aggregate::RatePerSecond, SERIES_BUCKET);
        Pbft { group, clients, client_of, side: ClientSide { keys, throughput, app: IndependentRequests } }
    }

    /// Safety violations seen by the checker.
    pub fn safety_violations(&self) -> usize {
        self.group.safety_violations()
    }

    /// Requests accepted by clients.
    pub fn accepted_requests(&self) -> u64 {
        self.clients.iter().map(|c| c.accepted).sum()
    }

    /// The highest view installed by a correct replica.
    pub fn highest_view(&self) -> View {
        self.group.highest_view()
    }

    fn client_at(&self, node: NodeId) -> Option<usize> {
        self.client_of.get(node as usize).copied().flatten().map(|c| c as usize)
    }
}

impl Hosts for Pbft {
    fn wrap_message(_: GroupId, msg: Wire) -> Wire {
        msg
    }

    fn wrap_timer(_: GroupId, timer: Timer) -> PbftTimer {
        PbftTimer::Replica(timer)
    }

    fn wrap_cpu(_: GroupId, job: CpuJob) -> CpuJob {
        job
    }

    fn wrap_disk(_: GroupId, job: DiskJob) -> DiskJob {
        job
    }
}

impl Protocol for Pbft {
    type Msg = Wire;
    type Timer = PbftTimer;
    type CpuJob = CpuJob;
    type DiskJob = DiskJob;

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        match self.client_at(node) {
            Some(c) => self.clients[c].start(&mut self.group, &mut self.side, ctx),
            None => self.group.on_start(node, ctx, &mut self.side.app),
        }
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, msg: Wire, ctx: &mut Context<'_, Self>) {
        match self.client_at(node) {
            Some(c) => {
                if let Body::Reply { view, request, result } = msg.body {
                    self.clients[c].on_reply(from, (view, request, result), &mut self.group, &mut self.side, ctx);
                }
            }
            None => self.group.on_message(node, from, msg, ctx, &mut self.side.app),
        }
    }

    fn on_timer(&mut self, node: NodeId, timer: PbftTimer, ctx: &mut Context<'_, Self>) {
        match (timer, self.client_at(node)) {
            (PbftTimer::Replica(timer), _) => self.group.on_timer(node, timer, ctx, &mut self.side.app),
            (PbftTimer::Retransmit { number }, Some(c)) => {
                self.clients[c].on_retransmit(number, &mut self.group, &mut self.side, ctx)
            }
            (PbftTimer::Arrival, Some(c)) => self.clients[c].on_arrival(&mut self.group, &mut self.side, ctx),
            (PbftTimer::Retransmit { .. } | PbftTimer::Arrival, None) => {}
        }
    }

    fn on_cpu_done(&mut self, node: NodeId, job: CpuJob, ctx: &mut Context<'_, Self>) {
        self.group.on_cpu_done(node, job, ctx, &mut self.side.app);
    }

    fn on_disk_done(&mut self, node: NodeId, job: DiskJob, ctx: &mut Context<'_, Self>) {
        self.group.on_disk_done(node, job, ctx, &mut self.side.app);
    }

    fn on_crash(&mut self, node: NodeId, now: SimTime) {
        self.group.on_crash(node, now);
    }

    fn on_recover(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        self.group.on_recover(node, ctx, &mut self.side.app);
    }
}
