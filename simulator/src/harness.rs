//! A test harness that calls a protocol's handlers directly, without an engine: each call runs
//! one handler at a given node and time and returns the effects it recorded (sends, timers, jobs)
//! in order, so a unit test can check a handler's decisions exactly. Random draws come from the
//! same per-node protocol streams a run uses; timer ids stay valid across calls.

use crate::protocol::{Context, Effect, Effects, Protocol};
use crate::rng::{NodeStreams, Purpose};
use crate::time::SimTime;
use crate::topology::{NodeId, Topology};

/// Calls handlers of protocol `P` on a fixed topology.
pub struct Harness<P: Protocol> {
    topology: Topology,
    streams: NodeStreams,
    effects: Effects<P>,
    now: SimTime,
}

impl<P: Protocol> Harness<P> {
    /// A harness on `topology`, drawing from the protocol streams of `seed`, at time zero.
    pub fn new(topology: Topology, seed: u64) -> Self {
        let nodes = topology.nodes() as usize;
        Harness {
            topology,
            streams: NodeStreams::new(seed, Purpose::Protocol, nodes),
            effects: Effects::default(),
            now: SimTime::ZERO,
        }
    }

    /// Sets the time the next handlers run at (it never goes back).
    pub fn at(&mut self, now: SimTime) -> &mut Self {
        assert!(now >= self.now, "handlers run in time order");
        self.now = now;
        self
    }

    /// Runs `handler` at `node` and returns the effects it recorded.
    pub fn call(&mut self, node: NodeId, handler: impl FnOnce(&mut Context<'_, P>)) -> Vec<Effect<P>> {
        let mut ctx = Context::new(self.now, node, &self.topology, &mut self.streams, &mut self.effects);
        handler(&mut ctx);
        self.effects.drain().collect()
    }

    /// `node` starts.
    pub fn start(&mut self, protocol: &mut P, node: NodeId) -> Vec<Effect<P>> {
        self.call(node, |ctx| protocol.on_start(node, ctx))
    }

    /// `msg` from `from` reaches `node`.
    pub fn message(&mut self, protocol: &mut P, node: NodeId, from: NodeId, msg: P::Msg) -> Vec<Effect<P>> {
        self.call(node, |ctx| protocol.on_message(node, from, msg, ctx))
    }

    /// A timer of `node` fires.
    pub fn timer(&mut self, protocol: &mut P, node: NodeId, timer: P::Timer) -> Vec<Effect<P>> {
        self.call(node, |ctx| protocol.on_timer(node, timer, ctx))
    }

    /// A CPU job of `node` finishes.
    pub fn cpu_done(&mut self, protocol: &mut P, node: NodeId, job: P::CpuJob) -> Vec<Effect<P>> {
        self.call(node, |ctx| protocol.on_cpu_done(node, job, ctx))
    }

    /// A disk operation of `node` finishes.
    pub fn disk_done(&mut self, protocol: &mut P, node: NodeId, job: P::DiskJob) -> Vec<Effect<P>> {
        self.call(node, |ctx| protocol.on_disk_done(node, job, ctx))
    }
}

/// The receivers of the sends among `effects`, in order.
pub fn receivers<P: Protocol>(effects: &[Effect<P>]) -> Vec<NodeId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, .. } => Some(*to),
            _ => None,
        })
        .collect()
}
