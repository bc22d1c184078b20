//! How a replica group meets the simulation around it. Replica code talks to a [`Host`]: the
//! time, sends to *local ids* (replicas `0..n`, then the group's clients `n..`), timers, CPU and
//! disk jobs, and the application's callbacks. [`Scoped`] is the host of a group running inside
//! any outer protocol whose message, timer and job types carry PBFT's, tagged with the group
//! ([`Hosts`]): the mapping is static, so an outer protocol needs no dynamic typing.

use std::rc::Rc;

use simulator::{Context, NodeId, Protocol, SimDuration, SimTime, TimerId};

use super::messages::{Batch, Request, Seq, View, Wire};
use super::{CpuJob, DiskJob, Timer};

/// Tells the replica groups of one simulation apart.
pub type GroupId = u16;

/// What replica code may see and do.
pub trait Host {
    /// The current simulated time.
    fn now(&self) -> SimTime;
    /// Sends `msg` to the replica or client with local id `to`.
    fn send(&mut self, to: u32, msg: Wire);
    /// Sets a timer of the replica the handler runs at.
    fn set_timer(&mut self, after: SimDuration, timer: Timer) -> TimerId;
    /// Cancels a timer; harmless if it fired already.
    fn cancel_timer(&mut self, id: TimerId);
    /// Runs `job` on the replica's cores.
    fn run_cpu(&mut self, duration: SimDuration, job: CpuJob);
    /// Reads from the replica's disk.
    fn disk_read(&mut self, bytes: u64, job: DiskJob);
    /// Writes to the replica's disk.
    fn disk_write(&mut self, bytes: u64, job: DiskJob);
    /// Replica `replica` executes `request` of the batch committed at `seq`: the application's
    /// outcome, which the replica sends back to the client.
    fn execute(&mut self, replica: u32, seq: Seq, request: &Request) -> u64;
    /// The outcome of `request`, which `replica` executed before, for a client that asks again;
    /// `None` when the replica cannot tell it (then it does not answer).
    fn recall(&self, replica: u32, request: &Request) -> Option<u64>;
    /// Replica `replica` committed `batch` at `seq`: told in sequence order, null batches
    /// included, as each batch is about to execute (sequence numbers covered by a state transfer
    /// are skipped).
    fn committed(&mut self, replica: u32, seq: Seq, batch: &Rc<Batch>);
    /// Replica `replica` installed `view`.
    fn view_installed(&mut self, replica: u32, view: View);
}

/// The application a group orders requests for: it executes them and hears of every commit and
/// view change, at every replica.
pub trait Application {
    /// Executes `request` at `replica` of `group` (every correct replica executes the same
    /// requests in the same order); returns the outcome replied to the client.
    fn execute(&mut self, group: GroupId, replica: u32, seq: Seq, request: &Request, now: SimTime) -> u64;

    /// The outcome `replica` of `group` computed for `request` when it executed it, for a client
    /// that asks again (its reply was lost); `None` when the application keeps no record of it,
    /// and the replica then leaves the request unanswered.
    fn recall(&self, _group: GroupId, _replica: u32, _request: &Request) -> Option<u64> {
        None
    }

    /// `replica` of `group` committed `batch` at `seq` (in sequence order; see [`Host::committed`]).
    fn committed(&mut self, _group: GroupId, _replica: u32, _seq: Seq, _batch: &Batch, _now: SimTime) {}

    /// `replica` of `group` installed `view`.
    fn view_installed(&mut self, _group: GroupId, _replica: u32, _view: View, _now: SimTime) {}
}

/// An outer protocol that runs replica groups: each of its message, timer and job types carries
/// PBFT's, tagged with the group it belongs to.
pub trait Hosts: Protocol {
    /// A PBFT message of `group`.
    fn wrap_message(group: GroupId, msg: Wire) -> Self::Msg;
    /// A replica timer of `group`.
    fn wrap_timer(group: GroupId, timer: Timer) -> Self::Timer;
    /// A replica CPU job of `group`.
    fn wrap_cpu(group: GroupId, job: CpuJob) -> Self::CpuJob;
    /// A replica disk operation of `group`.
    fn wrap_disk(group: GroupId, job: DiskJob) -> Self::DiskJob;
}

/// The nodes of a group: replica `r` runs at `members[r]`, and client `c` (local id `n + c`) is
/// `clients[c]`. A node may be a client of several groups and a member of one.
#[derive(Clone, Debug)]
pub struct Membership {
    members: Vec<NodeId>,
    clients: Vec<NodeId>,
    /// (node, local id), sorted by node; empty when local ids are node ids.
    by_node: Vec<(NodeId, u32)>,
}

