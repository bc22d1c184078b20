//! Charts over items rather than runs, read from the run files: the CDF of a metric's per-item
//! values (each block's, each flooded item's) and the propagation curve (the share of nodes
//! holding an item against the time since it was created), both pooled over the replicates of a
//! point, one curve per series value.

use serde_json::Value;

use crate::figures::{Derived, Labels, PlotSpec, series_label};
use crate::results::ResultDir;
use crate::table::Table;
use plots::{Chart, Datum, Series};

/// The run files of `rows`, one at a time.
fn run_files<'r>(
    rows: &'r [&'r Vec<String>],
    runs: &'r Table,
    dir: &'r ResultDir,
) -> impl Iterator<Item = Result<Value, String>> + 'r {
    let (point, replicate) = (runs.column("point"), runs.column("replicate"));
    rows.iter().map(move |row| {
        let (Some(point), Some(replicate)) = (point, replicate) else { return Err("runs.csv has no run ids".into()) };
        dir.read_json(&format!("runs/{}-{}.json", row[point], row[replicate])).map_err(|e| e.to_string())
    })
}

/// A metric's label for one item's value: the label without what it summarises over.
fn per_item_label(label: &str) -> String {
    match (label.find(", median over"), label.rfind(')')) {
        (Some(start), Some(end)) if start < end => format!("{}{}", &label[..start], &label[end..]),
        _ => label.to_string(),
    }
}

/// The CDF of a metric's per-item values (each block's, each item's), one curve per series
/// value, pooled over the replicates of a point; items that never got there count in the
/// fractions without being reached.
pub(crate) fn cdf_chart(spec: &PlotSpec, runs: &Table, dir: &ResultDir, labels: &Labels) -> Result<Chart, String> {
    let item =
        labels.per_item(&spec.y).ok_or_else(|| format!("the run files hold no per-item values of `{}`", spec.y))?;
    let mut series = Vec::new();
    for (value, rows) in runs.groups(spec.series.as_deref()) {
        let mut values = Vec::new();
        for run in run_files(&rows, runs, dir) {
            let run = run?;
            let items = run["detail"][item.list].as_array().into_iter().flatten();
            values.extend(items.map(|i| i[item.field].as_f64().unwrap_or(f64::INFINITY)));
        }
        series.push(plots::cdf(series_label(spec, &value), &values));
    }
    Ok(Chart {
        title: spec.title(),
        x_label: per_item_label(&labels.metric(&spec.y)),
        y_label: format!("fraction of {}s (all replicates)", item.noun),
        log_x: spec.log_x,
        log_y: false,
        x_categories: None,
        series,
        reference: None,
        intervals: plots::Intervals::ErrorBars,
    })
}

