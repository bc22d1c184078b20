//! Built-in networks from published measurements of the public Bitcoin network (as used by the
//! simulation literature: SimBlock, Aoki et al. 2019; peer degrees from Miller et al. 2015).
//! An experiment writes `network: Preset("bitcoin-2019")` (read in `experiments`, which also
//! applies changes written after the name); the preset expands into a complete `network` section,
//! which `--set`, `sweep` and `zip` can then change like any other.
//!
//! Each preset places nodes in six regions (NA, EU, SA, AP, JP, AU) by measured share, gives each
//! region its measured access bandwidth, uses the measured mean one-way latency between regions
//! with a per-message Pareto jitter (mean preserved, minimum 5 ms below the mean), and builds the
//! peer graph from the measured distribution of outbound connections, links used both ways and
//! at most 125 inbound connections per node (Bitcoin Core's limit).

use crate::config::{
    BandwidthConfig, Contention, Jitter, LatencyConfig, NetworkConfig, Region, RegionLatency, TopologyConfig,
};
use crate::time::SimDuration;
use crate::units::{Bandwidth, ByteSize};

/// The preset names.
pub const NAMES: [&str; 2] = ["bitcoin-2015", "bitcoin-2019"];

/// Nodes of a preset network unless changed.
pub const DEFAULT_NODES: u32 = 1_000;

const REGIONS: [&str; 6] = ["NA", "EU", "SA", "AP", "JP", "AU"];

/// P(outbound connections ≤ d) for d = 1..20.
const OUTBOUND_CDF: [f64; 20] = [
    0.025, 0.050, 0.075, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 0.85, 0.90, 0.95, 0.97, 0.97, 0.98, 0.99,
    0.995, 1.0,
];

const INBOUND_CAP: u32 = 125;
/// Messages up to one Ethernet packet do not queue on access links.
const PACKET: u64 = 1500;

struct Measured {
    shares: [f64; 6],
    latency_ms: [[f64; 6]; 6],
    upload_bps: [u64; 6],
    download_bps: [u64; 6],
}

const BITCOIN_2015: Measured = Measured {
    shares: [0.3869, 0.5159, 0.0113, 0.0574, 0.0119, 0.0166],
    latency_ms: [
        [36.0, 119.0, 255.0, 310.0, 154.0, 208.0],
        [119.0, 12.0, 221.0, 242.0, 266.0, 350.0],
        [255.0, 221.0, 137.0, 347.0, 256.0, 269.0],
        [310.0, 242.0, 347.0, 99.0, 172.0, 278.0],
        [154.0, 266.0, 256.0, 172.0, 9.0, 163.0],
        [208.0, 350.0, 269.0, 278.0, 163.0, 22.0],
    ],
    upload_bps: [4_700_000, 8_100_000, 1_800_000, 5_300_000, 3_400_000, 5_200_000],
    download_bps: [25_000_000, 24_000_000, 6_500_000, 10_000_000, 17_500_000, 14_000_000],
};

const BITCOIN_2019: Measured = Measured {
    shares: [0.3316, 0.4998, 0.0090, 0.1177, 0.0224, 0.0195],
    latency_ms: [
        [32.0, 124.0, 184.0, 198.0, 151.0, 189.0],
        [124.0, 11.0, 227.0, 237.0, 252.0, 294.0],
        [184.0, 227.0, 88.0, 325.0, 301.0, 322.0],
        [198.0, 237.0, 325.0, 85.0, 58.0, 198.0],
        [151.0, 252.0, 301.0, 58.0, 12.0, 126.0],
        [189.0, 294.0, 322.0, 198.0, 126.0, 16.0],
    ],
    upload_bps: [19_200_000, 20_700_000, 5_800_000, 15_700_000, 10_200_000, 11_300_000],
    download_bps: [52_000_000, 40_000_000, 18_000_000, 22_800_000, 22_800_000, 29_900_000],
};

/// The network section of preset `name`, if there is one.
pub fn preset(name: &str) -> Option<NetworkConfig> {
    let measured = match name {
        "bitcoin-2015" => &BITCOIN_2015,
        "bitcoin-2019" => &BITCOIN_2019,
        _ => return None,
    };
    let regions = (0..REGIONS.len())
        .map(|i| Region {
            name: REGIONS[i].to_string(),
            share: measured.shares[i],
            upload: Some(Bandwidth::BitsPerSec(measured.upload_bps[i])),
            download: Some(Bandwidth::BitsPerSec(measured.download_bps[i])),
        })
        .collect();
    Some(NetworkConfig {
        nodes: DEFAULT_NODES,
        topology: TopologyConfig::OutboundDegree { cdf: OUTBOUND_CDF.to_vec(), inbound_cap: Some(INBOUND_CAP) },
        bandwidth: BandwidthConfig::default(),
        contention: Contention::FairShare,
        unqueued_up_to: ByteSize(PACKET),
        latency: LatencyConfig::Regions(RegionLatency {
            regions,
            matrix_ms: measured.latency_ms.iter().map(|row| row.to_vec()).collect(),
            jitter: Jitter::Pareto { spread: SimDuration::from_millis(5) },
        }),
        loss: 0.0,
        link_loss: Vec::new(),
        cpu: Default::default(),
        disk: Default::default(),
        faults: Default::default(),
        roles: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_networks() {
        for name in NAMES {
            let network = preset(name).unwrap();
            network.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(preset("bitcoin-1999").is_none());
    }
}
