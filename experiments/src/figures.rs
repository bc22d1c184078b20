//! Plots of an experiment: declared in the experiment file (`plots: [...]`) or, when none are,
//! the protocol's defaults. They are drawn from `summary.csv` (line charts: mean with 95 % CI
//! error bars against a swept key, one series per value of another swept key), `runs.csv` and
//! the run files (CDFs of a metric's per-item values, and propagation curves, pooled over a
//! point's replicates), so `chainsim plot DIR` can redraw them without running anything.

use serde_json::Value;
use std::path::PathBuf;

use crate::experiment::Experiment;
use crate::results::{ResultDir, WriteError};
use crate::table::Table;
use plots::{Chart, Datum, Reference, Series};

pub use models::registry::{PlotKind, PlotSpec, ReferenceLine};

/// File names and titles derived from a plot's axes.
pub(crate) trait Derived {
    fn file_stem(&self) -> String;
    fn title(&self) -> String;
}

impl Derived for PlotSpec {
    /// The file stem under `plots/`: named after the axes and the keys held fixed.
    fn file_stem(&self) -> String {
        let short = |key: &str| key.rsplit('.').next().unwrap_or(key).to_string();
        self.name.clone().unwrap_or_else(|| {
            let mut stem = match (self.kind, &self.x) {
                (PlotKind::Line, Some(x)) => format!("{}-vs-{}", self.y, short(x)),
                (PlotKind::Propagation, _) => "propagation".to_string(),
                (PlotKind::TimeSeries, _) => format!("{}-over-time", self.y),
                _ => format!("{}-cdf", self.y),
            };
            for (key, value) in &self.at {
                let value: String = value
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
                    .collect();
                stem.push_str(&format!("-at-{}-{value}", short(key)));
            }
            stem
        })
    }

    fn title(&self) -> String {
        self.title.clone().unwrap_or_else(|| match (self.kind, &self.x) {
            (PlotKind::Line, Some(x)) => format!("{} vs {x}", self.y),
            (PlotKind::Propagation, _) => "Share of nodes holding an item vs time since its creation".to_string(),
            (PlotKind::TimeSeries, _) => format!("{} over time", self.y),
            _ => format!("CDF of {} over items", self.y),
        })
    }
}

/// The plots drawn for `experiment`: its own, or the protocol's defaults.
pub fn plots_for(experiment: &Experiment) -> Vec<PlotSpec> {
    if !experiment.plots.is_empty() {
        return experiment.plots.clone();
    }
    let keys: Vec<&str> = experiment.sweep.iter().chain(&experiment.zip).map(|a| a.key.as_str()).collect();
    experiment.protocol.default_plots(&keys)
}

