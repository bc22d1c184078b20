//! `TimeSeries` plots: a series the protocol records, against simulated time. At every bucket the
//! line is the mean over the replicates of a point and the band its 95 % confidence interval;
//! there is one line per value of the `series` key (and per group, when a series has several).
//! Swept keys fixed with `at` select the points drawn. A line stops where its shortest run
//! stopped: past that, a mean over the runs still going would change meaning at every run's end.

use std::collections::{BTreeMap, BTreeSet};

use plots::{Chart, Datum, Series};

use crate::figures::{Labels, PlotSpec};
use crate::summary::summarize;
use crate::table::Table;

/// One line: its label, the runs it draws from, and per bucket start (ns) the start in seconds
/// and the values of the runs in plan order.
type Line<'r> = (String, BTreeSet<(&'r str, &'r str)>, BTreeMap<u64, (f64, Vec<f64>)>);

pub(crate) fn time_series_chart(
    spec: &PlotSpec,
    (title, labels): (String, &Labels),
    runs: &Table,
    series: &Table,
) -> Result<Chart, String> {
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
    let groups = rows.iter().map(|row| row[group].as_str()).collect::<BTreeSet<_>>().len();
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
        let index = match lines.iter().position(|(l, _, _)| *l == label) {
            Some(index) => index,
            None => {
                lines.push((label, BTreeSet::new(), BTreeMap::new()));
                lines.len() - 1
            }
        };
        let (_, line_runs, buckets) = &mut lines[index];
        line_runs.insert((row[point].as_str(), row[replicate].as_str()));
        // Bucket starts are exact decimals; order them by their nanosecond value.
        let key = (seconds * 1e9).round() as u64;
        buckets.entry(key).or_insert_with(|| (seconds, Vec::new())).1.push(v);
    }
    if lines.is_empty() {
        return Err(format!("no run recorded the series `{}` at the chosen points", spec.y));
    }
    let series = lines
        .into_iter()
        .map(|(label, line_runs, buckets)| Series {
            label,
            data: buckets
                .values()
                .take_while(|(_, values)| values.len() == line_runs.len())
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
        y_label: format!("{}; mean over replicates, 95 % CI", labels.metric(&spec.y)),
        log_x: false,
        log_y: spec.log_y,
        x_categories: None,
        series,
        reference: None,
        intervals: plots::Intervals::Band,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::PlotKind;

    fn table(header: &[&str], rows: &[&[&str]]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: rows.iter().map(|row| row.iter().map(|c| c.to_string()).collect()).collect(),
        }
    }

    #[test]
    fn a_line_ends_where_its_shortest_run_ended() {
        let runs = table(&["point", "replicate"], &[&["0", "0"], &["0", "1"]]);
        let row = |replicate: &'static str, t: &'static str, v: &'static str| ["0", replicate, "forks", "all", t, v];
        let rows =
            [row("0", "0", "1"), row("0", "600", "3"), row("0", "1200", "4"), row("1", "0", "3"), row("1", "600", "5")];
        let series = table(
            &["point", "replicate", "series", "group", "t", "value"],
            &rows.iter().map(|r| r.as_slice()).collect::<Vec<_>>(),
        );
        let chart = time_series_chart(
            &PlotSpec::new(PlotKind::TimeSeries, "forks"),
            ("t".into(), &Labels::none()),
            &runs,
            &series,
        )
        .unwrap();
        let points: Vec<(f64, f64)> = chart.series[0].data.iter().map(|d| (d.x, d.y)).collect();
        assert_eq!(points, [(0.0, 2.0), (600.0, 4.0)], "the bucket only replicate 0 reached is left out");
    }
}
