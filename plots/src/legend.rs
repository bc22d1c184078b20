//! Where a chart's legend goes and what it says: an empty corner of the plotting area, or,
//! when every corner holds data, a column beside it.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{FONT, Intervals, Prepared, series_colour};

/// Where the legend goes: the corner of the plotting area with no data points (nor error-bar
/// ends) in it, each corner's box spanning 40 % of the width and 35 % of the height, or, when every
/// corner holds data, beside the plotting area.
pub(crate) enum LegendPlace {
    Corner(SeriesLabelPosition),
    Beside,
}

pub(crate) fn legend_place(p: &Prepared<'_>) -> LegendPlace {
    let (x0, x1) = p.x_range;
    let (y0, y1) = p.y_range;
    let sideways = p.chart.intervals == Intervals::SidewaysBand;
    let mut points: Vec<(f64, f64)> = Vec::new();
    for data in &p.series {
        for d in data {
            let (lo, hi) = d.interval.unwrap_or(if sideways { (d.x, d.x) } else { (d.y, d.y) });
            let ends = if sideways { [(lo, d.y), (hi, d.y)] } else { [(d.x, lo), (d.x, hi)] };
            points.push((d.x, d.y));
            points.extend(ends);
        }
        // A line can cross a corner that holds none of its points: its segments count too, in
        // tenths (categories stand alone, with no line between them).
        if p.chart.x_categories.is_none() {
            for pair in data.windows(2) {
                let along = |k: u32, a: f64, b: f64| a + (b - a) * f64::from(k) / 10.0;
                points.extend((1..10).map(|k| (along(k, pair[0].x, pair[1].x), along(k, pair[0].y, pair[1].y))));
            }
        }
    }
    if let Some(reference) = &p.chart.reference {
        let y = if p.chart.log_y { libm::log10(reference.y) } else { reference.y };
        points.extend((0..=10).map(|k| (x0 + (x1 - x0) * f64::from(k) / 10.0, y)));
    }
    let fraction = |v: f64, lo: f64, hi: f64| (v - lo) / (hi - lo);
    let points: Vec<(f64, f64)> = points.into_iter().map(|(x, y)| (fraction(x, x0, x1), fraction(y, y0, y1))).collect();
    let corners = [
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let inside = |right: bool, upper: bool| {
        points
            .iter()
            .filter(|&&(x, y)| (if right { x > 0.6 } else { x < 0.4 }) && (if upper { y > 0.65 } else { y < 0.35 }))
            .count()
    };
    corners
        .into_iter()
        .find(|&(_, right, upper)| inside(right, upper) == 0)
        .map_or(LegendPlace::Beside, |c| LegendPlace::Corner(c.0))
}

/// One line of a legend: its label, its colour, and whether its mark is a point (a series over
/// categories) rather than a line.
pub(crate) struct LegendEntry {
    pub(crate) label: String,
    color: RGBAColor,
    point: bool,
}

/// The legend's entries: each series with something to draw, and the reference line.
pub(crate) fn legend_entries(p: &Prepared<'_>) -> Vec<LegendEntry> {
    let point = p.chart.x_categories.is_some();
    let series = p.chart.series.iter().zip(&p.series).enumerate().filter(|(_, (_, data))| !data.is_empty());
    let mut entries: Vec<LegendEntry> =
        series.map(|(i, (s, _))| LegendEntry { label: s.label.clone(), color: series_colour(i), point }).collect();
    entries.extend(p.chart.reference.as_ref().map(|r| LegendEntry {
        label: r.label.clone(),
        color: BLACK.to_rgba(),
        point: false,
    }));
    entries
}

/// Draws the legend in `area`, beside the plotting area: each entry's mark in its colour and its
/// label, from the top of the plotting area down.
pub(crate) fn side_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
) -> Result<(), String> {
    for (i, entry) in entries.iter().enumerate() {
        let y = 90 + 26 * i as i32;
        let mark = if entry.point {
            area.draw(&Circle::new((16, y), 5, entry.color.filled()))
        } else {
            area.draw(&PathElement::new(vec![(4, y), (28, y)], entry.color.stroke_width(2)))
        };
        mark.map_err(|e| e.to_string())?;
        area.draw(&Text::new(entry.label.clone(), (36, y - 8), (FONT, 15))).map_err(|e| e.to_string())?;
    }
    Ok(())
}
