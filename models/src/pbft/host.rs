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
    /// outcome, which the replica sends back to the client (`None`: not known yet, see
    /// [`Application::execute`]).
    fn execute(&mut self, replica: u32, seq: Seq, request: &Request) -> Option<u64>;
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
    /// requests in the same order); returns the outcome replied to the client, or `None` when
    /// the outcome waits on requests ordered later (a lock held by another transaction): the
    /// outer protocol then answers through [`super::ReplicaGroup::answer`] once it is known.
    fn execute(&mut self, group: GroupId, replica: u32, seq: Seq, request: &Request, now: SimTime) -> Option<u64>;

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

/// The nodes of a group: replica `r` runs at `members[r]`; client slot `c` (local id `n + c`) is
/// one node (a client) or several (a committee of another group calling this one, whose members
/// share the slot's request numbers and each receive its replies), or none (requests the outer
/// protocol hands the group itself, [`super::ReplicaGroup::deliver`], which get no reply). A node
/// may be a client of several groups and a member of one.
#[derive(Clone, Debug)]
pub struct Membership {
    members: Vec<NodeId>,
    /// The nodes of every client slot, slot after slot.
    clients: Vec<NodeId>,
    /// Where each slot's nodes start in `clients`, and one past the last slot; empty when every
    /// slot is one node.
    slot_starts: Vec<u32>,
    /// (node, local id), sorted by node; empty when local ids are node ids.
    by_node: Vec<(NodeId, u32)>,
}

impl Membership {
    /// Replicas at `members` (in replica order) and one client at each of `clients`. A node has
    /// one place in a group: listing it twice is a programming error and panics.
    pub fn new(members: Vec<NodeId>, clients: Vec<NodeId>) -> Self {
        Self::build(members, clients, Vec::new())
    }

    /// Replicas at `members` and client slots of any number of nodes each.
    pub fn with_slots(members: Vec<NodeId>, slots: Vec<Vec<NodeId>>) -> Self {
        let mut starts = Vec::with_capacity(slots.len() + 1);
        let mut clients = Vec::new();
        for slot in slots {
            starts.push(clients.len() as u32);
            clients.extend(slot);
        }
        starts.push(clients.len() as u32);
        Self::build(members, clients, starts)
    }

    fn build(members: Vec<NodeId>, clients: Vec<NodeId>, slot_starts: Vec<u32>) -> Self {
        let n = members.len() as u32;
        let mut local_ids: Vec<u32> = (0..n).collect();
        if slot_starts.is_empty() {
            local_ids.extend((0..clients.len() as u32).map(|c| n + c));
        } else {
            for (slot, w) in slot_starts.windows(2).enumerate() {
                local_ids.extend(std::iter::repeat_n(n + slot as u32, (w[1] - w[0]) as usize));
            }
        }
        let nodes = members.iter().chain(&clients).copied();
        let identity = slot_starts.is_empty() && nodes.clone().enumerate().all(|(i, node)| node as usize == i);
        let mut by_node: Vec<(NodeId, u32)> = nodes.zip(local_ids).collect();
        by_node.sort_unstable();
        if let Some(twice) = by_node.windows(2).find(|w| w[0].0 == w[1].0) {
            panic!("node {} is listed twice in a replica group (as member or client)", twice[0].0);
        }
        if identity {
            by_node.clear();
        }
        Membership { members, clients, slot_starts, by_node }
    }

    /// Replicas.
    pub fn replicas(&self) -> u32 {
        self.members.len() as u32
    }

    /// Client slots.
    pub fn slots(&self) -> u32 {
        if self.slot_starts.is_empty() { self.clients.len() as u32 } else { self.slot_starts.len() as u32 - 1 }
    }

    /// The node of member `replica`.
    #[inline(always)]
    pub fn node(&self, replica: u32) -> NodeId {
        self.members[replica as usize]
    }

    /// The nodes of local id `local`: a replica's node, or a client slot's.
    #[inline(always)]
    pub fn nodes(&self, local: u32) -> &[NodeId] {
        let n = self.members.len();
        match (local as usize).checked_sub(n) {
            None => std::slice::from_ref(&self.members[local as usize]),
            Some(slot) if self.slot_starts.is_empty() => std::slice::from_ref(&self.clients[slot]),
            Some(slot) => &self.clients[self.slot_starts[slot] as usize..self.slot_starts[slot + 1] as usize],
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
        match self.nodes.nodes(to) {
            [node] => self.ctx.send(*node, P::wrap_message(self.group, msg)),
            nodes => {
                for &node in nodes {
                    self.ctx.send(node, P::wrap_message(self.group, msg.clone()));
                }
            }
        }
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
    fn execute(&mut self, replica: u32, seq: Seq, request: &Request) -> Option<u64> {
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
        assert_eq!((identity.nodes(5), identity.local(5), identity.local(6)), (&[5][..], Some(5), None));
        let spread = Membership::new(vec![20, 21, 22, 23], vec![10, 3]);
        assert_eq!((spread.node(0), spread.nodes(4), spread.nodes(5)), (20, &[10][..], &[3][..]));
        assert_eq!((spread.local(22), spread.local(3), spread.local(11)), (Some(2), Some(5), None));
        assert_eq!((spread.replica(21), spread.replica(10)), (Some(1), None));
    }

    #[test]
    fn a_client_slot_holds_a_committee_or_nobody() {
        let slots = Membership::with_slots(vec![0, 1, 2, 3], vec![vec![9], vec![4, 5, 6, 7], vec![]]);
        assert_eq!((slots.slots(), slots.nodes(5), slots.nodes(6)), (3, &[4, 5, 6, 7][..], &[][..]));
        assert_eq!((slots.local(6), slots.local(9), slots.local(8), slots.replica(6)), (Some(5), Some(4), None, None));
    }

    #[test]
    #[should_panic(expected = "node 3 is listed twice")]
    fn a_node_has_one_place_in_a_group() {
        Membership::new(vec![0, 1, 2, 3], vec![3]);
    }
}