/// The propagation curve: for each series, at every tenth of the nodes, the median over items
/// (of every run in the series) of the time to reach it, in a band from the 10th to the 90th
/// percentile of items.
pub(crate) fn propagation_chart(
    spec: &PlotSpec,
    runs: &Table,
    dir: &ResultDir,
    labels: &Labels,
) -> Result<Chart, String> {
    let curve = labels.item_curve().ok_or("the protocol has no propagation curve")?;
    let mut series = Vec::new();
    for (value, rows) in runs.groups(spec.series.as_deref()) {
        let mut per_decile: Vec<Vec<Option<f64>>> = vec![Vec::new(); 10];
        for run in run_files(&rows, runs, dir) {
            let run = run?;
            for item in run["detail"][curve.list].as_array().into_iter().flatten() {
                for (decile, reach) in item[curve.field].as_array().into_iter().flatten().enumerate().take(10) {
                    per_decile[decile].push(reach.as_f64());
                }
            }
        }
        let data = per_decile
            .iter()
            .enumerate()
            .filter_map(|(i, times)| {
                let x = simulator::report::median_with_never(times)?;
                let spread = [0.1, 0.9].map(|q| simulator::report::quantile_with_never(times, q));
                let interval = match spread {
                    [Some(lo), Some(hi)] => Some((lo, hi)),
                    [Some(lo), None] => Some((lo, x)),
                    _ => None,
                };
                Some(Datum { x, y: (i + 1) as f64 / 10.0, interval })
            })
            .collect();
        series.push(Series { label: series_label(spec, &value), data });
    }
    let noun = curve.noun;
    Ok(Chart {
        title: spec
            .title
            .clone()
            .unwrap_or_else(|| format!("Share of nodes holding the {noun} vs time since its {}", curve.origin)),
        x_label: format!("time since {} (ms; median and 10th to 90th percentile of {noun}s)", curve.origin),
        y_label: format!("share of nodes holding the {noun}"),
        log_x: spec.log_x,
        log_y: false,
        x_categories: None,
        series,
        reference: None,
        intervals: plots::Intervals::SidewaysBand,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::PlotKind;

    /// Two points (40 and 80 nodes) × two replicates of a flood with three items each, one item
    /// of the second point never reaching half the nodes.
    fn results() -> (tempfile::TempDir, ResultDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ResultDir::new(tmp.path());
        let mut csv = String::from("point,replicate,seed,digest,network.nodes,reach_p50_ms\n");
        for (point, nodes) in [(0, 40), (1, 80)] {
            for replicate in 0..2 {
                csv.push_str(&format!("{point},{replicate},1,0,{nodes},5\n"));
                let item = |i: u32| {
                    let t50 = if point == 1 && replicate == 1 && i == 2 {
                        Value::Null
                    } else {
                        Value::from(f64::from(10 * nodes + 100 * replicate + i))
                    };
                    let deciles: Vec<f64> = (1..=10).map(|d| f64::from(d * nodes + i)).collect();
                    serde_json::json!({"item": i, "reach_p50_ms": t50, "reach_deciles_ms": deciles})
                };
                let run = serde_json::json!({"detail": {"items": (0..3).map(item).collect::<Vec<_>>()}});
                dir.write_run(&format!("{point}-{replicate}"), &run).unwrap();
            }
        }
        std::fs::write(tmp.path().join("runs.csv"), csv).unwrap();
        (tmp, dir)
    }

    fn flood() -> Labels {
        Labels::of(&serde_json::json!({"config": {"protocol": {"Flood": {}}}}))
    }

    fn spec(kind: PlotKind, y: &str) -> PlotSpec {
        PlotSpec { series: Some("network.nodes".into()), ..PlotSpec::new(kind, y) }
    }

    #[test]
    fn a_cdf_draws_every_items_value_pooled_over_replicates_one_curve_per_series_value() {
        let (_tmp, dir) = results();
        let runs = Table::read(&dir, "runs.csv").unwrap();
        let chart = cdf_chart(&spec(PlotKind::Cdf, "reach_p50_ms"), &runs, &dir, &flood()).unwrap();
        let labels: Vec<&str> = chart.series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["nodes=40", "nodes=80"]);
        // Six items a point; each finite value is a step of 1/6.
        let steps = |i: usize| chart.series[i].data.iter().map(|d| (d.x, d.y)).collect::<Vec<_>>();
        let first = steps(0);
        assert_eq!(first.len(), 12);
        assert_eq!(first[0], (400.0, 0.0));
        assert_eq!(first.last(), Some(&(502.0, 1.0)));
        // The item that never reached half the nodes keeps the curve below 1.
        let second = steps(1);
        assert_eq!(second.len(), 10);
        assert_eq!(second.last().map(|&(_, y)| y), Some(5.0 / 6.0));
        assert_eq!(chart.y_label, "fraction of items (all replicates)");
        assert!(!chart.x_label.contains("median"), "{}", chart.x_label);
    }

    #[test]
    fn the_propagation_curve_has_a_band_from_the_10th_to_the_90th_percentile_of_items() {
        let (_tmp, dir) = results();
        let runs = Table::read(&dir, "runs.csv").unwrap();
        let chart = propagation_chart(&spec(PlotKind::Propagation, "reach_deciles_ms"), &runs, &dir, &flood()).unwrap();
        let first = &chart.series[0].data;
        assert_eq!(first.len(), 10);
        // Half the nodes (the fifth tenth) at 200 + i ms for items i = 0, 1, 2 of both replicates.
        assert_eq!((first[4].x, first[4].y), (201.0, 0.5));
        assert_eq!(first[4].interval, Some((200.0, 202.0)));
        assert_eq!(chart.intervals, plots::Intervals::SidewaysBand);
        assert_eq!(chart.title, "Share of nodes holding the item vs time since its creation");
    }
}
