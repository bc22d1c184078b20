//! Per-point statistics over replicates: mean, sample standard deviation and a 95 % confidence
//! interval for the mean from Student's t distribution; for a share of items (a proportion), the
//! Wilson score interval over the counts pooled across replicates, which stays within [0, 1]
//! and holds at 0 and at 1, where a t interval collapses or leaves the range. Sums run in replicate order, so the result
//! does not depend on which runs finished first, and the t value is computed portably
//! ([`crate::student_t`]), so it does not depend on the machine.

use crate::student_t::two_sided_critical_value;

/// Statistics of one metric at one point.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Summary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); `None` for a single value.
    pub std: Option<f64>,
    /// 95 % confidence interval of the mean, `mean ± t(0.975, n−1) · std / √n`; `None` for n = 1.
    pub ci95: Option<(f64, f64)>,
    /// Number of values.
    pub n: usize,
}

/// Summarises `values` (in replicate order); `None` when there are none.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(Summary { mean, std: None, ci95: None, n });
    }
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    let std = variance.sqrt();
    let t = two_sided_critical_value((n - 1) as u64, 0.95);
    let half = t * std / (n as f64).sqrt();
    Some(Summary { mean, std: Some(std), ci95: Some((mean - half, mean + half)), n })
}

/// z of the two-sided 95 % normal interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95 % Wilson score interval of a proportion observed as `part` of `whole` (> 0) items.
pub fn wilson(part: u64, whole: u64) -> (f64, f64) {
    let n = whole as f64;
    let p = part as f64 / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At 0 and at `whole` the bounds are exactly 0 and 1; rounding must not move them.
    let lo = if part == 0 { 0.0 } else { (centre - half).max(0.0) };
    let hi = if part == whole { 1.0 } else { (centre + half).min(1.0) };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn two_samples_use_t_with_one_degree_of_freedom() {
        // mean 3, std √2, t(0.975, 1) = 12.7062: half-width 12.7062 · √2 / √2 = 12.7062.
        let s = summarize(&[2.0, 4.0]).unwrap();
        assert_eq!((s.mean, s.n), (3.0, 2));
        assert!(close(s.std.unwrap(), 2f64.sqrt()));
        let (lo, hi) = s.ci95.unwrap();
        assert!(close(lo, 3.0 - 12.7062) && close(hi, 3.0 + 12.7062), "{lo} {hi}");
    }

    #[test]
    fn ten_samples_use_t_with_nine_degrees_of_freedom() {
        // 1..=10: mean 5.5, std 3.02765, t(0.975, 9) = 2.26216: half-width 2.16593.
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = summarize(&values).unwrap();
        assert!(close(s.mean, 5.5) && close(s.std.unwrap(), 3.02765));
        let (lo, hi) = s.ci95.unwrap();
        assert!(close(lo, 5.5 - 2.16593) && close(hi, 5.5 + 2.16593), "{lo} {hi}");
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(summarize(&[]), None);
        assert_eq!(summarize(&[7.0]), Some(Summary { mean: 7.0, std: None, ci95: None, n: 1 }));
    }

    #[test]
    fn wilson_intervals_match_known_values_and_stay_in_range() {
        // 8 of 10: 0.4902 to 0.9433; 0 of 10: 0 to 0.2775; 10 of 10: 0.7225 to 1.
        let (lo, hi) = wilson(8, 10);
        assert!(close(lo, 0.490_16) && close(hi, 0.943_32), "{lo} {hi}");
        let (lo, hi) = wilson(0, 10);
        assert!(lo == 0.0 && close(hi, 0.277_53), "{hi}");
        let (lo, hi) = wilson(10, 10);
        assert!(close(lo, 0.722_47) && hi == 1.0, "{lo}");
        for whole in 1..40 {
            for part in 0..=whole {
                let (lo, hi) = wilson(part, whole);
                let p = part as f64 / whole as f64;
                assert!((0.0..=p).contains(&lo) && (p..=1.0).contains(&hi), "{part}/{whole}: {lo} {hi}");
            }
        }
    }
}
