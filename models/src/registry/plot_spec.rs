//! Plots as an experiment file declares them (`plots: [...]`), and as a protocol proposes its
//! defaults. Drawing them is the job of `experiments::figures`.

use serde::{Deserialize, Serialize};

/// What a plot shows.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlotKind {
    /// Mean of `y` with 95 % CI against the swept key `x`.
    #[default]
    Line,
    /// Empirical CDF of the metric `y`'s per-item values (each block's, each item's) pooled over
    /// the replicates of a point, one curve per value of `series`; every other swept key is held
    /// with `at`.
    Cdf,
    /// Share of nodes holding an item (a block) against the time since it was created: at each
    /// tenth of the nodes, the median over items and runs, in a band from the 10th to the 90th
    /// percentile of items. `y` names the per-item curve in the run files (`reach_deciles_ms`);
    /// one series per value of `series`, every other swept key held with `at`.
    Propagation,
    /// A time series the protocol records (`y` names it) against simulated time: the mean over
    /// replicates in each bucket with its 95 % CI as a band, one line per value of `series` (and
    /// per group). Every other swept key must be fixed with `at`.
    TimeSeries,
}

/// A plot declared in an experiment file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    /// File name (without extension) under `plots/`; derived from the axes if absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Line chart or CDF.
    #[serde(default)]
    pub kind: PlotKind,
    /// Swept key on the x axis (line charts).
    #[serde(default)]
    pub x: Option<String>,
    /// The metric plotted.
    pub y: String,
    /// Swept key whose values become separate series.
    #[serde(default)]
    pub series: Option<String>,
    /// Logarithmic x axis.
    #[serde(default)]
    pub log_x: bool,
    /// Logarithmic y axis.
    #[serde(default)]
    pub log_y: bool,
    /// Chart title; derived if absent.
    #[serde(default)]
    pub title: Option<String>,
    /// A horizontal reference line, e.g. a theoretical value.
    #[serde(default)]
    pub reference: Option<ReferenceLine>,
    /// Line charts: also draw ideal linear scaling, the first series' mean at the smallest x
    /// grown in proportion to x (throughput if every shard added as much as the first).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ideal_linear: bool,
    /// Swept keys held at one value, as written in `runs.csv`: `[("protocol.view_change_timeout",
    /// "500ms")]` draws only the points where the key has that value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at: Vec<(String, String)>,
}

/// A horizontal line on a chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceLine {
    /// Legend label.
    pub label: String,
    /// Its y value.
    pub y: f64,
}

impl PlotSpec {
    /// A plot of `kind` showing `y`, everything else derived.
    pub fn new(kind: PlotKind, y: &str) -> Self {
        PlotSpec {
            name: None,
            kind,
            x: None,
            y: y.to_string(),
            series: None,
            log_x: false,
            log_y: false,
            title: None,
            reference: None,
            ideal_linear: false,
            at: Vec::new(),
        }
    }

    /// A line chart of `y` against the first swept key, one series per value of the second.
    pub fn line(y: &str, swept: &[&str]) -> Self {
        PlotSpec {
            x: swept.first().map(|k| k.to_string()),
            series: swept.get(1).map(|k| k.to_string()),
            ..PlotSpec::new(PlotKind::Line, y)
        }
    }

    /// A plot of `kind` showing `y`, one series per value of the first swept key.
    pub fn per_first_key(kind: PlotKind, y: &str, swept: &[&str]) -> Self {
        PlotSpec { series: swept.first().map(|k| k.to_string()), ..PlotSpec::new(kind, y) }
    }
}
