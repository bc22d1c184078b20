//! Critical values of Student's t distribution, computed from IEEE arithmetic and
//! `simulator::math` alone so that a confidence bound in `summary.csv` has the same bits on every
//! machine. (Library implementations of the t quantile go through the incomplete beta function
//! and the platform's `ln`/`exp`, whose last bit differs between C libraries and CPU-specific
//! builds of one.)
//!
//! For integer degrees of freedom ν the two-sided probability `A(t) = P(|T| ≤ t)` is a finite
//! series in θ = atan(t/√ν) (Abramowitz & Stegun 26.7.3–26.7.4):
//!
//! ```text
//! ν even: A = sin θ · Σ_{k<ν/2} a_k cos^{2k} θ,                a_0 = 1, a_k = a_{k−1}·(2k−1)/(2k)
//! ν odd:  A = (2/π)·(θ + sin θ cos θ · Σ_{k<(ν−1)/2} b_k cos^{2k} θ), b_0 = 1, b_k = b_{k−1}·2k/(2k+1)
//! ```
//!
//! and the critical value is found by bisection on `A(t) = coverage` down to adjacent doubles.

use std::f64::consts::FRAC_2_PI;

use simulator::math;

/// The `t` with `P(|T| ≤ t) = coverage` for Student's t with `degrees_of_freedom` (≥ 1), i.e. the
/// `(1 + coverage)/2` quantile: 12.706… for one degree of freedom and 95 % coverage.
///
/// # Panics
/// If `degrees_of_freedom` is 0 or `coverage` is not strictly between 0 and 1.
pub fn two_sided_critical_value(degrees_of_freedom: u64, coverage: f64) -> f64 {
    assert!(degrees_of_freedom >= 1, "Student's t needs at least one degree of freedom");
    assert!(coverage > 0.0 && coverage < 1.0, "coverage {coverage} is not a probability strictly between 0 and 1");
    let below = |t: f64| two_sided_probability(degrees_of_freedom, t) < coverage;
    let mut high = 1.0;
    while below(high) {
        high *= 2.0;
    }
    let mut low = 0.0;
    loop {
        let middle = low + (high - low) / 2.0;
        if middle <= low || middle >= high {
            return high;
        }
        if below(middle) {
            low = middle;
        } else {
            high = middle;
        }
    }
}

/// `P(|T| ≤ t)` for `t ≥ 0`.
fn two_sided_probability(degrees_of_freedom: u64, t: f64) -> f64 {
    let nu = degrees_of_freedom as f64;
    let scale = nu + t * t;
    let cos_squared = nu / scale;
    let sin = t / scale.sqrt();
    // Σ c_k cos^{2k} θ with c_0 = 1 and c_k = c_{k−1}·(2k + offset − 1)/(2k + offset).
    let series = |terms: u64, offset: u64| {
        let (mut term, mut sum) = (1.0, 1.0);
        for k in 1..terms {
            let (numerator, denominator) = ((2 * k + offset - 1) as f64, (2 * k + offset) as f64);
            term *= cos_squared * numerator / denominator;
            sum += term;
        }
        sum
    };
    if degrees_of_freedom.is_multiple_of(2) {
        sin * series(degrees_of_freedom / 2, 0)
    } else {
        let theta = math::atan(t / nu.sqrt());
        let tail =
            if degrees_of_freedom == 1 { 0.0 } else { sin * cos_squared.sqrt() * series(degrees_of_freedom / 2, 1) };
        FRAC_2_PI * (theta + tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::{ContinuousCDF, StudentsT};

    fn relative_error(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    /// Near full coverage the probability is flat in t, so an error of an ulp in it moves t by
    /// about 10^-14 of its value.
    #[test]
    fn closed_forms_for_one_and_two_degrees_of_freedom() {
        for coverage in [0.5, 0.9, 0.95, 0.99] {
            let p = (1.0 + coverage) / 2.0;
            // ν = 1 is the Cauchy distribution: tan(π(p − ½)).
            let cauchy = libm::tan(std::f64::consts::PI * (p - 0.5));
            assert!(relative_error(two_sided_critical_value(1, coverage), cauchy) < 1e-13, "ν=1 {coverage}");
            let two = (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
            assert!(relative_error(two_sided_critical_value(2, coverage), two) < 1e-13, "ν=2 {coverage}");
        }
    }

    #[test]
    fn matches_high_precision_reference_values() {
        // The 0.975 quantiles, solved to 30 digits from the regularised incomplete beta function; the
        // series and the bisection are good to a few ulps.
        for (nu, reference) in
            [(4, 2.776_445_105_197_794_4), (9, 2.262_157_162_798_205_5), (29, 2.045_229_642_132_704_3)]
        {
            let ours = two_sided_critical_value(nu, 0.95);
            assert!(relative_error(ours, reference) < 4e-15, "ν={nu}: {ours} vs {reference}");
        }
    }

    #[test]
    fn agrees_with_statrs_over_a_range_of_degrees_of_freedom() {
        for nu in (1..=60).chain([99, 100, 250, 1001]) {
            for coverage in [0.8, 0.95, 0.99] {
                let reference = StudentsT::new(0.0, 1.0, nu as f64).unwrap().inverse_cdf((1.0 + coverage) / 2.0);
                let ours = two_sided_critical_value(nu, coverage);
                assert!(relative_error(ours, reference) < 1e-9, "ν={nu} coverage {coverage}: {ours} vs {reference}");
            }
        }
    }

    #[test]
    fn probability_is_the_distribution_s_two_sided_mass() {
        for nu in [1, 2, 3, 7, 30] {
            let t_dist = StudentsT::new(0.0, 1.0, nu as f64).unwrap();
            for t in [0.0, 0.3, 1.0, 2.5, 40.0] {
                let reference = 2.0 * t_dist.cdf(t) - 1.0;
                assert!((two_sided_probability(nu, t) - reference).abs() < 1e-12, "ν={nu} t={t}");
            }
        }
    }

    #[test]
    fn large_samples_approach_the_normal_value() {
        let z = two_sided_critical_value(100_000, 0.95);
        assert!((z - 1.959_963_984_540_054).abs() < 1e-4, "{z}");
        assert!(z > 1.959_963_984_540_054);
    }

    /// The bits reach `summary.csv`: a change that moves them changes published results.
    #[test]
    fn results_are_pinned_to_the_bit() {
        let cases: [(u64, u64); 4] = [
            (1, 0x4029_6993_aacc_4d14),
            (4, 0x4006_3628_d9ef_b5de),
            (9, 0x4002_18e5_dac5_0b20),
            (29, 0x4000_5ca1_5bce_2868),
        ];
        let found: Vec<(u64, u64)> =
            cases.iter().map(|&(nu, _)| (nu, two_sided_critical_value(nu, 0.95).to_bits())).collect();
        assert_eq!(found, cases, "{found:#x?}");
    }
}
