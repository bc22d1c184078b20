//! The interface between the engine and a protocol. A protocol is one value holding the state of
//! every node (plus any global observer, such as a safety checker); the engine calls its handlers
//! with the node an event happens at. Handlers never touch the event queue: they record effects
//! through a [`Context`], and the engine applies them after the handler returns, in recorded order.
//! This keeps protocols testable without an engine: build a context, call a handler, inspect
//! [`Effects`].

use rand_chacha::ChaCha8Rng;
use std::fmt;

use crate::rng::NodeStreams;
use crate::time::{SimDuration, SimTime};
use crate::timers::TimerTable;
use crate::topology::{NodeId, Topology};

/// A message that can cross the modelled network.
pub trait Message {
    /// Size on the wire in bytes (headers included), independent of its in-memory size. Asked
    /// several times while the message travels, so it must not change and should be cheap (a
    /// stored size): nothing else is kept per message.
    fn wire_bytes(&self) -> u64;
}

/// A protocol's behaviour at every node.
pub trait Protocol: Sized {
    /// Messages exchanged between nodes.
    type Msg: Message + fmt::Debug;
    /// Tags identifying timers.
    type Timer: fmt::Debug;
    /// Tags identifying CPU jobs.
    type CpuJob: fmt::Debug;
    /// Tags identifying disk operations.
    type DiskJob: fmt::Debug;

    /// Called for every node at time zero, in node order.
    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>);
    /// A message from `from` has been delivered to `node`.
    fn on_message(&mut self, node: NodeId, from: NodeId, msg: Self::Msg, ctx: &mut Context<'_, Self>);
    /// A timer set by `node` has fired.
    fn on_timer(&mut self, node: NodeId, timer: Self::Timer, ctx: &mut Context<'_, Self>);
    /// A CPU job of `node` has finished.
    fn on_cpu_done(&mut self, node: NodeId, job: Self::CpuJob, ctx: &mut Context<'_, Self>);
    /// A disk operation of `node` has finished.
    fn on_disk_done(&mut self, node: NodeId, job: Self::DiskJob, ctx: &mut Context<'_, Self>);
    /// `node` has crashed at `now`: its pending timers and jobs will not fire.
    fn on_crash(&mut self, _node: NodeId, _now: SimTime) {}
    /// `node` has restarted after a crash.
    fn on_recover(&mut self, _node: NodeId, _ctx: &mut Context<'_, Self>) {}
    /// `msg` will soon be delivered to `node`: a hint to start loading the state its handler
    /// reads. It must not change anything.
    fn prefetch_delivery(&self, _node: NodeId, _msg: &Self::Msg) {}
}

/// Identifies a timer so it can be cancelled. Ids are reused once a timer has fired or been
/// cancelled, but never match a later timer: cancelling with an old id does nothing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

/// An action requested by a handler.
pub enum Effect<P: Protocol> {
    /// Send `msg` to `to` over the network.
    Send {
        /// Receiver.
        to: NodeId,
        /// The message.
        msg: P::Msg,
    },
    /// Fire `timer` after `after`.
    SetTimer {
        /// Identifier returned to the handler.
        id: TimerId,
        /// Delay from now.
        after: SimDuration,
        /// The tag passed back to `on_timer`.
        timer: P::Timer,
    },
    /// Cancel a pending timer (no effect if it already fired).
    CancelTimer(TimerId),
    /// Run `job` for `duration` on one of the node's cores.
    Cpu {
        /// Core time needed.
        duration: SimDuration,
        /// The tag passed back to `on_cpu_done`.
        job: P::CpuJob,
    },
    /// Read `bytes` from the node's disk.
    DiskRead {
        /// Bytes to read.
        bytes: u64,
        /// The tag passed back to `on_disk_done`.
        job: P::DiskJob,
    },
    /// Write `bytes` to the node's disk.
    DiskWrite {
        /// Bytes to write.
        bytes: u64,
        /// The tag passed back to `on_disk_done`.
        job: P::DiskJob,
    },
}

impl<P: Protocol> fmt::Debug for Effect<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Send { to, msg } => write!(f, "Send {{ to: {to}, msg: {msg:?} }}"),
            Effect::SetTimer { id, after, timer } => {
                write!(f, "SetTimer {{ id: {id:?}, after: {after}, timer: {timer:?} }}")
            }
            Effect::CancelTimer(id) => write!(f, "CancelTimer({id:?})"),
            Effect::Cpu { duration, job } => write!(f, "Cpu {{ duration: {duration}, job: {job:?} }}"),
            Effect::DiskRead { bytes, job } => write!(f, "DiskRead {{ bytes: {bytes}, job: {job:?} }}"),
            Effect::DiskWrite { bytes, job } => write!(f, "DiskWrite {{ bytes: {bytes}, job: {job:?} }}"),
        }
    }
}

/// The effects recorded by handlers, plus the state that outlives a single handler call.
pub struct Effects<P: Protocol> {
    list: Vec<Effect<P>>,
    timers: TimerTable,
    finished: bool,
}

impl<P: Protocol> Default for Effects<P> {
    fn default() -> Self {
        Effects { list: Vec::new(), timers: TimerTable::default(), finished: false }
    }
}

impl<P: Protocol> Effects<P> {
    /// Removes and yields the recorded effects, keeping the buffer's capacity.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Effect<P>> {
        self.list.drain(..)
    }

    /// Whether a handler has declared the run finished.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// The engine's access to the pending timers.
    pub(crate) fn timers(&mut self) -> &mut TimerTable {
        &mut self.timers
    }

    /// The engine's access to the buffer, to apply effects without reallocating it.
    pub(crate) fn buffer(&mut self) -> &mut Vec<Effect<P>> {
        &mut self.list
    }
}