impl Membership {
    /// Replicas at `members` (in replica order) and clients at `clients`. A node has one place in
    /// a group: listing it twice is a programming error and panics.
    pub fn new(members: Vec<NodeId>, clients: Vec<NodeId>) -> Self {
        let identity = members.iter().chain(&clients).enumerate().all(|(i, &node)| node as usize == i);
        let mut by_node: Vec<(NodeId, u32)> = if identity {
            Vec::new()
        } else {
            members.iter().chain(&clients).enumerate().map(|(i, &node)| (node, i as u32)).collect()
        };
        by_node.sort_unstable();
        let mut nodes: Vec<NodeId> = members.iter().chain(&clients).copied().collect();
        nodes.sort_unstable();
        if let Some(twice) = nodes.windows(2).find(|w| w[0] == w[1]) {
            panic!("node {} is listed twice in a replica group (as member or client)", twice[0]);
        }
        Membership { members, clients, by_node }
    }

    /// The node of local id `local`.
    #[inline(always)]
    pub fn node(&self, local: u32) -> NodeId {
        if self.by_node.is_empty() {
            return local;
        }
        let n = self.members.len();
        match (local as usize).checked_sub(n) {
            None => self.members[local as usize],
            Some(client) => self.clients[client],
        }
    }

    /// The local id of `node`, if it belongs to the group.
    #[inline]
    pub fn local(&self, node: NodeId) -> Option<u32> {
        if self.by_node.is_empty() {
            return ((node as usize) < self.members.len() + self.clients.len()).then_some(node);
        }
        self.by_node.binary_search_by_key(&node, |&(n, _)| n).ok().map(|i| self.by_node[i].1)
    }

    /// The replica index of `node`, if it is a member.
    #[inline]
    pub fn replica(&self, node: NodeId) -> Option<u32> {
        self.local(node).filter(|&local| (local as usize) < self.members.len())
    }
}

/// The host of group `group` inside outer protocol `P` with application `A`.
pub struct Scoped<'s, 'a, P: Protocol, A> {
    /// The engine context of the handler.
    pub ctx: &'s mut Context<'a, P>,
    /// The application.
    pub app: &'s mut A,
    /// The group's nodes.
    pub nodes: &'s Membership,
    /// The group.
    pub group: GroupId,
}

impl<P: Hosts, A: Application> Host for Scoped<'_, '_, P, A> {
    #[inline(always)]
    fn now(&self) -> SimTime {
        self.ctx.now()
    }

    #[inline(always)]
    fn send(&mut self, to: u32, msg: Wire) {
        self.ctx.send(self.nodes.node(to), P::wrap_message(self.group, msg));
    }

    #[inline(always)]
    fn set_timer(&mut self, after: SimDuration, timer: Timer) -> TimerId {
        self.ctx.set_timer(after, P::wrap_timer(self.group, timer))
    }

    #[inline(always)]
    fn cancel_timer(&mut self, id: TimerId) {
        self.ctx.cancel_timer(id);
    }

    #[inline(always)]
    fn run_cpu(&mut self, duration: SimDuration, job: CpuJob) {
        self.ctx.run_cpu(duration, P::wrap_cpu(self.group, job));
    }

    #[inline(always)]
    fn disk_read(&mut self, bytes: u64, job: DiskJob) {
        self.ctx.disk_read(bytes, P::wrap_disk(self.group, job));
    }

    #[inline(always)]
    fn disk_write(&mut self, bytes: u64, job: DiskJob) {
        self.ctx.disk_write(bytes, P::wrap_disk(self.group, job));
    }

    #[inline(always)]
    fn execute(&mut self, replica: u32, seq: Seq, request: &Request) -> u64 {
        let now = self.ctx.now();
        self.app.execute(self.group, replica, seq, request, now)
    }

    #[inline(always)]
    fn recall(&self, replica: u32, request: &Request) -> Option<u64> {
        self.app.recall(self.group, replica, request)
    }

    #[inline(always)]
    fn committed(&mut self, replica: u32, seq: Seq, batch: &Rc<Batch>) {
        let now = self.ctx.now();
        self.app.committed(self.group, replica, seq, batch, now);
    }

    #[inline(always)]
    fn view_installed(&mut self, replica: u32, view: View) {
        let now = self.ctx.now();
        self.app.view_installed(self.group, replica, view, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_ids_map_to_nodes_both_ways() {
        let identity = Membership::new(vec![0, 1, 2, 3], vec![4, 5]);
        assert_eq!((identity.node(5), identity.local(5), identity.local(6)), (5, Some(5), None));
        let spread = Membership::new(vec![20, 21, 22, 23], vec![10, 3]);
        assert_eq!((spread.node(0), spread.node(4), spread.node(5)), (20, 10, 3));
        assert_eq!((spread.local(22), spread.local(3), spread.local(11)), (Some(2), Some(5), None));
        assert_eq!((spread.replica(21), spread.replica(10)), (Some(1), None));
    }

    #[test]
    #[should_panic(expected = "node 3 is listed twice")]
    fn a_node_has_one_place_in_a_group() {
        Membership::new(vec![0, 1, 2, 3], vec![3]);
    }
}
