//! The network model against values derived by hand and against queueing theory.

mod common;

use common::*;
use simulator::config::Contention::{self, FairShare, Fifo};
use simulator::sampling::standard_exponential;
use simulator::units::Bandwidth;
use simulator::{Context, Message, NodeId, Protocol, SimDuration, SimTime};

const MS: u64 = 1_000_000;

/// S·8/U in nanoseconds for `bytes` over `bps`, exactly.
fn tx(bytes: u64, bps: u64) -> u64 {
    bytes * 8 * 1_000_000_000 / bps
}

#[test]
fn uncontended_hop_is_exact_to_the_nanosecond() {
    let latency = SimDuration(7 * MS + 3);
    let bytes = 1_000_003;
    for contention in [Fifo, FairShare] {
        // Uplink is the bottleneck, then the downlink.
        for (up, down) in [(10_000_000u64, 40_000_000u64), (50_000_000, 8_000_000), (12_000_000, 12_000_000)] {
            let config = network(2, Bandwidth::BitsPerSec(up), Bandwidth::BitsPerSec(down), contention, latency);
            let t0 = 5 * MS;
            let times = delivery_times(&config, vec![send(t0, 0, 1, bytes)]);
            let expected = t0 + (bytes * 8 * 1_000_000_000).div_ceil(up.min(down)) + latency.0;
            assert_eq!(times, vec![expected], "{contention:?} up {up} down {down}");
        }
    }
}

#[test]
fn fifo_uplink_serialises_in_send_order() {
    let (s, u, l) = (125_000u64, 10_000_000u64, 20 * MS);
    let config = network(3, Bandwidth::BitsPerSec(u), mbps(100), Fifo, SimDuration(l));
    let times = delivery_times(&config, vec![send(0, 0, 1, s), send(0, 0, 2, s)]);
    assert_eq!(times, vec![tx(s, u) + l, 2 * tx(s, u) + l]);
}

#[test]
fn fair_share_uplink_finishes_concurrent_transfers_together() {
    let (s, u, l) = (125_000u64, 10_000_000u64, 20 * MS);
    let config = network(3, Bandwidth::BitsPerSec(u), mbps(100), FairShare, SimDuration(l));
    let times = delivery_times(&config, vec![send(0, 0, 1, s), send(0, 0, 2, s)]);
    assert_eq!(times, vec![2 * tx(s, u) + l, 2 * tx(s, u) + l]);
}

#[test]
fn downlink_bottleneck_under_both_policies() {
    let (s, d, l) = (125_000u64, 10_000_000u64, 20 * MS);
    let fifo = network(3, mbps(100), Bandwidth::BitsPerSec(d), Fifo, SimDuration(l));
    let plan = vec![send(0, 0, 2, s), send(0, 1, 2, s)];
    assert_eq!(delivery_times(&fifo, plan.clone()), vec![l + tx(s, d), l + 2 * tx(s, d)]);
    let fair = network(3, mbps(100), Bandwidth::BitsPerSec(d), FairShare, SimDuration(l));
    assert_eq!(delivery_times(&fair, plan), vec![l + 2 * tx(s, d), l + 2 * tx(s, d)]);
}

#[test]
fn fair_share_rerates_when_a_transfer_joins_late() {
    // Two transfers on one 8 Mbps uplink; the second starts halfway through the first.
    // First: 0.5 s alone (half done), then shares: remaining 0.5 MB at 4 Mbps = 1 s, done at 1.5 s.
    // Second: 1 MB, 0.5 MB sent by 1.5 s at 4 Mbps, then alone at 8 Mbps for 0.5 s: done at 2 s.
    let s = 1_000_000u64;
    let config = network(3, mbps(8), mbps(1000), FairShare, SimDuration::ZERO);
    let times = delivery_times(&config, vec![send(0, 0, 1, s), send(500 * MS, 0, 2, s)]);
    assert_eq!(times, vec![1500 * MS, 2000 * MS]);
}

#[test]
fn messages_up_to_the_unqueued_size_skip_busy_links_and_delay_nothing() {
    let (big, small, l) = (125_000u64, 1_500u64, 20 * MS);
    let (u, d) = (10_000_000u64, 100_000_000u64);
    for contention in [Fifo, FairShare] {
        let mut config = network(3, Bandwidth::BitsPerSec(u), Bandwidth::BitsPerSec(d), contention, SimDuration(l));
        // A large transfer holds the uplink when a small message and a second large one follow.
        let plan = vec![send(0, 0, 1, big), send(MS, 0, 2, small), send(MS, 0, 2, small + 1)];
        let queued = delivery_times(&config, plan.clone());
        config.unqueued_up_to = simulator::units::ByteSize(small);
        let unqueued = delivery_times(&config, plan);
        assert_eq!(unqueued[1], MS + tx(small, u) + l, "{contention:?}: uncontended time");
        assert!(queued[1] > unqueued[1], "{contention:?}: queued, the small message waits");
        // The large transfer no longer shares its uplink with the small message (FairShare); the
        // message one byte over the size still queues.
        assert_eq!(unqueued[0], queued[0] - if contention == FairShare { tx(small, u) } else { 0 });
        assert!(unqueued[2] > MS + tx(small + 1, u) + l, "{contention:?}: one byte over queues");
    }
}

#[test]
fn unlimited_links_cost_only_latency() {
    for contention in [Fifo, FairShare] {
        let config = network(2, Bandwidth::Unlimited, Bandwidth::Unlimited, contention, SimDuration(3 * MS));
        assert_eq!(delivery_times(&config, vec![send(MS, 0, 1, 1 << 30)]), vec![4 * MS]);
    }
}