/// What a handler may see and do.
pub struct Context<'a, P: Protocol> {
    now: SimTime,
    node: NodeId,
    topology: &'a Topology,
    /// Every node's protocol stream; the shared generator moves to this node's only when it draws.
    streams: &'a mut NodeStreams,
    effects: &'a mut Effects<P>,
}

impl<'a, P: Protocol> Context<'a, P> {
    /// A context for a handler of `node` at `now`; `streams` holds the protocol stream of every
    /// node.
    pub fn new(
        now: SimTime,
        node: NodeId,
        topology: &'a Topology,
        streams: &'a mut NodeStreams,
        effects: &'a mut Effects<P>,
    ) -> Self {
        Context { now, node, topology, streams, effects }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The node the handler runs at.
    #[inline]
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The node's peers in the topology, ascending.
    #[inline]
    pub fn peers(&self) -> &'a [NodeId] {
        self.topology.neighbours(self.node)
    }

    /// The whole peer graph.
    pub fn topology(&self) -> &'a Topology {
        self.topology
    }

    /// This node's protocol random stream.
    #[inline]
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.streams.get(self.node as usize)
    }

    /// Sends `msg` to `to`.
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: P::Msg) {
        self.effects.list.push(Effect::Send { to, msg });
    }

    /// Sets a timer that fires `after` from now with `timer`.
    pub fn set_timer(&mut self, after: SimDuration, timer: P::Timer) -> TimerId {
        let id = self.effects.timers.reserve();
        self.effects.list.push(Effect::SetTimer { id, after, timer });
        id
    }

    /// Cancels a timer; harmless if it has fired already.
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.effects.list.push(Effect::CancelTimer(id));
    }

    /// Runs `job` for `duration` of core time; `on_cpu_done` follows.
    pub fn run_cpu(&mut self, duration: SimDuration, job: P::CpuJob) {
        self.effects.list.push(Effect::Cpu { duration, job });
    }

    /// Reads `bytes` from disk; `on_disk_done` follows.
    pub fn disk_read(&mut self, bytes: u64, job: P::DiskJob) {
        self.effects.list.push(Effect::DiskRead { bytes, job });
    }

    /// Writes `bytes` to disk; `on_disk_done` follows.
    pub fn disk_write(&mut self, bytes: u64, job: P::DiskJob) {
        self.effects.list.push(Effect::DiskWrite { bytes, job });
    }

    /// Declares the run complete: the engine stops after this event.
    pub fn finish(&mut self) {
        self.effects.finished = true;
    }
}
