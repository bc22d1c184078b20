//! A PBFT replica group as a component: the replicas of one consensus group, running at any list
//! of member nodes, inside any outer protocol that [`Hosts`] it, for an [`Application`] that
//! supplies request payloads and hears of commits, executions and view changes. Several groups
//! run side by side in one simulation, each with its own views, checkpoints and safety checker.
//! The outer protocol hands the group the events of its members (messages, timers, jobs, crashes)
//! and sends its clients' requests through [`ReplicaGroup::submit`].

use std::rc::Rc;

use simulator::{Context, NodeId, SimDuration, SimTime};

use super::checker::SafetyChecker;
use super::config::{PbftConfig, fault_threshold};
use super::host::{Application, GroupId, Host, Hosts, Membership, Scoped};
use super::messages::{Body, Request, RequestId, Sizes, View, Wire};
use super::replica::Replica;
use super::shared::{Shared, Stats, Targets};
use super::{CpuJob, DiskJob, Timer};

/// Where a client sends a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Submit {
    /// To the primary of this view.
    Primary(View),
    /// To every replica (a client that waited too long for replies).
    Everyone,
}

/// One consensus group.
pub struct ReplicaGroup {
    id: GroupId,
    nodes: Membership,
    pub(super) shared: Shared,
    pub(super) replicas: Vec<Replica>,
}

impl ReplicaGroup {
    /// Group `id` with replica `r` at `members[r]` and client `c` at `clients[c]`. `config` must
    /// have been validated for that many members; its `replicas` is not read.
    pub fn new(id: GroupId, config: PbftConfig, members: Vec<NodeId>, clients: Vec<NodeId>) -> Self {
        Self::with_membership(id, config, Membership::new(members, clients))
    }

    /// Group `id` with the replicas and client slots of `nodes` (see [`Membership`]).
    pub fn with_membership(id: GroupId, config: PbftConfig, nodes: Membership) -> Self {
        let n = nodes.replicas();
        let fault = |r: u32| config.byzantine.iter().find(|b| b.replica == r).cloned();
        let cache = config.execution.as_ref().map_or(0, |e| e.cache as usize);
        let slots = nodes.slots();
        let replicas = (0..n).map(|r| Replica::new(r, slots as usize, cache, fault(r))).collect();
        let correct = (0..n).map(|r| fault(r).is_none()).collect();
        let shared = Shared {
            n,
            f: fault_threshold(n),
            sizes: Sizes::new(&config, n, slots),
            checker: SafetyChecker::new(correct),
            stats: Stats::default(),
            receivers: (0..slots).map(|c| nodes.nodes(n + c).len() as u32).collect(),
            config,
        };
        ReplicaGroup { id, nodes, shared, replicas }
    }

    /// Its configuration.
    pub fn config(&self) -> &PbftConfig {
        &self.shared.config
    }

    /// The fault threshold f: a client accepts a result from f + 1 replicas.
    pub fn f(&self) -> u32 {
        self.shared.f
    }

    /// The node of the primary of `view`.
    pub fn primary_node(&self, view: View) -> NodeId {
        self.nodes.node(self.shared.primary(view))
    }

    /// The replica index of `node`, if it is a member.
    pub fn replica_of(&self, node: NodeId) -> Option<u32> {
        self.nodes.replica(node)
    }

    /// Requests waiting to be batched at the primary of the highest view a correct replica
    /// installed.
    pub fn waiting(&self) -> usize {
        self.replicas[self.shared.primary(self.highest_view()) as usize].queue.len()
    }

    /// Safety violations the group's checker saw: two correct replicas committing different
    /// batches at one sequence number, or different checkpoint states.
    pub fn safety_violations(&self) -> usize {
        self.shared.checker.violations().len()
    }

    /// The highest view a correct replica installed.
    pub fn highest_view(&self) -> View {
        self.shared.stats.installed.keys().next_back().copied().unwrap_or(0)
    }

    /// The replica running at `node`, if it is a member.
    fn replica_at(&self, node: NodeId) -> Option<usize> {
        self.nodes.replica(node).map(|r| r as usize)
    }

    /// Runs `handler` with the replica at `node` (if it is a member), the shared state and the
    /// group's host inside the outer protocol.
    fn at_replica<P: Hosts, A: Application>(
        &mut self,
        node: NodeId,
        ctx: &mut Context<'_, P>,
        app: &mut A,
        handler: impl FnOnce(u32, &mut Replica, &mut Shared, &mut Scoped<'_, '_, P, A>),
    ) {
        let Some(r) = self.replica_at(node) else { return };
        let mut host = Scoped { ctx, app, nodes: &self.nodes, group: self.id };
        handler(r as u32, &mut self.replicas[r], &mut self.shared, &mut host);
    }

    /// Sends `request` from its client (a node registered as a client of the group), counted as
    /// client traffic.
    pub fn submit<P: Hosts, A: Application>(
        &mut self,
        client: NodeId,
        to: Submit,
        request: Rc<Request>,
        ctx: &mut Context<'_, P>,
        app: &mut A,
    ) {
        let from = self.nodes.local(client).filter(|&l| self.shared.is_client(l)).expect("a registered client");
        let to = match to {
            Submit::Primary(view) => Targets::One(self.shared.primary(view)),
            Submit::Everyone => Targets::Replicas,
        };
        let mut host = Scoped { ctx, app, nodes: &self.nodes, group: self.id };
        self.shared.transmit(from, to, Body::Request(request), &mut host);
    }

