//! Per-message one-way latency, drawn from the configured distribution with the sender's latency
//! stream. Continuous draws are in seconds and rounded to the nearest nanosecond; draws below
//! zero (possible with `Normal`) become zero.

use rand::distr::Distribution;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use statrs::distribution::Uniform;

use crate::config::{Jitter, LatencyConfig, RegionLatency};
use crate::math;
use crate::rng::{GLOBAL, Purpose, stream};
use crate::sampling::{LogNormal, Normal, Pareto};
use crate::time::SimDuration;
use crate::topology::NodeId;

/// A ready-to-sample latency model.
#[derive(Clone, Debug)]
pub enum LatencyModel {
    /// Always the same.
    Constant(SimDuration),
    /// A continuous distribution over seconds.
    Continuous(Continuous),
    /// Region matrix with jitter.
    Regions(RegionModel),
}

/// The continuous distributions, as statrs types.
#[derive(Clone, Debug)]
pub enum Continuous {
    /// Uniform over seconds.
    Uniform(Uniform),
    /// Normal over seconds, truncated at zero.
    Normal(Normal),
    /// Log-normal over seconds.
    LogNormal(LogNormal),
    /// Pareto over seconds.
    Pareto(Pareto),
}

/// Nodes placed in regions, with a mean latency per region pair.
#[derive(Clone, Debug)]
pub struct RegionModel {
    region_of: Vec<u8>,
    regions: usize,
    mean: Vec<SimDuration>,
    jitter: Vec<PairJitter>,
}

/// The draw for one region pair.
#[derive(Clone, Debug)]
enum PairJitter {
    /// Always the mean.
    None,
    /// Pareto over seconds.
    Pareto(Pareto),
    /// Log-normal over seconds.
    LogNormal(LogNormal),
}

impl LatencyModel {
    /// Builds the model for `nodes` nodes; region placement draws from the `Placement` stream.
    /// The config must have been validated.
    pub fn build(config: &LatencyConfig, nodes: u32, seed: u64) -> Self {
        LatencyModel::build_placed(config, nodes, seed, &[])
    }

    /// Builds the model with some nodes' regions fixed: `pinned[node]` (when `pinned` is not
    /// empty) is the index of the region a role puts the node in. The other nodes are placed by
    /// the regions' shares, exactly as [`LatencyModel::build`] places all nodes when none is
    /// pinned.
    pub fn build_placed(config: &LatencyConfig, nodes: u32, seed: u64, pinned: &[Option<u8>]) -> Self {
        let secs = |d: &SimDuration| d.as_secs_f64();
        let valid = "latency parameters are validated before building";
        match config {
            LatencyConfig::Constant(d) => LatencyModel::Constant(*d),
            LatencyConfig::Uniform { min, max } if min == max => LatencyModel::Constant(*min),
            LatencyConfig::Uniform { min, max } => {
                LatencyModel::Continuous(Continuous::Uniform(Uniform::new(secs(min), secs(max)).expect(valid)))
            }
            LatencyConfig::Normal { mean, std } if std.0 == 0 => LatencyModel::Constant(*mean),
            LatencyConfig::Normal { mean, std } => {
                LatencyModel::Continuous(Continuous::Normal(Normal::new(secs(mean), secs(std))))
            }
            LatencyConfig::LogNormal { median, sigma } => {
                LatencyModel::Continuous(Continuous::LogNormal(LogNormal::new(math::ln(secs(median)), *sigma)))
            }
            LatencyConfig::Pareto { scale, shape } => {
                LatencyModel::Continuous(Continuous::Pareto(Pareto::new(secs(scale), *shape)))
            }
            LatencyConfig::Regions(r) => LatencyModel::Regions(RegionModel::build(r, nodes, seed, pinned)),
        }
    }