/// Poisson arrivals of exponentially sized messages from node 0 to node 1.
struct Poisson {
    rate_per_sec: f64,
    mean_bytes: f64,
    remaining: u32,
    sojourn_sum_ns: u128,
    delivered: u64,
}

#[derive(Debug)]
struct Sized(u64, SimTime);

impl Message for Sized {
    fn wire_bytes(&self) -> u64 {
        self.0
    }
}

fn exponential(ctx: &mut Context<'_, Poisson>, mean: f64) -> f64 {
    standard_exponential(ctx.rng()) * mean
}

impl Poisson {
    fn schedule_next(&mut self, ctx: &mut Context<'_, Self>) {
        let gap = exponential(ctx, 1.0 / self.rate_per_sec);
        ctx.set_timer(SimDuration::from_secs_f64_rounded(gap), ());
    }
}

impl Protocol for Poisson {
    type Msg = Sized;
    type Timer = ();
    type CpuJob = ();
    type DiskJob = ();

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        if node == 0 {
            self.schedule_next(ctx);
        }
    }
    fn on_message(&mut self, _: NodeId, _: NodeId, msg: Sized, ctx: &mut Context<'_, Self>) {
        self.sojourn_sum_ns += u128::from(ctx.now().since(msg.1).0);
        self.delivered += 1;
    }
    fn on_timer(&mut self, _: NodeId, _: (), ctx: &mut Context<'_, Self>) {
        let bytes = exponential(ctx, self.mean_bytes).round().max(1.0) as u64;
        ctx.send(1, Sized(bytes, ctx.now()));
        self.remaining -= 1;
        if self.remaining > 0 {
            self.schedule_next(ctx);
        }
    }
    fn on_cpu_done(&mut self, _: NodeId, _: (), _: &mut Context<'_, Self>) {}
    fn on_disk_done(&mut self, _: NodeId, _: (), _: &mut Context<'_, Self>) {}
}

/// Mean sojourn (send to delivery) in seconds of an M/M/1 queue formed by node 0's uplink.
fn mm1_mean_sojourn(contention: Contention, rho: f64, messages: u32) -> f64 {
    // Service rate μ = 1000 messages/s: mean size 100 kB over 800 Mbps.
    let config = network(2, mbps(800), Bandwidth::Unlimited, contention, SimDuration::ZERO);
    let protocol = Poisson {
        rate_per_sec: rho * 1000.0,
        mean_bytes: 100_000.0,
        remaining: messages,
        sojourn_sum_ns: 0,
        delivered: 0,
    };
    let (done, _) = run(&config, protocol, 2024);
    assert_eq!(done.delivered, u64::from(messages));
    done.sojourn_sum_ns as f64 / 1e9 / done.delivered as f64
}

#[test]
fn mm1_mean_sojourn_matches_theory() {
    // 1/(μ−λ); the sample sizes keep the standard error of the mean below 1 %.
    for contention in [Fifo, FairShare] {
        for (rho, messages) in [(0.5, 200_000), (0.8, 1_000_000)] {
            let theory = 1.0 / (1000.0 - rho * 1000.0);
            let measured = mm1_mean_sojourn(contention, rho, messages);
            let error = (measured - theory).abs() / theory;
            assert!(
                error < 0.03,
                "{contention:?} ρ={rho}: measured {measured:.6} s, theory {theory:.6} s ({:.2} %)",
                error * 100.0
            );
        }
    }
}

#[test]
fn fair_share_against_exact_max_min_on_a_small_asymmetric_case() {
    // Node 0 (10 Mbps up) sends 1 MB to node 1 (100 Mbps down) and to node 2 (2 Mbps down).
    // Exact max-min: 0→2 is held to 2 Mbps by its downlink and 0→1 gets the remaining 8 Mbps,
    // so they finish at 1.0 s and 4.0 s. FairShare splits the uplink 5/5 regardless, so 0→1 finishes
    // at 1.6 s; 0→2 is still limited by its downlink and finishes at the exact 4.0 s.
    let mut config = network(3, mbps(10), mbps(100), FairShare, SimDuration::ZERO);
    config.validate().unwrap();
    let capacities_down = [mbps(100), mbps(100), mbps(2)];
    let plan = vec![send(0, 0, 1, 1_000_000), send(0, 0, 2, 1_000_000)];
    let times = delivery_times_with_downlinks(&mut config, &capacities_down, plan);
    assert_eq!(times, vec![1600 * MS, 4000 * MS]);
}

/// Like `delivery_times`, with a downlink capacity per node.
fn delivery_times_with_downlinks(
    config: &mut simulator::config::NetworkConfig,
    downlinks: &[Bandwidth],
    plan: Vec<PlannedSend>,
) -> Vec<u64> {
    use simulator::network::{LinkCapacities, NetworkSetup};
    use simulator::{Limits, Simulation, World};
    let n = plan.len();
    let mut world = World::build(config, 1, std::path::Path::new(".")).unwrap();
    let capacities = LinkCapacities::new(downlinks.iter().map(|&download| (config.bandwidth.upload, download)));
    let latency = simulator::latency::LatencyModel::build(&config.latency, config.nodes, 1);
    world.network = NetworkSetup {
        capacities,
        contention: config.contention,
        unqueued_up_to: config.unqueued_up_to.bytes(),
        latency,
        seed: 1,
    };
    let (done, _) = Simulation::new(Scripted { plan, deliveries: Vec::new() }, world, 1, Limits::default()).run();
    let mut times = vec![u64::MAX; n];
    for d in done.deliveries {
        times[d.id as usize] = d.at.0;
    }
    times
}
