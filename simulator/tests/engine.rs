//! The engine with toy protocols: event order, timers, CPU and disk completions, crashes,
//! partitions, loss, stop conditions and determinism.

mod common;

use common::*;
use simulator::config::{Contention, CrashConfig, LatencyConfig, LinkLoss, NodeSet, PartitionConfig};
use simulator::units::Bandwidth;
use simulator::{
    Context, Effect, Effects, Limits, Message, NodeId, Protocol, SimDuration, SimTime, StopReason, TimerId, Topology,
};

const MS: u64 = 1_000_000;

/// Two nodes bounce a counter until it reaches `rounds`; every node also runs the scripted
/// CPU / disk / timer jobs it is given at start.
#[derive(Default)]
struct PingPong {
    rounds: u32,
    received: Vec<(NodeId, u32, SimTime)>,
    timer_fired: Vec<(NodeId, u32, SimTime)>,
    cpu_done: Vec<(u32, SimTime)>,
    disk_done: Vec<(u32, SimTime)>,
    cancel_second_timer: bool,
    jobs_at_start: bool,
}

#[derive(Debug)]
struct Ball(u32);

impl Message for Ball {
    fn wire_bytes(&self) -> u64 {
        100
    }
}

#[derive(Debug)]
enum Job {
    Cpu(u32),
    Disk(u32),
}

impl Protocol for PingPong {
    type Msg = Ball;
    type Timer = u32;
    type CpuJob = Job;
    type DiskJob = Job;

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        if node == 0 {
            ctx.send(1, Ball(1));
            let first = ctx.set_timer(SimDuration(10 * MS), 1);
            let second = ctx.set_timer(SimDuration(20 * MS), 2);
            assert_ne!(first, second);
            if self.cancel_second_timer {
                ctx.cancel_timer(second);
            }
            if self.jobs_at_start {
                for (i, ms) in [10, 20, 30].into_iter().enumerate() {
                    ctx.run_cpu(SimDuration(ms * MS), Job::Cpu(i as u32));
                }
                ctx.disk_write(1_000, Job::Disk(0));
                ctx.disk_read(0, Job::Disk(1));
            }
        }
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, ball: Ball, ctx: &mut Context<'_, Self>) {
        self.received.push((node, ball.0, ctx.now()));
        if ball.0 < self.rounds {
            ctx.send(from, Ball(ball.0 + 1));
        } else {
            ctx.finish();
        }
    }

    fn on_timer(&mut self, node: NodeId, timer: u32, ctx: &mut Context<'_, Self>) {
        self.timer_fired.push((node, timer, ctx.now()));
    }

    fn on_cpu_done(&mut self, _: NodeId, job: Job, ctx: &mut Context<'_, Self>) {
        if let Job::Cpu(i) = job {
            self.cpu_done.push((i, ctx.now()));
        }
    }

    fn on_disk_done(&mut self, _: NodeId, job: Job, ctx: &mut Context<'_, Self>) {
        if let Job::Disk(i) = job {
            self.disk_done.push((i, ctx.now()));
        }
    }
}

fn quiet_net(latency_ms: u64) -> simulator::config::NetworkConfig {
    network(2, Bandwidth::Unlimited, Bandwidth::Unlimited, Contention::Fifo, SimDuration(latency_ms * MS))
}

#[test]
fn ping_pong_takes_one_latency_per_hop_and_finish_stops_the_run() {
    let (p, stats) = run(&quiet_net(5), PingPong { rounds: 10, ..Default::default() }, 1);
    assert_eq!(p.received.len(), 10);
    assert_eq!(p.received.last(), Some(&(0, 10, SimTime(50 * MS))));
    assert_eq!(stats.stop, StopReason::Finished);
    assert_eq!(stats.end_time, SimTime(50 * MS));
    assert_eq!(stats.total(|c| c.messages_sent), 10);
    assert_eq!(stats.total(|c| c.bytes_received), 1_000);
}