    /// Member `node` obtained `request` by the outer protocol's own means (a certified message
    /// from another group, say) and hands it to its group as if a client had sent it: the primary
    /// queues it, a backup waits for it to execute. Its id must name a client slot, usually one
    /// without nodes (see [`Membership`]); every replica that delivers it gives the same id, and the
    /// group orders it once.
    pub fn deliver<P: Hosts, A: Application>(
        &mut self,
        node: NodeId,
        request: Rc<Request>,
        ctx: &mut Context<'_, P>,
        app: &mut A,
    ) {
        self.at_replica(node, ctx, app, |r, replica, shared, host| {
            replica.handle(r, Body::Request(request), shared, host);
        });
    }

    /// The replica at `node` answers the client of `request` with `result`: the outcome its
    /// application did not know when it executed the request (see [`Application::execute`]).
    pub fn answer<P: Hosts, A: Application>(
        &mut self,
        node: NodeId,
        request: RequestId,
        result: u64,
        ctx: &mut Context<'_, P>,
        app: &mut A,
    ) {
        self.at_replica(node, ctx, app, |_, replica, shared, host| replica.reply(request, result, shared, host));
    }

    /// A member starts: a replica scheduled to misbehave arms the moment it starts.
    pub fn on_start<P: Hosts, A: Application>(&mut self, node: NodeId, ctx: &mut Context<'_, P>, app: &mut A) {
        self.at_replica(node, ctx, app, |_, replica, _, host| {
            if let Some(from) = replica.fault_start() {
                host.set_timer(from, Timer::Misbehave);
            }
        });
    }

    /// A group message from `from` reached member `node`: its authentication is checked on the
    /// CPU first when that costs anything. Messages from nodes outside the group are dropped.
    pub fn on_message<P: Hosts, A: Application>(
        &mut self,
        node: NodeId,
        from: NodeId,
        msg: Wire,
        ctx: &mut Context<'_, P>,
        app: &mut A,
    ) {
        let Some(from) = self.nodes.local(from) else { return };
        self.at_replica(node, ctx, app, |_, replica, shared, host| {
            let cost = shared.verification_cost(&msg.body);
            if cost == SimDuration::ZERO {
                replica.handle(from, msg.body, shared, host);
            } else {
                host.run_cpu(cost, CpuJob::Receive { from, body: msg.body });
            }
        });
    }

    /// A replica timer fired at `node`.
    pub fn on_timer<P: Hosts, A: Application>(
        &mut self,
        node: NodeId,
        timer: Timer,
        ctx: &mut Context<'_, P>,
        app: &mut A,
    ) {
        self.at_replica(node, ctx, app, |_, replica, shared, host| match timer {
            Timer::Batch { generation } => replica.on_batch_timer(generation, shared, host),
            Timer::ViewChange { generation } => replica.on_view_change_timer(generation, shared, host),
            Timer::Resend => replica.on_resend_timer(shared, host),
            Timer::Misbehave => {
                if replica.active && replica.is_primary_of(replica.view, shared) {
                    shared.primary_failed(replica.view, host.now());
                }
            }
        });
    }

    /// A replica's CPU job finished at `node`.
    pub fn on_cpu_done<P: Hosts, A: Application>(
        &mut self,
        node: NodeId,
        job: CpuJob,
        ctx: &mut Context<'_, P>,
        app: &mut A,
    ) {
        self.at_replica(node, ctx, app, |r, replica, shared, host| match job {
            CpuJob::Receive { from, body } => replica.handle(from, body, shared, host),
            CpuJob::Emit { to, body } => shared.transmit(r, to, body, host),
            CpuJob::Execute { seq, index } => replica.executed_request(seq, index as usize, shared, host),
        });
    }

    /// A replica's disk operation finished at `node`.
    pub fn on_disk_done<P: Hosts, A: Application>(
        &mut self,
        node: NodeId,
        job: DiskJob,
        ctx: &mut Context<'_, P>,
        app: &mut A,
    ) {
        self.at_replica(node, ctx, app, |_, replica, shared, host| match job {
            DiskJob::Persisted(body) => replica.emit(Targets::Replicas, body, shared, host),
            DiskJob::Fetch { seq } => replica.fetched(seq, shared, host),
        });
    }

    /// Member `node` crashed at `now`.
    pub fn on_crash(&mut self, node: NodeId, now: SimTime) {
        let Some(r) = self.replica_at(node) else { return };
        let replica = &mut self.replicas[r];
        if replica.active && replica.is_primary_of(replica.view, &self.shared) {
            self.shared.primary_failed(replica.view, now);
        }
        replica.crash();
    }

    /// Member `node` restarted.
    pub fn on_recover<P: Hosts, A: Application>(&mut self, node: NodeId, ctx: &mut Context<'_, P>, app: &mut A) {
        self.at_replica(node, ctx, app, |_, replica, shared, host| replica.recover(shared, host));
    }
}
