//! Per-point statistics over replicates: mean, sample standard deviation and a 95 % confidence
//! interval for the mean from Student's t distribution. Sums run in replicate order, so the result
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
}
