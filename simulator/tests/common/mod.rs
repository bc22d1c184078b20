//! A toy protocol independent of any model: nodes send scripted messages at scheduled times and
//! record every delivery, so engine and network behaviour can be checked directly.

#![allow(dead_code)] // Each test file uses a different part of this helper.

use std::path::Path;

use simulator::config::{
    BandwidthConfig, Contention, CpuConfig, FaultsConfig, LatencyConfig, NetworkConfig, TopologyConfig,
};
use simulator::disk::DiskConfig;
use simulator::units::Bandwidth;
use simulator::{Context, Limits, Message, NodeId, Protocol, RunStats, SimDuration, SimTime, Simulation, World};

/// A message of the toy protocol.
#[derive(Clone, Debug)]
pub struct ToyMsg {
    pub id: u32,
    pub bytes: u64,
    pub sent: SimTime,
}

impl Message for ToyMsg {
    fn wire_bytes(&self) -> u64 {
        self.bytes
    }
}

/// One scripted send.
#[derive(Clone, Debug)]
pub struct PlannedSend {
    pub at: SimTime,
    pub from: NodeId,
    pub to: NodeId,
    pub bytes: u64,
}

/// One observed delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: u32,
    pub to: NodeId,
    pub sent: SimTime,
    pub at: SimTime,
}

/// Sends the planned messages and records deliveries.
#[derive(Default)]
pub struct Scripted {
    pub plan: Vec<PlannedSend>,
    pub deliveries: Vec<Delivery>,
}

impl Protocol for Scripted {
    type Msg = ToyMsg;
    type Timer = u32;
    type CpuJob = ();
    type DiskJob = ();

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        for (i, p) in self.plan.iter().enumerate() {
            if p.from == node {
                ctx.set_timer(p.at.since(SimTime::ZERO), i as u32);
            }
        }
    }

    fn on_message(&mut self, node: NodeId, _from: NodeId, msg: ToyMsg, ctx: &mut Context<'_, Self>) {
        self.deliveries.push(Delivery { id: msg.id, to: node, sent: msg.sent, at: ctx.now() });
    }

    fn on_timer(&mut self, _node: NodeId, index: u32, ctx: &mut Context<'_, Self>) {
        let p = &self.plan[index as usize];
        ctx.send(p.to, ToyMsg { id: index, bytes: p.bytes, sent: ctx.now() });
    }

    fn on_cpu_done(&mut self, _: NodeId, _: (), _: &mut Context<'_, Self>) {}
    fn on_disk_done(&mut self, _: NodeId, _: (), _: &mut Context<'_, Self>) {}
}

/// A fully connected network with the same links everywhere and constant latency.
pub fn network(
    nodes: u32,
    upload: Bandwidth,
    download: Bandwidth,
    contention: Contention,
    latency: SimDuration,
) -> NetworkConfig {
    NetworkConfig {
        nodes,
        topology: TopologyConfig::Complete,
        bandwidth: BandwidthConfig { upload, download },
        contention,
        unqueued_up_to: Default::default(),
        latency: LatencyConfig::Constant(latency),
        loss: 0.0,
        link_loss: Vec::new(),
        cpu: CpuConfig::default(),
        disk: DiskConfig::default(),
        faults: FaultsConfig::default(),
        roles: Vec::new(),
    }
}

/// Runs protocol `protocol` on `config` with `seed` and no limits.
pub fn run<P: Protocol>(config: &NetworkConfig, protocol: P, seed: u64) -> (P, RunStats) {
    run_limited(config, protocol, seed, Limits::default())
}

/// Runs with limits.
pub fn run_limited<P: Protocol>(config: &NetworkConfig, protocol: P, seed: u64, limits: Limits) -> (P, RunStats) {
    config.validate().expect("test config is valid");
    let world = World::build(config, seed, Path::new(".")).expect("world builds");
    Simulation::new(protocol, world, seed, limits).run()
}

/// Delivery times of the scripted sends, by message index.
pub fn delivery_times(config: &NetworkConfig, plan: Vec<PlannedSend>) -> Vec<u64> {
    let n = plan.len();
    let (done, _) = run(config, Scripted { plan, deliveries: Vec::new() }, 1);
    let mut times = vec![u64::MAX; n];
    for d in done.deliveries {
        times[d.id as usize] = d.at.0;
    }
    times
}

pub fn mbps(n: u64) -> Bandwidth {
    Bandwidth::BitsPerSec(n * 1_000_000)
}

pub fn send(at: u64, from: NodeId, to: NodeId, bytes: u64) -> PlannedSend {
    PlannedSend { at: SimTime(at), from, to, bytes }
}