    /// One latency draw for a message from `from` to `to`.
    #[inline]
    pub fn sample(&self, from: NodeId, to: NodeId, rng: &mut ChaCha8Rng) -> SimDuration {
        match self {
            LatencyModel::Constant(d) => *d,
            LatencyModel::Continuous(c) => SimDuration::from_secs_f64_rounded(match c {
                Continuous::Uniform(d) => d.sample(rng),
                Continuous::Normal(d) => d.sample(rng),
                Continuous::LogNormal(d) => d.sample(rng),
                Continuous::Pareto(d) => d.sample(rng),
            }),
            LatencyModel::Regions(r) => r.sample(from, to, rng),
        }
    }

    /// The region index of every node, if the model places nodes in regions.
    pub fn regions(&self) -> Option<&[u8]> {
        match self {
            LatencyModel::Regions(r) => Some(&r.region_of),
            _ => None,
        }
    }
}

/// Splits `nodes` among shares by the largest-remainder method (ties to the lower index).
pub fn apportion(nodes: u32, shares: &[f64]) -> Vec<u32> {
    let total: f64 = shares.iter().sum();
    let quotas: Vec<f64> = shares.iter().map(|s| s / total * f64::from(nodes)).collect();
    let mut counts: Vec<u32> = quotas.iter().map(|q| q.floor() as u32).collect();
    let assigned: u32 = counts.iter().sum();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| (quotas[b] - quotas[b].floor()).total_cmp(&(quotas[a] - quotas[a].floor())).then(a.cmp(&b)));
    for &i in order.iter().take((nodes - assigned) as usize) {
        counts[i] += 1;
    }
    counts
}

impl RegionModel {
    fn build(config: &RegionLatency, nodes: u32, seed: u64, pinned: &[Option<u8>]) -> Self {
        let free = if pinned.is_empty() { nodes } else { pinned.iter().filter(|p| p.is_none()).count() as u32 };
        let shares: Vec<f64> = config.regions.iter().map(|r| r.share).collect();
        let counts = apportion(free, &shares);
        let mut drawn: Vec<u8> =
            counts.iter().enumerate().flat_map(|(r, &c)| std::iter::repeat_n(r as u8, c as usize)).collect();
        drawn.shuffle(&mut stream(seed, Purpose::Placement, GLOBAL));
        let region_of = if pinned.is_empty() {
            drawn
        } else {
            let mut drawn = drawn.into_iter();
            pinned
                .iter()
                .map(|pin| pin.unwrap_or_else(|| drawn.next().expect("one drawn region per free node")))
                .collect()
        };
        let mean: Vec<SimDuration> =
            config.matrix_ms.iter().flatten().map(|ms| SimDuration::from_secs_f64_rounded(ms / 1e3)).collect();
        let jitter = mean
            .iter()
            .map(|m| match config.jitter {
                Jitter::None => PairJitter::None,
                Jitter::Pareto { spread } => {
                    let shape = m.as_secs_f64() / spread.as_secs_f64();
                    let scale = m.as_secs_f64() - spread.as_secs_f64();
                    PairJitter::Pareto(Pareto::new(scale, shape))
                }
                // A zero mean (a region with itself at 0 ms) stays zero.
                Jitter::LogNormal { .. } if m.0 == 0 => PairJitter::None,
                Jitter::LogNormal { sigma } => {
                    // Mean of a log-normal = exp(mu + sigma²/2).
                    let mu = math::ln(m.as_secs_f64()) - sigma * sigma / 2.0;
                    PairJitter::LogNormal(LogNormal::new(mu, sigma))
                }
            })
            .collect();
        RegionModel { region_of, regions: config.regions.len(), mean, jitter }
    }

