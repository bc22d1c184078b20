//! The Bitcoin network presets: region placement, per-region bandwidth, the outbound-degree peer
//! graph and the latency matrix.

use std::path::Path;

use simulator::config::{LatencyConfig, TopologyConfig};
use simulator::latency::apportion;
use simulator::presets::{NAMES, preset};
use simulator::rng::{Purpose, stream};
use simulator::topology::Topology;
use simulator::units::Bandwidth;
use simulator::{SimDuration, World};

#[test]
fn nodes_get_their_region_s_share_and_bandwidth() {
    for name in NAMES {
        let mut config = preset(name).unwrap();
        config.nodes = 2_000;
        let LatencyConfig::Regions(regions) = config.latency.clone() else { panic!("{name}: regions") };
        let world = World::build(&config, 7, Path::new(".")).unwrap();
        let setup = &world.network;
        let region_of = setup.latency.regions().expect("nodes are placed in regions");
        let shares: Vec<f64> = regions.regions.iter().map(|r| r.share).collect();
        let counts = apportion(2_000, &shares);
        for (r, region) in regions.regions.iter().enumerate() {
            let members: Vec<usize> = (0..2_000).filter(|&n| usize::from(region_of[n]) == r).collect();
            assert_eq!(members.len() as u32, counts[r], "{name} {}", region.name);
            for &n in &members {
                assert_eq!(Some(setup.capacities.upload(n as u32)), region.upload, "{name} node {n}");
                assert_eq!(Some(setup.capacities.download(n as u32)), region.download, "{name} node {n}");
            }
        }
    }
}

#[test]
fn the_2019_preset_carries_the_measured_values() {
    let config = preset("bitcoin-2019").unwrap();
    let LatencyConfig::Regions(regions) = &config.latency else { panic!("regions") };
    let names: Vec<&str> = regions.regions.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["NA", "EU", "SA", "AP", "JP", "AU"]);
    assert_eq!(regions.matrix_ms[1][3], 237.0);
    assert_eq!(regions.regions[0].upload, Some(Bandwidth::BitsPerSec(19_200_000)));
    assert_eq!(regions.regions[5].download, Some(Bandwidth::BitsPerSec(29_900_000)));
    assert_eq!(config.nodes, 1_000);
}

#[test]
fn outbound_degrees_follow_the_distribution_and_inbound_is_capped() {
    let TopologyConfig::OutboundDegree { cdf, inbound_cap } = preset("bitcoin-2015").unwrap().topology else {
        panic!("outbound-degree topology")
    };
    let n = 5_000u32;
    let graph = Topology::outbound_degree(n, &cdf, inbound_cap, &mut stream(3, Purpose::Topology, u64::MAX));
    // E[outbound] = Σ_{d ≥ 0} P(outbound > d); every connection adds two adjacency entries.
    let expected_outbound: f64 = 1.0 + cdf[..cdf.len() - 1].iter().map(|p| 1.0 - p).sum::<f64>();
    let mean_degree = (0..n).map(|v| graph.neighbours(v).len()).sum::<usize>() as f64 / f64::from(n);
    assert!(
        (mean_degree - 2.0 * expected_outbound).abs() / (2.0 * expected_outbound) < 0.02,
        "mean degree {mean_degree}"
    );
    assert_eq!(graph.components(), 1);

    // A tight cap: nobody accepts more than 2 inbound connections.
    let capped = Topology::outbound_degree(200, &[0.0, 0.0, 1.0], Some(2), &mut stream(4, Purpose::Topology, u64::MAX));
    let max_degree = (0..200).map(|v| capped.neighbours(v).len()).max().unwrap();
    assert!(max_degree <= 3 + 2, "max degree {max_degree}");
}

#[test]
fn region_latency_is_the_matrix_mean_on_average() {
    let mut config = preset("bitcoin-2019").unwrap();
    config.nodes = 500;
    let world = World::build(&config, 9, Path::new(".")).unwrap();
    let region_of = world.network.latency.regions().unwrap();
    let na = region_of.iter().position(|&r| r == 0).unwrap() as u32;
    let eu = region_of.iter().position(|&r| r == 1).unwrap() as u32;
    let mut rng = stream(9, Purpose::Latency, u64::from(na));
    let draws = 100_000;
    let mean: f64 =
        (0..draws).map(|_| world.network.latency.sample(na, eu, &mut rng).as_secs_f64()).sum::<f64>() / draws as f64;
    assert!((mean - 0.124).abs() / 0.124 < 0.01, "NA→EU mean {mean}");
    let mut rng = stream(9, Purpose::Latency, u64::from(na));
    assert!((0..1_000).all(|_| world.network.latency.sample(na, eu, &mut rng) >= SimDuration::from_millis(119)));
}

#[test]
fn a_preset_on_too_few_nodes_says_how_many_it_needs() {
    let mut config = preset("bitcoin-2019").unwrap();
    config.nodes = 20;
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("topology.cdf") && err.contains("at least 21 nodes") && err.contains("is 20"), "{err}");
    config.nodes = 21;
    assert!(config.validate().is_ok());
}