/// Checks that every plot names swept keys and reported metrics; errors name the plot.
pub fn validate(experiment: &Experiment) -> Result<(), String> {
    let keys: Vec<&str> = experiment.sweep.iter().chain(&experiment.zip).map(|a| a.key.as_str()).collect();
    let metrics = experiment.protocol.metric_names();
    for (i, plot) in experiment.plots.iter().enumerate() {
        let here = format!("plots[{i}]");
        if plot.kind == PlotKind::Propagation {
            match experiment.protocol.item_curve() {
                Some(curve) if plot.y == curve.field => {}
                Some(curve) => return Err(format!("{here}.y: a Propagation plot shows `{}`", curve.field)),
                None => {
                    return Err(format!(
                        "{here}.kind: the {} protocol has no propagation curve",
                        experiment.protocol.name()
                    ));
                }
            }
        } else if plot.kind == PlotKind::TimeSeries {
            check_time_series(experiment, plot).map_err(|e| format!("{here}.{e}"))?;
        } else if plot.kind == PlotKind::Cdf
            && metrics.contains(&plot.y)
            && experiment.protocol.per_item(&plot.y).is_none()
        {
            let with: Vec<&String> = metrics.iter().filter(|m| experiment.protocol.per_item(m).is_some()).collect();
            let with = if with.is_empty() {
                "none of this protocol's metrics has".to_string()
            } else {
                format!("{} have", with.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "))
            };
            return Err(format!(
                "{here}.y: the run files hold no per-item values of `{}` to draw a CDF of ({with} them); draw it as a Line against a swept key",
                plot.y
            ));
        } else if !metrics.contains(&plot.y) {
            return Err(format!(
                "{here}.y: `{}` is not a metric of this protocol; metrics: {}",
                plot.y,
                metrics.join(", ")
            ));
        }
        for (field, key) in [("x", &plot.x), ("series", &plot.series)] {
            if let Some(key) = key
                && !keys.contains(&key.as_str())
            {
                let known = if keys.is_empty() {
                    "this experiment sweeps nothing; add the key to `sweep`".to_string()
                } else {
                    format!("swept keys: {}", keys.join(", "))
                };
                return Err(format!("{here}.{field}: `{key}` is not a swept key; {known}"));
            }
        }
        match plot.kind {
            PlotKind::Line if plot.x.is_none() => {
                return Err(format!("{here}.x: a Line plot needs a swept key on the x axis"));
            }
            PlotKind::Line | PlotKind::Cdf | PlotKind::Propagation => {
                check_unpooled(experiment, plot).map_err(|e| format!("{here}.{e}"))?
            }
            PlotKind::TimeSeries => {}
        }
        if let Some(other) = experiment.plots[..i].iter().position(|p| p.file_stem() == plot.file_stem()) {
            return Err(format!(
                "{here}.name: draws to the same file as plots[{other}] (`{}`); give one of them a name",
                plot.file_stem()
            ));
        }
    }
    Ok(())
}

/// A `TimeSeries` plot names a recorded series and pools nothing across a swept key: every
/// swept key but `series` is held at one of its values by `at`.
fn check_time_series(experiment: &Experiment, plot: &PlotSpec) -> Result<(), String> {
    if plot.x.is_some() {
        return Err("x: a TimeSeries plot has simulated time on the x axis; remove x".to_string());
    }
    let names = experiment.protocol.series_names();
    if !names.contains(&plot.y) {
        let known = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        return Err(format!("y: `{}` is not a time series of this protocol; series: {known}", plot.y));
    }
    check_unpooled(experiment, plot)
}

/// Every `at` names a swept key and one of its values, and every swept key is on an axis
/// (`x`, `series`) or fixed by `at`: a line never pools points of different settings.
fn check_unpooled(experiment: &Experiment, plot: &PlotSpec) -> Result<(), String> {
    check_at(experiment, plot)?;
    let zipped = |key: &str| experiment.zip.iter().any(|axis| axis.key == key);
    let on_axis = |key: &str| {
        plot.x.as_deref() == Some(key) || plot.series.as_deref() == Some(key) || plot.at.iter().any(|(k, _)| k == key)
    };
    // A zipped key moves with the others of its group: one of them chosen fixes it.
    let chosen = |key: &str| on_axis(key) || (zipped(key) && experiment.zip.iter().any(|axis| on_axis(&axis.key)));
    let axes = experiment.sweep.iter().chain(&experiment.zip);
    match axes.into_iter().find(|axis| !chosen(&axis.key)) {
        Some(axis) => Err(format!(
            "at: the lines would pool the runs of every value of the swept key `{0}`; make it the series or fix it with at: [(\"{0}\", \"...\")]",
            axis.key
        )),
        None => Ok(()),
    }
}

/// Every `at` names a swept key and one of the values it takes.
fn check_at(experiment: &Experiment, plot: &PlotSpec) -> Result<(), String> {
    let axes: Vec<&crate::sweep::Axis> = experiment.sweep.iter().chain(&experiment.zip).collect();
    for (key, value) in &plot.at {
        let Some(axis) = axes.iter().find(|axis| axis.key == *key) else {
            return Err(format!("at: `{key}` is not a swept key"));
        };
        let values: Vec<String> = axis.values.iter().map(crate::sweep::display).collect();
        if !values.contains(value) {
            return Err(format!("at: `{key}` takes the values {}, not `{value}`", values.join(", ")));
        }
    }
    Ok(())
}

fn number(cell: Option<&String>) -> Option<f64> {
    cell.and_then(|c| c.parse().ok())
}

/// A series' legend entry: `key=value`, or the value alone for a `label` (already in words).
pub(crate) fn series_label(spec: &PlotSpec, value: &Option<String>) -> String {
    match (&spec.series, value) {
        (Some(key), Some(v)) if key == "label" => v.clone(),
        (Some(key), Some(v)) => format!("{}={v}", key.rsplit('.').next().unwrap_or(key)),
        _ => spec.y.clone(),
    }
}

/// Axis labels: the protocol's words for its metrics and series, and a swept key's last part.
pub(crate) struct Labels(Option<&'static dyn models::registry::ProtocolEntry>);

impl Labels {
    /// The labels of the protocol the manifest's experiment names.
    pub(crate) fn of(manifest: &Value) -> Self {
        let name = manifest["config"]["protocol"].as_object().and_then(|p| p.keys().next().cloned());
        Labels(name.and_then(|name| models::registry::lookup(&name)))
    }

    /// No protocol's labels: column names in words.
    #[cfg(test)]
    pub(crate) fn none() -> Self {
        Labels(None)
    }

    /// The label of metric or series `name`.
    pub(crate) fn metric(&self, name: &str) -> String {
        self.0.and_then(|protocol| protocol.label(name)).map_or_else(|| name.replace('_', " "), str::to_string)
    }

    /// Where the protocol's run files hold `metric` per item.
    pub(crate) fn per_item(&self, metric: &str) -> Option<models::registry::PerItem> {
        self.0.and_then(|protocol| protocol.per_item(metric))
    }

    /// The protocol's per-item curve.
    pub(crate) fn item_curve(&self) -> Option<models::registry::ItemCurve> {
        self.0.and_then(|protocol| protocol.item_curve())
    }

    /// The label of swept key `key`: the protocol's words for it if it has them (looked up by
    /// the full key), else its last part (`protocol.cross_shard_ratio` is "cross shard ratio").
    fn key(&self, key: &str) -> String {
        self.0
            .and_then(|protocol| protocol.label(key))
            .map_or_else(|| key.rsplit('.').next().unwrap_or(key).replace('_', " "), str::to_string)
    }
}

fn line_chart(spec: &PlotSpec, summary: &Table, labels: &Labels) -> Result<Chart, String> {
    let x_key = spec.x.as_deref().ok_or("a Line plot needs x")?;
    let x_col = summary.column(x_key).ok_or_else(|| format!("summary.csv has no column `{x_key}`"))?;
    let mean =
        summary.column(&format!("{}_mean", spec.y)).ok_or_else(|| format!("summary.csv has no metric `{}`", spec.y))?;
    let (low, high) =
        (summary.column(&format!("{}_ci95_low", spec.y)), summary.column(&format!("{}_ci95_high", spec.y)));
    let cells: Vec<&str> = summary.rows.iter().map(|r| r[x_col].as_str()).collect();
    let quantity = Quantity::of(&cells);
    let numeric = quantity.is_some() || cells.iter().all(|c| c.parse::<f64>().is_ok());
    let mut categories: Vec<String> = Vec::new();
    if !numeric {
        for row in &summary.rows {
            if !categories.contains(&row[x_col]) {
                categories.push(row[x_col].clone());
            }
        }
    }
    let mut series: Vec<Series> = summary
        .groups(spec.series.as_deref())
        .into_iter()
        .map(|(value, rows)| {
            let mut data: Vec<Datum> = rows
                .iter()
                .filter_map(|row| {
                    let x = if let Some(quantity) = &quantity {
                        quantity.value(&row[x_col])?
                    } else if numeric {
                        row[x_col].parse().ok()?
                    } else {
                        categories.iter().position(|c| *c == row[x_col])? as f64
                    };
                    let y = number(row.get(mean))?;
                    let interval = number(low.and_then(|c| row.get(c))).zip(number(high.and_then(|c| row.get(c))));
                    Some(Datum { x, y, interval })
                })
                .collect();
            data.sort_by(|a, b| a.x.total_cmp(&b.x));
            Series { label: series_label(spec, &value), data }
        })
        .collect();
    if spec.ideal_linear
        && numeric
        && let Some(first) = series.first().filter(|s| s.data.first().is_some_and(|d| d.x > 0.0))
    {
        let base = first.data[0];
        let data = first.data.iter().map(|d| Datum { x: d.x, y: base.y * d.x / base.x, interval: None }).collect();
        series.push(Series { label: "ideal (linear)".to_string(), data });
    }
    Ok(Chart {
        title: spec.title(),
        x_label: match &quantity {
            Some(quantity) => format!("{} ({})", labels.key(x_key), quantity.unit),
            None => labels.key(x_key),
        },
        y_label: format!("{}; mean, 95 % CI", labels.metric(&spec.y)),
        log_x: spec.log_x && numeric,
        log_y: spec.log_y,
        x_categories: (!numeric).then_some(categories),
        series,
        reference: spec.reference.as_ref().map(|r| Reference { label: r.label.clone(), y: r.y }),
        intervals: plots::Intervals::ErrorBars,
    })
}

/// Reads a value with a unit into its base unit.
type Parse = fn(&str) -> Result<u64, String>;

/// Swept values written with a unit (durations such as "12s", sizes such as "1MB"), drawn as
/// numbers in the largest unit that the biggest of them reaches.
struct Quantity {
    parse: Parse,
    unit: &'static str,
    scale: f64,
}

impl Quantity {
    const DURATIONS: [(&'static str, f64); 7] =
        [("d", 86_400e9), ("h", 3_600e9), ("min", 60e9), ("s", 1e9), ("ms", 1e6), ("us", 1e3), ("ns", 1.0)];
    const SIZES: [(&'static str, f64); 4] = [("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("bytes", 1.0)];

    /// The quantity every cell is, if they all are one and not all plain numbers.
    fn of(cells: &[&str]) -> Option<Quantity> {
        if cells.is_empty() || cells.iter().all(|c| c.parse::<f64>().is_ok()) {
            return None;
        }
        let kinds: [(Parse, &[(&'static str, f64)]); 2] =
            [(simulator::units::parse_duration, &Self::DURATIONS), (simulator::units::parse_size, &Self::SIZES)];
        kinds.into_iter().find_map(|(parse, units)| {
            let values: Vec<u64> = cells.iter().map(|c| parse(c).ok()).collect::<Option<_>>()?;
            let largest = values.into_iter().max().unwrap_or(0) as f64;
            let &(unit, scale) = units.iter().find(|(_, scale)| largest >= *scale).unwrap_or(&units[units.len() - 1]);
            Some(Quantity { parse, unit, scale })
        })
    }

    fn value(&self, cell: &str) -> Option<f64> {
        (self.parse)(cell).ok().map(|v| v as f64 / self.scale)
    }
}

/// Draws every plot listed in the manifest of `dir` into `dir/plots/` as PNG and SVG. Returns
/// the files drawn and, per plot that could not be drawn, why.
pub fn draw_all(dir: &ResultDir) -> Result<(Vec<PathBuf>, Vec<String>), WriteError> {
    let manifest = dir.read_json("manifest.json")?;
    let specs: Vec<PlotSpec> =
        serde_json::from_value(manifest.get("plots").cloned().unwrap_or(Value::Array(vec![])))
            .map_err(|e| WriteError { path: dir.path().join("manifest.json"), message: format!("plots: {e}") })?;
    let labels = Labels::of(&manifest);
    let summary = Table::read(dir, "summary.csv")?;
    let runs = Table::read(dir, "runs.csv")?;
    let plots_dir = dir.path().join("plots");
    std::fs::create_dir_all(&plots_dir).map_err(|e| WriteError { path: plots_dir.clone(), message: e.to_string() })?;
    let (mut drawn, mut problems) = (Vec::new(), Vec::new());
    for spec in &specs {
        let stem = spec.file_stem();
        let chart = match spec.kind {
            PlotKind::Line => line_chart(spec, &summary.at(&spec.at), &labels),
            PlotKind::Cdf => crate::item_charts::cdf_chart(spec, &runs.at(&spec.at), dir, &labels),
            PlotKind::Propagation => crate::item_charts::propagation_chart(spec, &runs.at(&spec.at), dir, &labels),
            PlotKind::TimeSeries => Table::read(dir, "series.csv")
                .map_err(|e| e.to_string())
                .and_then(|series| crate::time_chart::time_series_chart(spec, (spec.title(), &labels), &runs, &series)),
        };
        let chart = match chart {
            Ok(chart) => chart,
            Err(e) => {
                problems.push(format!("{stem}: {e}"));
                continue;
            }
        };
        for extension in ["png", "svg"] {
            // Drawn beside the target and renamed, so a reader never sees half a chart.
            let target = plots_dir.join(format!("{stem}.{extension}"));
            let temporary = plots_dir.join(format!(".{stem}.tmp-{}.{extension}", std::process::id()));
            match plots::draw(&chart, &temporary) {
                Ok(()) => {
                    std::fs::rename(&temporary, &target)
                        .map_err(|e| WriteError { path: target.clone(), message: e.to_string() })?;
                    drawn.push(target);
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&temporary);
                    problems.push(format!("{stem}.{extension}: {e}"));
                }
            }
        }
    }
    Ok((drawn, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plot_key_that_is_not_swept_says_what_is() {
        let experiment = |sweep: &str| {
            let text = format!(
                r#"(name: "t", network: (nodes: 10, topology: RandomRegular(degree: 4)), protocol: Flood(items: 2),
                    {sweep} plots: [(x: "nodez", y: "reach_p50_ms")])"#
            );
            crate::load::parse(&text, std::path::Path::new("t.ron")).unwrap()
        };
        let err = validate(&experiment("")).unwrap_err();
        assert!(err.contains("plots[0].x: `nodez`") && err.contains("sweeps nothing"), "{err}");
        let err = validate(&experiment(r#"sweep: [("network.nodes", [10, 20])],"#)).unwrap_err();
        assert!(err.ends_with("swept keys: network.nodes"), "{err}");
    }

    #[test]
    fn a_line_plot_never_pools_a_swept_key_and_plots_never_share_a_file() {
        let experiment = |plots: &str| {
            let text = format!(
                r#"(name: "t", network: (nodes: 10, topology: RandomRegular(degree: 4)), protocol: Flood(items: 2),
                    sweep: [("network.nodes", [10, 20]), ("protocol.items", [2, 3])], plots: [{plots}])"#
            );
            crate::load::parse(&text, std::path::Path::new("t.ron")).unwrap()
        };
        let err = validate(&experiment(r#"(x: "network.nodes", y: "reach_p50_ms")"#)).unwrap_err();
        assert!(err.starts_with("plots[0].at: the lines would pool") && err.contains("`protocol.items`"), "{err}");
        let fixed = r#"(x: "network.nodes", y: "reach_p50_ms", at: [("protocol.items", "3")])"#;
        assert_eq!(validate(&experiment(fixed)), Ok(()));
        let err = validate(&experiment(&format!("{fixed}, {fixed}"))).unwrap_err();
        assert!(err.starts_with("plots[1].name: draws to the same file as plots[0]"), "{err}");
        let err = validate(&experiment(r#"(x: "network.nodes", y: "reach_p50_ms", at: [("protocol.items", "4")])"#))
            .unwrap_err();
        assert!(err.contains("takes the values 2, 3, not `4`"), "{err}");
    }

    #[test]
    fn durations_and_sizes_are_numbers_on_an_axis() {
        let days = Quantity::of(&["0s", "12h", "3d"]).unwrap();
        assert_eq!((days.unit, days.value("12h")), ("d", Some(0.5)));
        let sizes = Quantity::of(&["500KB", "2MB"]).unwrap();
        assert_eq!((sizes.unit, sizes.value("500KB")), ("MB", Some(0.5)));
        assert!(Quantity::of(&["1", "2"]).is_none() && Quantity::of(&["Fifo", "1s"]).is_none());
    }
}
