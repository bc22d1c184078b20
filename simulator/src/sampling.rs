//! The continuous distributions whose draws need a transcendental function, sampled through
//! [`crate::math`] so that a draw has the same bits on every machine (a library's samplers call
//! the platform's `exp`, `ln` and `pow`). Parameters are validated where configs are read.

use rand::distr::OpenClosed01;
use rand::{Rng, RngExt};

use crate::math;

/// A standard exponential draw (mean 1), by inverting the CDF of a uniform draw in [0, 1).
pub fn standard_exponential<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u: f64 = rng.random();
    -math::ln(1.0 - u)
}

/// Failures before the first success in independent trials that each succeed with probability
/// `p`, by inverting the CDF: `floor(ln(1 − u) / ln(1 − p))` for `u` uniform in [0, 1). Used to
/// skip over the trials that fail, so a scan costs the number of successes. The count is a float
/// because for a tiny `p` it can exceed every integer type.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Geometric {
    /// `ln(1 − p)`, computed once.
    log_failure: f64,
}

impl Geometric {
    /// Trials that succeed with probability `p`, strictly between 0 and 1.
    pub fn new(p: f64) -> Self {
        Geometric { log_failure: math::ln(1.0 - p) }
    }

    /// The number of failures before the next success.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = rng.random();
        (math::ln(1.0 - u) / self.log_failure).floor()
    }
}

/// A standard normal draw (Box–Muller): two uniforms, the first in (0, 1] so that its
/// logarithm is finite.
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let radius_uniform: f64 = rng.sample(OpenClosed01);
    let angle_uniform: f64 = rng.random();
    (-2.0 * math::ln(radius_uniform)).sqrt() * math::cos(std::f64::consts::TAU * angle_uniform)
}

/// Normal with mean `mean` and standard deviation `std`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Normal {
    mean: f64,
    std: f64,
}

impl Normal {
    /// The normal distribution N(`mean`, `std`²).
    pub fn new(mean: f64, std: f64) -> Self {
        Normal { mean, std }
    }

    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.mean + self.std * standard_normal(rng)
    }
}

/// Log-normal: `exp(N(mu, sigma²))`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LogNormal {
    mu: f64,
    sigma: f64,
}

impl LogNormal {
    /// The log-normal distribution whose logarithm is N(`mu`, `sigma`²).
    pub fn new(mu: f64, sigma: f64) -> Self {
        LogNormal { mu, sigma }
    }

    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        math::exp(self.mu + self.sigma * standard_normal(rng))
    }
}

/// Pareto with minimum `scale` and tail index `shape`, drawn by inverting the CDF:
/// `scale · u^(−1/shape)` for `u` uniform in (0, 1].
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Pareto {
    scale: f64,
    /// `−1 / shape`, computed once.
    exponent: f64,
}

impl Pareto {
    /// The Pareto distribution with minimum `scale` and tail index `shape`.
    pub fn new(scale: f64, shape: f64) -> Self {
        Pareto { scale, exponent: -1.0 / shape }
    }

    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = rng.sample(OpenClosed01);
        // `exp(ln)` rather than `pow`: portable `pow` costs twice as much, and the draw needs no
        // more than the few ulps of accuracy this keeps.
        self.scale * math::exp(self.exponent * math::ln(u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    fn moments(draw: impl Fn(&mut rand_chacha::ChaCha8Rng) -> f64, n: usize) -> (f64, f64) {
        let mut rng = stream(3, Purpose::Latency, 0);
        let values: Vec<f64> = (0..n).map(|_| draw(&mut rng)).collect();
        let mean = values.iter().sum::<f64>() / n as f64;
        let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
        (mean, variance)
    }

    /// Draws are part of the determinism contract: these bits are what every machine gets.
    #[test]
    fn draws_are_pinned_to_the_bit() {
        let mut rng = stream(1, Purpose::Latency, 7);
        let draws = [
            Normal::new(0.1, 0.02).sample(&mut rng),
            LogNormal::new(-2.3, 0.4).sample(&mut rng),
            Pareto::new(0.095, 20.0).sample(&mut rng),
        ];
        let bits = draws.map(f64::to_bits);
        assert_eq!(bits, [0x3fb7_78c9_8a77_42bf, 0x3faf_b548_867c_dac9, 0x3fb8_8318_7edf_3b8b], "{draws:?}");
    }

    #[test]
    fn exponential_draws_have_mean_one_and_the_exponential_tail() {
        let (mean, variance) = moments(standard_exponential, 200_000);
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.02, "variance {variance}");
        let mut rng = stream(6, Purpose::Latency, 0);
        let beyond_two = (0..200_000).filter(|_| standard_exponential(&mut rng) > 2.0).count();
        assert!((beyond_two as f64 / 200_000.0 - math::exp(-2.0)).abs() < 0.003, "{beyond_two}");
    }

    #[test]
    fn geometric_skips_have_mean_one_minus_p_over_p() {
        let geometric = Geometric::new(0.2);
        let (mean, variance) = moments(|rng| geometric.sample(rng), 200_000);
        // Mean (1 − p)/p = 4, variance (1 − p)/p² = 20.
        assert!((mean - 4.0).abs() < 0.05, "mean {mean}");
        assert!((variance - 20.0).abs() < 0.5, "variance {variance}");
        let mut rng = stream(7, Purpose::Latency, 0);
        let zeros = (0..200_000).filter(|_| geometric.sample(&mut rng) == 0.0).count();
        assert!((zeros as f64 / 200_000.0 - 0.2).abs() < 0.003, "{zeros}");
    }

    #[test]
    fn normal_draws_have_the_configured_mean_and_spread() {
        let normal = Normal::new(2.0, 0.5);
        let (mean, variance) = moments(|rng| normal.sample(rng), 200_000);
        assert!((mean - 2.0).abs() < 0.005, "mean {mean}");
        assert!((variance - 0.25).abs() < 0.005, "variance {variance}");
        // Symmetric, with the normal share within one standard deviation (68.27 %).
        let mut rng = stream(4, Purpose::Latency, 0);
        let within = (0..200_000).filter(|_| (normal.sample(&mut rng) - 2.0).abs() < 0.5).count();
        assert!((within as f64 / 200_000.0 - 0.6827).abs() < 0.005, "{within}");
    }

    #[test]
    fn log_normal_and_pareto_draws_have_their_theoretical_means() {
        // E = exp(mu + sigma²/2).
        let log_normal = LogNormal::new(-2.0, 0.5);
        let (mean, _) = moments(|rng| log_normal.sample(rng), 200_000);
        let expected = math::exp(-2.0 + 0.125);
        assert!((mean - expected).abs() / expected < 0.01, "log-normal mean {mean}");
        // E = scale · shape / (shape − 1); never below the scale.
        let pareto = Pareto::new(0.095, 20.0);
        let (mean, _) = moments(|rng| pareto.sample(rng), 200_000);
        assert!((mean - 0.1).abs() / 0.1 < 0.002, "Pareto mean {mean}");
        let mut rng = stream(5, Purpose::Latency, 0);
        assert!((0..10_000).all(|_| pareto.sample(&mut rng) >= 0.095));
    }
}