    #[inline]
    fn sample(&self, from: NodeId, to: NodeId, rng: &mut ChaCha8Rng) -> SimDuration {
        let pair = usize::from(self.region_of[from as usize]) * self.regions + usize::from(self.region_of[to as usize]);
        match &self.jitter[pair] {
            PairJitter::None => self.mean[pair],
            PairJitter::Pareto(d) => SimDuration::from_secs_f64_rounded(d.sample(rng)),
            PairJitter::LogNormal(d) => SimDuration::from_secs_f64_rounded(d.sample(rng)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Region;

    fn mean_of(model: &LatencyModel, from: NodeId, to: NodeId, draws: usize) -> f64 {
        let mut rng = stream(9, Purpose::Latency, 0);
        (0..draws).map(|_| model.sample(from, to, &mut rng).as_secs_f64()).sum::<f64>() / draws as f64
    }

    #[test]
    fn distributions_have_their_configured_centre() {
        let ms = SimDuration::from_millis;
        let lognormal = LatencyModel::build(&LatencyConfig::LogNormal { median: ms(100), sigma: 0.5 }, 2, 1);
        // Mean of a log-normal = median · exp(σ²/2).
        let expected = 0.1 * math::exp(0.125);
        assert!((mean_of(&lognormal, 0, 1, 100_000) - expected).abs() / expected < 0.01);
        let uniform = LatencyModel::build(&LatencyConfig::Uniform { min: ms(10), max: ms(30) }, 2, 1);
        assert!((mean_of(&uniform, 0, 1, 100_000) - 0.02).abs() < 0.0002);
        let pareto = LatencyModel::build(&LatencyConfig::Pareto { scale: ms(10), shape: 3.0 }, 2, 1);
        assert!((mean_of(&pareto, 0, 1, 200_000) - 0.015).abs() / 0.015 < 0.02);
        let normal = LatencyModel::build(&LatencyConfig::Normal { mean: ms(5), std: ms(10) }, 2, 1);
        let mut rng = stream(9, Purpose::Latency, 0);
        assert!((0..10_000).all(|_| normal.sample(0, 1, &mut rng).0 < u64::MAX), "truncated, never wraps");
    }

    #[test]
    fn apportion_uses_largest_remainders() {
        assert_eq!(apportion(10, &[0.5, 0.25, 0.25]), vec![5, 3, 2]);
        assert_eq!(apportion(1000, &[0.3869, 0.5159, 0.0113, 0.0574, 0.0119, 0.0166]).iter().sum::<u32>(), 1000);
    }

    #[test]
    fn region_matrix_and_mean_preserving_jitter() {
        let config = RegionLatency {
            regions: vec![
                Region { name: "A".into(), share: 0.5, upload: None, download: None },
                Region { name: "B".into(), share: 0.5, upload: None, download: None },
            ],
            matrix_ms: vec![vec![10.0, 100.0], vec![100.0, 20.0]],
            jitter: Jitter::None,
        };
        let model = LatencyModel::build(&LatencyConfig::Regions(config.clone()), 100, 3);
        let regions = model.regions().unwrap();
        assert_eq!(regions.iter().filter(|&&r| r == 0).count(), 50);
        let a = regions.iter().position(|&r| r == 0).unwrap() as NodeId;
        let b = regions.iter().position(|&r| r == 1).unwrap() as NodeId;
        let mut rng = stream(1, Purpose::Latency, 0);
        assert_eq!(model.sample(a, b, &mut rng), SimDuration::from_millis(100));
        assert_eq!(model.sample(b, b, &mut rng), SimDuration::from_millis(20));
        let jittered = LatencyModel::build(
            &LatencyConfig::Regions(RegionLatency {
                jitter: Jitter::Pareto { spread: SimDuration::from_millis(5) },
                ..config.clone()
            }),
            100,
            3,
        );
        assert!((mean_of(&jittered, a, b, 200_000) - 0.1).abs() / 0.1 < 0.01);
        let mut rng = stream(1, Purpose::Latency, 0);
        assert!((0..1000).all(|_| jittered.sample(a, b, &mut rng) >= SimDuration::from_millis(95)));
        let lognormal = LatencyModel::build(
            &LatencyConfig::Regions(RegionLatency { jitter: Jitter::LogNormal { sigma: 0.4 }, ..config }),
            100,
            3,
        );
        assert!((mean_of(&lognormal, a, b, 200_000) - 0.1).abs() / 0.1 < 0.01);
        assert!((mean_of(&lognormal, b, b, 200_000) - 0.02).abs() / 0.02 < 0.01);
    }
}
