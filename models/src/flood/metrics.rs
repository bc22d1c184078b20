//! Flood metrics: how long items take to reach a share of the nodes, and what it costs.
//!
//! `reach_pXX_ms` is, per item, the time from creation until ⌈XX % × nodes⌉ nodes hold it (the
//! source counts), and then the median over created items; an item that never reaches the share
//! counts as +∞, so the metric is missing when that is true of the median.

use serde_json::json;
use simulator::report::median_with_never;
use simulator::{MetricValue, Report, RunStats};

use super::Flood;
use crate::{Model, REACH_CURVE};

/// Shares of nodes reported, with their column names.
const QUANTILES: [(f64, &str); 3] = [(0.5, "reach_p50_ms"), (0.9, "reach_p90_ms"), (1.0, "reach_p100_ms")];

/// The metric columns of a flood run, in order.
pub const METRICS: [&str; 6] =
    ["reach_p50_ms", "reach_p90_ms", "reach_p100_ms", "bytes_sent", "messages_sent", "events"];

impl Flood {
    /// Time in ms for `item` to reach ⌈share × nodes⌉ nodes, if it did.
    fn reach_ms(&self, item: usize, share: f64) -> Option<f64> {
        let needed = ((share * f64::from(self.nodes)).ceil() as usize).max(1);
        self.reach[item].get(needed - 1).map(|d| d.as_millis_f64())
    }
}

impl Model for Flood {
    fn unstarted(&self) -> Option<String> {
        let left = self.created.iter().filter(|c| c.is_none()).count();
        (left > 0).then(|| format!("{left} of {} planned items not yet created", self.created.len()))
    }

    fn report(&self, stats: &RunStats) -> Report {
        let created: Vec<usize> = (0..self.created.len()).filter(|&i| self.created[i].is_some()).collect();
        let mut metrics = Vec::new();
        for (share, name) in QUANTILES {
            let per_item: Vec<Option<f64>> = created.iter().map(|&i| self.reach_ms(i, share)).collect();
            metrics
                .push((name.to_string(), median_with_never(&per_item).map_or(MetricValue::Missing, MetricValue::real)));
        }
        metrics.push(("bytes_sent".to_string(), MetricValue::Count(stats.total(|c| c.bytes_sent))));
        metrics.push(("messages_sent".to_string(), MetricValue::Count(stats.total(|c| c.messages_sent))));
        metrics.push(("events".to_string(), MetricValue::Count(stats.events)));

        let items: Vec<_> = (0..self.plan.len())
            .map(|i| {
                json!({
                    "item": i,
                    "source": self.plan[i].source,
                    "created_ms": self.created[i].map(|t| t.as_millis_f64()),
                    "nodes_reached": self.reach[i].len(),
                    "reach_p50_ms": self.reach_ms(i, 0.5),
                    "reach_p90_ms": self.reach_ms(i, 0.9),
                    "reach_p100_ms": self.reach_ms(i, 1.0),
                    REACH_CURVE: (1..=10).map(|d| self.reach_ms(i, f64::from(d) / 10.0)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let held: usize = created.iter().map(|&i| self.reach[i].len()).sum();
        let coverage =
            if created.is_empty() { 0.0 } else { held as f64 / (created.len() as f64 * f64::from(self.nodes)) };
        let detail = json!({
            "items_created": created.len(),
            "items_fully_reached": self.fully_reached,
            "coverage": coverage,
            "duplicates": self.duplicates,
            "items": items,
        });
        Report { metrics, series: Vec::new(), detail }
    }
}

/// Axis labels of the metrics and time series.
pub const LABELS: [(&str, &str); 6] = [
    ("reach_p50_ms", "time for half the nodes to hold an item (ms, median over items)"),
    ("reach_p90_ms", "time for 90 % of the nodes to hold an item (ms, median over items)"),
    ("reach_p100_ms", "time for every node to hold an item (ms, median over items)"),
    ("bytes_sent", "bytes sent by all nodes"),
    ("messages_sent", "messages sent by all nodes"),
    ("events", "events simulated"),
];