#[test]
fn cancelled_timers_never_fire() {
    let (p, _) = run(&quiet_net(5), PingPong { rounds: 100, cancel_second_timer: true, ..Default::default() }, 1);
    assert_eq!(p.timer_fired, vec![(0, 1, SimTime(10 * MS))]);
    let (p, _) = run(&quiet_net(5), PingPong { rounds: 100, ..Default::default() }, 1);
    assert_eq!(p.timer_fired.len(), 2);
}

#[test]
fn cpu_and_disk_completions_come_back_at_modelled_times() {
    let mut config = quiet_net(1);
    config.cpu.cores = 2;
    config.disk.write_latency = SimDuration(2 * MS);
    config.disk.write_throughput = simulator::units::Throughput::BytesPerSec(500_000);
    config.disk.read_latency = SimDuration(MS);
    let limits = Limits { time: Some(SimTime(100 * MS)), events: None };
    let (p, stats) =
        run_limited(&config, PingPong { rounds: u32::MAX, jobs_at_start: true, ..Default::default() }, 1, limits);
    assert_eq!(p.cpu_done, vec![(0, SimTime(10 * MS)), (1, SimTime(20 * MS)), (2, SimTime(40 * MS))]);
    // Write: 2 ms + 1000 B at 500 kB/s = 4 ms; the read queues behind it: +1 ms.
    assert_eq!(p.disk_done, vec![(0, SimTime(4 * MS)), (1, SimTime(5 * MS))]);
    assert_eq!(stats.nodes[0].cpu_busy_ns, 60 * MS);
    assert_eq!(stats.nodes[0].disk_busy_ns, 5 * MS);
}

#[test]
fn time_limit_and_event_budget_stop_the_run() {
    let limits = Limits { time: Some(SimTime(22 * MS)), events: None };
    let (p, stats) = run_limited(&quiet_net(5), PingPong { rounds: 100, ..Default::default() }, 1, limits);
    assert_eq!(stats.stop, StopReason::TimeLimit);
    assert_eq!(stats.end_time, SimTime(22 * MS));
    assert_eq!(p.received.len(), 4);
    let limits = Limits { time: None, events: Some(7) };
    let (_, stats) = run_limited(&quiet_net(5), PingPong { rounds: 100, ..Default::default() }, 1, limits);
    assert_eq!((stats.stop, stats.events), (StopReason::EventBudget, 7));
}

#[test]
fn a_delivery_due_as_its_last_bit_arrives_is_an_event_like_any_other() {
    // FairShare over 8 Mbit/s links: 1,000 bytes take 1 ms on each link, and the delivery falls
    // due when the downlink finishes, at 1 + 5 ms; then a second message follows.
    let config = network(2, mbps(8), mbps(8), Contention::FairShare, SimDuration(5 * MS));
    let plan = vec![send(0, 0, 1, 1_000), send(20 * MS, 1, 0, 1_000)];
    let scripted = || Scripted { plan: plan.clone(), deliveries: Vec::new() };
    let (done, full) = run(&config, scripted(), 1);
    let times: Vec<u64> = done.deliveries.iter().map(|d| d.at.0).collect();
    assert_eq!(times, vec![6 * MS, 26 * MS]);
    assert_eq!(full.stop, StopReason::Quiescent);
    // Two starts, then per message a timer, arrival, uplink and downlink finish, delivery.
    assert_eq!(full.events, 12);
    // One event short, the last delivery is still pending: the budget ran out, not the work.
    let limits = Limits { time: None, events: Some(full.events - 1) };
    let (short, stats) = run_limited(&config, scripted(), 1, limits);
    assert_eq!((stats.stop, short.deliveries.len()), (StopReason::EventBudget, 1));
    let limits = Limits { time: None, events: Some(full.events) };
    let (_, stats) = run_limited(&config, scripted(), 1, limits);
    assert_eq!((stats.stop, stats.digest), (StopReason::Quiescent, full.digest));
}

