//! Roles give groups of nodes their own machines and place: cores, disks, links and region.

use std::path::Path;

use simulator::config::{BandwidthConfig, CpuConfig, Jitter, LatencyConfig, NetworkConfig};
use simulator::disk::{DiskConfig, DiskOp};
use simulator::latency::apportion;
use simulator::presets::preset;
use simulator::rng::{Purpose, stream};
use simulator::roles::{RoleConfig, RoleNodes};
use simulator::units::{Bandwidth, Throughput};
use simulator::{SimDuration, SimTime, World};

fn role(name: &str, nodes: RoleNodes) -> RoleConfig {
    RoleConfig::new(name, nodes)
}

fn network(nodes: u32, roles: Vec<RoleConfig>) -> NetworkConfig {
    let mut config = preset("bitcoin-2019").unwrap();
    config.nodes = nodes;
    config.cpu = CpuConfig { cores: 4 };
    config.roles = roles;
    config.validate().unwrap_or_else(|e| panic!("{e}"));
    config
}

#[test]
fn a_role_s_cores_disk_and_links_are_its_own() {
    let mbps = |m: u64| Bandwidth::BitsPerSec(m * 1_000_000);
    let single = RoleConfig { cpu: Some(CpuConfig { cores: 1 }), ..role("single", RoleNodes::Count(2)) };
    let eight = RoleConfig {
        cpu: Some(CpuConfig { cores: 8 }),
        disk: Some(DiskConfig { write_throughput: Throughput::BytesPerSec(1_000_000), ..DiskConfig::default() }),
        bandwidth: Some(BandwidthConfig { upload: mbps(1_000), download: mbps(2_000) }),
        ..role("eight", RoleNodes::Nodes(vec![30, 31]))
    };
    let config = network(40, vec![single, eight]);
    let mut world = World::build(&config, 1, Path::new(".")).unwrap();
    let ms = SimDuration::from_millis;
    // Eight 10 ms jobs at once: one core runs them one after another; eight cores all at once;
    // a node in no role has the network's four cores.
    let finish = |world: &mut World, node: usize| -> Vec<u64> {
        (0..8).map(|_| world.cpus.submit(node, SimTime::ZERO, ms(10)).0 / 1_000_000).collect()
    };
    assert_eq!(finish(&mut world, 1), [10, 20, 30, 40, 50, 60, 70, 80]);
    assert_eq!(finish(&mut world, 31), [10; 8]);
    assert_eq!(finish(&mut world, 5), [10, 10, 10, 10, 20, 20, 20, 20]);
    // A 1 MB write: 100 µs + 1 s on the role's disk, 100 µs + 1/300 s (rounded up to the ns) on
    // the default one.
    assert_eq!(world.disks.submit(30, SimTime::ZERO, DiskOp::Write, 1_000_000), SimTime(1_000_100_000));
    assert_eq!(world.disks.submit(5, SimTime::ZERO, DiskOp::Write, 1_000_000), SimTime(3_433_334));
    let caps = &world.network.capacities;
    assert_eq!((caps.upload(30), caps.download(31)), (mbps(1_000), mbps(2_000)));
    let region_of = world.network.latency.regions().unwrap();
    let LatencyConfig::Regions(regions) = &config.latency else { unreachable!() };
    let region = &regions.regions[usize::from(region_of[1])];
    assert_eq!((Some(caps.upload(1)), Some(caps.download(1))), (region.upload, region.download));
}

#[test]
fn a_role_pinned_to_a_region_gets_its_latencies() {
    let mut config =
        network(1_000, vec![RoleConfig { region: Some("AU".into()), ..role("au", RoleNodes::Range(0, 10)) }]);
    let LatencyConfig::Regions(regions) = &mut config.latency else { unreachable!() };
    regions.jitter = Jitter::None;
    let regions = regions.clone();
    let world = World::build(&config, 5, Path::new(".")).unwrap();
    let latency = &world.network.latency;
    let region_of = latency.regions().unwrap();
    let (au, eu) = (5, 1);
    assert!(region_of[..10].iter().all(|&r| usize::from(r) == au), "{:?}", &region_of[..10]);
    let mut rng = stream(5, Purpose::Latency, 0);
    let matrix = |from: usize, to: usize| SimDuration::from_secs_f64_rounded(regions.matrix_ms[from][to] / 1e3);
    assert_eq!(latency.sample(0, 9, &mut rng), matrix(au, au));
    let european = (10..1_000).find(|&n| usize::from(region_of[n]) == eu).unwrap() as u32;
    assert_eq!(latency.sample(3, european, &mut rng), matrix(au, eu));
    // The other 990 nodes are placed by the regions' shares.
    let shares: Vec<f64> = regions.regions.iter().map(|r| r.share).collect();
    let counts = apportion(990, &shares);
    for (r, &count) in counts.iter().enumerate() {
        assert_eq!(region_of[10..].iter().filter(|&&x| usize::from(x) == r).count() as u32, count);
    }
}

#[test]
fn without_roles_placement_is_unchanged_and_bad_roles_name_their_key() {
    let plain = network(500, Vec::new());
    let with_role = network(500, vec![role("any", RoleNodes::Count(3))]);
    let placed = |config: &NetworkConfig| {
        World::build(config, 9, Path::new(".")).unwrap().network.latency.regions().unwrap().to_vec()
    };
    assert_eq!(placed(&plain), placed(&with_role), "a role without a region moves no node");

    let error = |roles: Vec<RoleConfig>| {
        let mut config = network(40, Vec::new());
        config.roles = roles;
        config.validate().unwrap_err().to_string()
    };
    let overlap = error(vec![role("a", RoleNodes::Count(5)), role("b", RoleNodes::Range(4, 8))]);
    assert_eq!(overlap, "roles[1].nodes: node 4 is also in role `a` (roles[0]); a node has at most one role");
    let empty = error(vec![role("a", RoleNodes::Range(4, 4))]);
    assert!(empty.starts_with("roles[0].nodes: the role has no nodes"), "{empty}");
    let too_many = error(vec![role("a", RoleNodes::Count(35)), role("b", RoleNodes::Count(6))]);
    assert!(too_many.starts_with("roles[1].nodes: the counted roles up to this one need 41 nodes"), "{too_many}");
    let twice = error(vec![role("a", RoleNodes::Count(1)), role("a", RoleNodes::Count(1))]);
    assert!(twice.starts_with("roles[1].name: `a` is also the name of roles[0]"), "{twice}");
    let region = error(vec![RoleConfig { region: Some("Mars".into()), ..role("a", RoleNodes::Count(1)) }]);
    assert!(region.starts_with("roles[0].region: no region `Mars`") && region.contains("NA, EU"), "{region}");
    let cores = error(vec![RoleConfig { cpu: Some(CpuConfig { cores: 0 }), ..role("a", RoleNodes::Count(1)) }]);
    assert!(cores.starts_with("roles[0].cpu.cores: must be at least 1"), "{cores}");
}
