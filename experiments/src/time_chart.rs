//! `TimeSeries` plots: a series the protocol records, against simulated time. At every bucket the
//! line is the mean over the replicates of a point and the band its 95 % confidence interval;
//! there is one line per value of the `series` key (and per group, when a series has several).
//! Swept keys fixed with `at` select the points drawn.

use std::collections::BTreeMap;

use plots::{Chart, Datum, Series};

use crate::figures::PlotSpec;
use crate::summary::summarize;
use crate::table::Table;

/// One line: its label and, per bucket start (s), the values of the runs in plan order.
type Line = (String, BTreeMap<u64, (f64, Vec<f64>)>);

pub(crate) fn time_series_chart(spec: &PlotSpec, title: String, runs: &Table, series: &Table) -> Result<Chart, String> {
    let column = |table: &Table, file: &str, name: &str| {
        table.column(name).ok_or_else(|| format!("{file} has no column `{name}`"))
    };
    let (run_point, run_replicate) = (column(runs, "runs.csv", "point")?, column(runs, "runs.csv", "replicate")?);
    let fixed: Vec<(usize, &str)> = spec
        .at
        .iter()
        .map(|(key, value)| Ok((column(runs, "runs.csv", key)?, value.as_str())))
        .collect::<Result<_, String>>()?;
    let label_column = spec.series.as_deref().map(|key| column(runs, "runs.csv", key)).transpose()?;
    let mut label_of: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for row in runs.rows.iter().filter(|row| fixed.iter().all(|&(col, value)| row[col] == value)) {
        label_of.insert((&row[run_point], &row[run_replicate]), label_column.map_or("", |col| row[col].as_str()));
    }
    let [point, replicate, name, group, t, value] =
        ["point", "replicate", "series", "group", "t", "value"].map(|c| column(series, "series.csv", c));
    let (point, replicate, name, group, t, value) = (point?, replicate?, name?, group?, t?, value?);
    let rows: Vec<&Vec<String>> = series.rows.iter().filter(|row| row[name] == spec.y).collect();
    let groups = {
        let mut groups: Vec<&str> = rows.iter().map(|row| row[group].as_str()).collect();
        groups.dedup();
        groups.sort_unstable();
        groups.dedup();
        groups.len()
    };
    let mut lines: Vec<Line> = Vec::new();
    for row in rows {
        let Some(&series_value) = label_of.get(&(row[point].as_str(), row[replicate].as_str())) else { continue };
        let mut label = match &spec.series {
            Some(key) => format!("{}={series_value}", key.rsplit('.').next().unwrap_or(key)),
            None => spec.y.clone(),
        };
        if groups > 1 {
            label = format!("{label} ({})", row[group]);
        }
        let (Ok(seconds), Ok(v)) = (row[t].parse::<f64>(), row[value].parse::<f64>()) else { continue };
        let index = match lines.iter().position(|(l, _)| *l == label) {
            Some(index) => index,
            None => {
                lines.push((label, BTreeMap::new()));
                lines.len() - 1
            }
        };
        // Bucket starts are exact decimals; order them by their nanosecond value.
        let key = (seconds * 1e9).round() as u64;
        lines[index].1.entry(key).or_insert_with(|| (seconds, Vec::new())).1.push(v);
    }
    if lines.is_empty() {
        return Err(format!("no run recorded the series `{}` at the chosen points", spec.y));
    }
    let series = lines
        .into_iter()
        .map(|(label, buckets)| Series {
            label,
            data: buckets
                .values()
                .filter_map(|(x, values)| {
                    let summary = summarize(values)?;
                    Some(Datum { x: *x, y: summary.mean, interval: summary.ci95 })
                })
                .collect(),
        })
        .collect();
    Ok(Chart {
        title,
        x_label: "simulated time (s)".to_string(),
        y_label: format!("{} (mean over replicates, 95 % CI)", spec.y),
        log_x: false,
        log_y: spec.log_y,
        x_categories: None,
        series,
        reference: None,
        bands: true,
    })
}