#[test]
fn crashed_node_receives_nothing_and_loses_its_timers() {
    let mut config = quiet_net(5);
    // Node 1 is down from 12 ms to 30 ms: the ball sent at 10 ms arrives at 15 ms and is dropped.
    config.faults.crashes =
        vec![CrashConfig { node: 1, at: SimDuration(12 * MS), recover: Some(SimDuration(30 * MS)) }];
    let (p, stats) = run(&config, PingPong { rounds: 100, ..Default::default() }, 1);
    assert_eq!(p.received.len(), 2);
    assert!(p.received.iter().all(|&(_, _, t)| t < SimTime(12 * MS)));
    assert_eq!(stats.nodes[1].messages_dropped, 1);
    assert_eq!(stats.stop, StopReason::Quiescent);

    // Node 0 crashes after setting its timers and recovers before they are due: they stay void.
    config.faults.crashes = vec![CrashConfig { node: 0, at: SimDuration(MS), recover: Some(SimDuration(2 * MS)) }];
    let (p, _) = run(&config, PingPong { rounds: 100, ..Default::default() }, 1);
    assert!(p.timer_fired.is_empty());
}

#[test]
fn partitions_and_loss_drop_messages() {
    let mut config = quiet_net(5);
    config.faults.partitions = vec![PartitionConfig {
        from: SimDuration(12 * MS),
        until: Some(SimDuration(40 * MS)),
        nodes: NodeSet::Nodes(vec![1]),
    }];
    let (p, stats) = run(&config, PingPong { rounds: 100, ..Default::default() }, 1);
    assert_eq!(p.received.len(), 2);
    assert_eq!(stats.nodes[1].messages_dropped, 1);

    let mut lossy = quiet_net(5);
    lossy.link_loss = vec![LinkLoss { a: 1, b: 0, probability: 1.0 }];
    let (p, stats) = run(&lossy, PingPong { rounds: 100, ..Default::default() }, 1);
    assert!(p.received.is_empty());
    assert_eq!(stats.nodes[1].messages_dropped, 1);
}

#[test]
fn same_seed_same_digest_other_seed_other_digest() {
    let mut config = network(6, mbps(10), mbps(20), Contention::FairShare, SimDuration::ZERO);
    config.latency = LatencyConfig::LogNormal { median: SimDuration(30 * MS), sigma: 0.7 };
    let plan: Vec<PlannedSend> =
        (0..60).map(|i| send(u64::from(i) * 3 * MS, i % 6, (i * 7 + 1) % 6, 10_000 + u64::from(i) * 100)).collect();
    let plan: Vec<PlannedSend> = plan.into_iter().filter(|p| p.from != p.to).collect();
    let go = |seed| run(&config, Scripted { plan: plan.clone(), deliveries: Vec::new() }, seed);
    let (a, stats_a) = go(11);
    let (b, stats_b) = go(11);
    let (_, stats_c) = go(12);
    assert_eq!(a.deliveries, b.deliveries);
    assert_eq!(stats_a, stats_b);
    assert_ne!(stats_a.digest, stats_c.digest);
}

#[test]
fn handlers_are_testable_without_an_engine() {
    let topology = Topology::complete(2);
    let mut rng = simulator::rng::NodeStreams::new(1, simulator::rng::Purpose::Protocol, 2);
    let mut effects = Effects::default();
    let mut protocol = PingPong { rounds: 3, ..Default::default() };
    let mut ctx = Context::new(SimTime(5), 1, &topology, &mut rng, &mut effects);
    protocol.on_message(1, 0, Ball(1), &mut ctx);
    assert_eq!(ctx.peers(), &[0]);
    let recorded: Vec<_> = effects.drain().collect();
    assert!(matches!(recorded.as_slice(), [Effect::Send { to: 0, msg: Ball(2) }]), "{recorded:?}");
    let mut ctx = Context::new(SimTime(5), 0, &topology, &mut rng, &mut effects);
    assert_eq!(ctx.set_timer(SimDuration(1), 9), TimerId(0));
}
