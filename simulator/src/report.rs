//! What a finished run reports: named scalar metrics (the columns of `runs.csv`, in a fixed order),
//! time series, and free-form detail for the run's JSON file.

use serde::Serialize;

use crate::series::TimeSeries;

/// A scalar metric value.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum MetricValue {
    /// An exact count.
    Count(u64),
    /// A measured quantity.
    Real(f64),
    /// A proportion of items: `part` of `whole` (`whole` > 0). Reported as the ratio; the counts
    /// let a summary pool replicates and give an interval made for proportions.
    Share {
        /// Items with the property.
        part: u64,
        /// Items in all.
        whole: u64,
    },
    /// Not defined for this run (e.g. a reach time never attained); empty in CSV, null in JSON.
    Missing,
}

/// A number in JSON (the ratio, for a share), null when missing.
impl Serialize for MetricValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            MetricValue::Count(c) => serializer.serialize_u64(c),
            MetricValue::Missing => serializer.serialize_none(),
            value => serializer.serialize_f64(value.as_f64().expect("a real or a share")),
        }
    }
}

impl MetricValue {
    /// A real value, or `Missing` for NaN and infinities.
    pub fn real(value: f64) -> Self {
        if value.is_finite() { MetricValue::Real(value) } else { MetricValue::Missing }
    }

    /// `part` of `whole` items, or `Missing` when there are none.
    pub fn share(part: u64, whole: u64) -> Self {
        if whole == 0 { MetricValue::Missing } else { MetricValue::Share { part, whole } }
    }

    /// The value as a float, if defined.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            MetricValue::Count(c) => Some(c as f64),
            MetricValue::Real(r) => Some(r),
            MetricValue::Share { part, whole } => Some(part as f64 / whole as f64),
            MetricValue::Missing => None,
        }
    }

    /// Text for a CSV cell: shortest round-trip decimal, empty when missing.
    pub fn to_csv_field(self) -> String {
        match self {
            MetricValue::Count(c) => c.to_string(),
            MetricValue::Missing => String::new(),
            value => value.as_f64().expect("a real or a share").to_string(),
        }
    }
}

/// The outcome of one run as seen by its protocol.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Scalar metrics in their stable column order. Names may carry a group (`throughput_rps.shard-0`).
    pub metrics: Vec<(String, MetricValue)>,
    /// Quantities over time, per group.
    pub series: Vec<TimeSeries>,
    /// Everything else worth keeping (per-item, per-node detail), written to the run's JSON file.
    pub detail: serde_json::Value,
}

impl Report {
    /// The value of metric `name`, if reported.
    pub fn metric(&self, name: &str) -> Option<MetricValue> {
        self.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// Median of values where `None` means "never" (+∞); `None` if the median itself is never.
pub fn median_with_never(values: &[Option<f64>]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = values.iter().map(|v| v.unwrap_or(f64::INFINITY)).collect();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 };
    median.is_finite().then_some(median)
}

/// Nearest-rank quantile `q` (0 < q ≤ 1) of values where `None` means "never" (+∞); `None` if
/// there are no values or the quantile itself is never.
pub fn quantile_with_never(values: &[Option<f64>], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = values.iter().map(|v| v.unwrap_or(f64::INFINITY)).collect();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    let value = sorted[rank - 1];
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_treats_never_as_infinite() {
        assert_eq!(median_with_never(&[Some(3.0), Some(1.0), Some(2.0)]), Some(2.0));
        assert_eq!(median_with_never(&[Some(4.0), Some(1.0), Some(2.0), Some(3.0)]), Some(2.5));
        assert_eq!(median_with_never(&[Some(1.0), None, Some(2.0)]), Some(2.0));
        assert_eq!(median_with_never(&[Some(1.0), None]), None);
        assert_eq!(median_with_never(&[]), None);
    }

    #[test]
    fn quantiles_by_nearest_rank_with_never_last() {
        let values: Vec<Option<f64>> = (1..=100).map(|v| Some(f64::from(v))).collect();
        assert_eq!(quantile_with_never(&values, 0.5), Some(50.0));
        assert_eq!(quantile_with_never(&values, 0.99), Some(99.0));
        let mut censored = values.clone();
        censored[0] = None;
        censored[1] = None;
        assert_eq!(quantile_with_never(&censored, 0.99), None, "two of a hundred never finished");
        assert_eq!(quantile_with_never(&censored, 0.5), Some(52.0));
        assert_eq!(quantile_with_never(&[], 0.5), None);
    }

    #[test]
    fn csv_fields() {
        assert_eq!(MetricValue::share(1, 4).to_csv_field(), "0.25");
        assert_eq!(MetricValue::share(0, 0), MetricValue::Missing);
        assert_eq!(serde_json::to_string(&MetricValue::share(1, 8)).unwrap(), "0.125");
        assert_eq!(MetricValue::Count(12).to_csv_field(), "12");
        assert_eq!(MetricValue::real(0.1).to_csv_field(), "0.1");
        assert_eq!(MetricValue::real(f64::NAN).to_csv_field(), "");
    }
}
