//! The `latency` key of the `network` section: a distribution per message, or nodes placed in
//! regions with a latency matrix and jitter.

use serde::{Deserialize, Serialize};

use super::{ConfigError, check_positive_bandwidth};
use crate::time::SimDuration;
use crate::units::Bandwidth;

/// Distribution of one-way latency, drawn independently for every message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LatencyConfig {
    /// The same latency for every message.
    Constant(SimDuration),
    /// Uniform between `min` and `max`.
    Uniform {
        /// Smallest latency.
        min: SimDuration,
        /// Largest latency.
        max: SimDuration,
    },
    /// Normal, truncated at zero.
    Normal {
        /// Mean latency.
        mean: SimDuration,
        /// Standard deviation.
        std: SimDuration,
    },
    /// Log-normal with the given median and log-space standard deviation `sigma`.
    LogNormal {
        /// Median latency (`exp(mu)`).
        median: SimDuration,
        /// Standard deviation of `ln(latency)`.
        sigma: f64,
    },
    /// Pareto with minimum `scale` and tail index `shape`.
    Pareto {
        /// Smallest latency.
        scale: SimDuration,
        /// Tail index α (> 0; the mean is finite only for α > 1).
        shape: f64,
    },
    /// Nodes placed in regions; the mean latency comes from a region matrix, plus jitter.
    Regions(RegionLatency),
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig::Constant(SimDuration::from_millis(50))
    }
}

/// A region latency matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionLatency {
    /// Regions with the share of nodes placed in each (shares are normalised).
    pub regions: Vec<Region>,
    /// Mean one-way latency in milliseconds, row = sending region, column = receiving region.
    pub matrix_ms: Vec<Vec<f64>>,
    /// Per-message variation around the matrix mean.
    #[serde(default)]
    pub jitter: Jitter,
}

/// One region of a [`RegionLatency`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Region name, as it appears in results.
    pub name: String,
    /// Share of nodes in this region.
    pub share: f64,
    /// Uplink capacity of this region's nodes, replacing `network.bandwidth.upload`.
    #[serde(default)]
    pub upload: Option<Bandwidth>,
    /// Downlink capacity of this region's nodes, replacing `network.bandwidth.download`.
    #[serde(default)]
    pub download: Option<Bandwidth>,
}

/// Variation of a region latency around its mean.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
// The derived code becomes the inherent `Jitter::serialize`/`deserialize`, wrapped below.
#[serde(remote = "Self")]
pub enum Jitter {
    /// Always exactly the matrix mean.
    #[default]
    None,
    /// A Pareto draw whose mean equals the matrix mean: minimum `mean − spread`, shape
    /// `mean / spread` (SimBlock's model is `spread: "5ms"`).
    Pareto {
        /// Distance between the mean and the minimum.
        spread: SimDuration,
    },
    /// A log-normal draw whose mean equals the matrix mean, with log-space standard deviation
    /// `sigma`.
    LogNormal {
        /// Standard deviation of `ln(latency)`.
        sigma: f64,
    },
}

impl Serialize for Jitter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Jitter::serialize(self, serializer)
    }
}

/// Also accepts `null` as [`Jitter::None`]: RON's `None` in a `--set` value, a sweep axis or a
/// preset change is read as a generic value first, where it can only mean "no value".
impl<'de> Deserialize<'de> for Jitter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(transparent)]
        struct Variant(#[serde(with = "Jitter")] Jitter);
        Ok(Option::<Variant>::deserialize(deserializer)?.map_or(Jitter::None, |Variant(jitter)| jitter))
    }
}

impl RegionLatency {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let r = self.regions.len();
        if r == 0 || r > usize::from(u8::MAX) {
            return Err(ConfigError::new("regions", "give between 1 and 255 regions"));
        }
        for (i, region) in self.regions.iter().enumerate() {
            if !(region.share.is_finite() && region.share >= 0.0) {
                return Err(ConfigError::new(format!("regions[{i}].share"), "must be ≥ 0"));
            }
            for (field, bandwidth) in [("upload", region.upload), ("download", region.download)] {
                if let Some(b) = bandwidth {
                    check_positive_bandwidth(&format!("regions[{i}].{field}"), b)?;
                }
            }
        }
        if let Jitter::LogNormal { sigma } = self.jitter
            && !(sigma.is_finite() && sigma > 0.0)
        {
            return Err(ConfigError::new("jitter.sigma", format!("must be > 0, got {sigma}")));
        }
        if self.regions.iter().all(|region| region.share == 0.0) {
            return Err(ConfigError::new("regions", "at least one share must be > 0"));
        }
        if self.matrix_ms.len() != r || self.matrix_ms.iter().any(|row| row.len() != r) {
            return Err(ConfigError::new(
                "matrix_ms",
                format!("must be a {r}×{r} matrix, one row and column per region"),
            ));
        }
        for (i, row) in self.matrix_ms.iter().enumerate() {
            for (j, &ms) in row.iter().enumerate() {
                if !(ms.is_finite() && ms >= 0.0) {
                    return Err(ConfigError::new(format!("matrix_ms[{i}][{j}]"), format!("must be ≥ 0, got {ms}")));
                }
                if let Jitter::Pareto { spread } = self.jitter
                    && ms * 1e6 <= spread.0 as f64
                {
                    return Err(ConfigError::new(
                        "jitter.spread",
                        format!("must be smaller than every matrix entry (entry [{i}][{j}] is {ms} ms)"),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_reads_null_as_none_and_round_trips() {
        let read = |value: serde_json::Value| serde_json::from_value::<Jitter>(value).map_err(|e| e.to_string());
        assert_eq!(read(serde_json::Value::Null), Ok(Jitter::None));
        assert_eq!(read(serde_json::json!("None")), Ok(Jitter::None));
        let pareto = Jitter::Pareto { spread: SimDuration::from_millis(5) };
        assert_eq!(read(serde_json::to_value(&pareto).unwrap()), Ok(pareto));
        assert_eq!(serde_json::to_value(Jitter::None).unwrap(), serde_json::json!("None"));
        let typo = read(serde_json::json!({"Parto": {"spread": "5ms"}})).unwrap_err();
        assert!(typo.contains("unknown variant `Parto`"), "{typo}");
    }
}
