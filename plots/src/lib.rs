//! Charts for chainsim results: line charts with confidence-interval error bars, several series,
//! optional log axes and a reference line; and empirical CDFs. PNG or SVG by file extension.
//! Text uses an embedded font (DejaVu Sans), so drawing needs no font installed on the machine.
//!
//! Log axes are drawn by plotting log10 of the values on a linear axis and labelling ticks with
//! the original values, which keeps one code path for every combination of axes.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod legend;

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

use legend::{LegendPlace, legend_entries, legend_place, side_legend};

/// One point of a series, with an optional interval drawn as an error bar.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Datum {
    /// Position on the x axis.
    pub x: f64,
    /// Value.
    pub y: f64,
    /// Lower and upper end of the interval around `y`, if any.
    pub interval: Option<(f64, f64)>,
}

/// A labelled line of data.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points in x order.
    pub data: Vec<Datum>,
}

/// A horizontal reference line.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// Legend label.
    pub label: String,
    /// Its y value.
    pub y: f64,
}

/// Everything needed to draw one chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Title above the chart.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Names of x positions 0, 1, 2, … when x is categorical rather than numeric.
    pub x_categories: Option<Vec<String>>,
    /// The lines.
    pub series: Vec<Series>,
    /// An optional horizontal line.
    pub reference: Option<Reference>,
    /// How each series' intervals are drawn.
    pub intervals: Intervals,
}

/// How the intervals of a series are drawn.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Intervals {
    /// An error bar on y at each point.
    #[default]
    ErrorBars,
    /// A shaded band between the y intervals, around the line (dense x values such as time).
    Band,
    /// A shaded band between x intervals, across the line: the interval of each point is the
    /// spread of x at its y (times at which shares of nodes were reached).
    SidewaysBand,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Nothing to draw (no finite data, or non-positive data on a log axis).
    #[error("no data to draw for `{0}`")]
    NoData(String),
    /// The file type is not PNG or SVG.
    #[error("{0}: write charts as .png or .svg")]
    Format(String),
    /// The drawing backend failed.
    #[error("drawing {path}: {message}")]
    Drawing {
        /// The file.
        path: String,
        /// The backend's message.
        message: String,
    },
}

/// The empirical CDF of `values` as a step line: (v, fraction of values ≤ v).
pub fn cdf(label: impl Into<String>, values: &[f64]) -> Series {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    // A value that is not finite never happened (an item that never got there): it counts in
    // the fractions but is never reached, so the curve ends below 1.
    let n = values.len() as f64;
    let mut data = Vec::with_capacity(2 * sorted.len());
    for (i, &v) in sorted.iter().enumerate() {
        data.push(Datum { x: v, y: i as f64 / n, interval: None });
        data.push(Datum { x: v, y: (i + 1) as f64 / n, interval: None });
    }
    Series { label: label.into(), data }
}

const FONT: &str = "sans-serif";

/// Series colours: the Okabe–Ito palette, which readers with any common colour-vision deficiency
/// tell apart, without its yellow (too pale on white); black is kept for reference lines.
const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
];

/// The colour of series `i`; past the palette, the colours come round again.
fn series_colour(i: usize) -> RGBAColor {
    PALETTE[i % PALETTE.len()].to_rgba()
}

fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            let registered = plotters::style::register_font(FONT, style, dejavu::sans::regular());
            assert!(registered.is_ok(), "the embedded DejaVu Sans font is a valid font");
        }
    });
}

/// Draws `chart` to `path` (`.png` or `.svg`), creating nothing on error.
pub fn draw(chart: &Chart, path: &Path) -> Result<(), PlotError> {
    register_font();
    let name = path.display().to_string();
    let fail = |e: String| PlotError::Drawing { path: name.clone(), message: e };
    match path.extension().and_then(|e| e.to_str()) {
        Some("png") => {
            let prepared = Prepared::new(chart)?;
            let root = BitMapBackend::new(path, (960, 640)).into_drawing_area();
            render(&root, &prepared).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        Some("svg") => {
            let prepared = Prepared::new(chart)?;
            let root = SVGBackend::new(path, (960, 640)).into_drawing_area();
            render(&root, &prepared).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        _ => Err(PlotError::Format(name)),
    }
}

/// The chart with log axes applied and its ranges computed.
struct Prepared<'a> {
    chart: &'a Chart,
    series: Vec<Vec<Datum>>,
    x_range: (f64, f64),
    y_range: (f64, f64),
}

impl<'a> Prepared<'a> {
    fn new(chart: &'a Chart) -> Result<Self, PlotError> {
        let axis = |log: bool, v: f64| if log { if v > 0.0 { libm::log10(v) } else { f64::NAN } } else { v };
        let sideways = chart.intervals == Intervals::SidewaysBand;
        let interval_log = if sideways { chart.log_x } else { chart.log_y };
        let series: Vec<Vec<Datum>> = chart
            .series
            .iter()
            .map(|s| {
                s.data
                    .iter()
                    .map(|d| Datum {
                        x: axis(chart.log_x, d.x),
                        y: axis(chart.log_y, d.y),
                        interval: d.interval.map(|(lo, hi)| (axis(interval_log, lo), axis(interval_log, hi))),
                    })
                    .filter(|d| d.x.is_finite() && d.y.is_finite())
                    .collect()
            })
            .collect();
        let mut xs: Vec<f64> = series.iter().flatten().map(|d| d.x).collect();
        let mut ys: Vec<f64> = series.iter().flatten().map(|d| d.y).collect();
        let ends = series.iter().flatten().filter_map(|d| d.interval).flat_map(|(lo, hi)| [lo, hi]);
        if sideways { &mut xs } else { &mut ys }.extend(ends.filter(|v| v.is_finite()));
        ys.extend(chart.reference.as_ref().map(|r| axis(chart.log_y, r.y)).filter(|v| v.is_finite()));
        let range = |values: &[f64]| -> Option<(f64, f64)> {
            let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !lo.is_finite() {
                return None;
            }
            let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.05 };
            Some((lo - pad, hi + pad))
        };
        let (Some(x_range), Some(y_range)) = (range(&xs), range(&ys)) else {
            return Err(PlotError::NoData(chart.title.clone()));
        };
        // Every category gets the same room, the outer ones included.
        let x_range = match &chart.x_categories {
            Some(names) => (-0.5, names.len() as f64 - 0.5),
            None => x_range,
        };
        Ok(Prepared { chart, series, x_range, y_range })
    }
}

/// Short tick label for a value (the original value on a log axis, to 3 significant digits).
fn tick(v: f64, log: bool) -> String {
    let v = if log {
        let raw = libm::pow(10.0, v);
        let scale = libm::pow(10.0, 2.0 - libm::floor(libm::log10(raw.abs())));
        (raw * scale).round() / scale
    } else {
        v
    };
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-2) {
        // Three significant digits, so that neighbouring ticks (1e6, 1.05e6) read differently.
        let text = format!("{v:.2e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa =
            if mantissa.contains('.') { mantissa.trim_end_matches('0').trim_end_matches('.') } else { mantissa };
        format!("{mantissa}e{exponent}")
    } else {
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}

/// A linear coordinate whose ticks are chosen here rather than by plotters (which puts them at
/// 1.58, 2.51, ... on a log axis drawn as log10 values).
struct Ticked {
    range: plotters::coord::types::RangedCoordf64,
    keys: Vec<f64>,
}

impl Ticked {
    fn new((lo, hi): (f64, f64), keys: Vec<f64>) -> Self {
        Ticked { range: (lo..hi).into(), keys }
    }
}

impl Ranged for Ticked {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    /// The chosen ticks (every other one, or fewer, where they would crowd); no light grid.
    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        let every = self.keys.len().div_ceil(hint.max_num_points().max(1)).max(1);
        self.keys.iter().copied().step_by(every).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.range()
    }
}

/// Tick positions on an axis spanning `range`: on a log axis (values are log10) 1, 2 and 5 times
/// each power of ten, or every whole multiple where a range spans less than that gives; on a
/// linear axis multiples of a 1-2-5 step, four to ten of them.
fn key_points((lo, hi): (f64, f64), log: bool) -> Vec<f64> {
    let within = |v: &f64| *v >= lo && *v <= hi;
    if log {
        let decades = libm::floor(lo) as i32..=libm::ceil(hi) as i32;
        for multiples in [&[1.0, 2.0, 5.0][..], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]] {
            let keys: Vec<f64> = decades
                .clone()
                .flat_map(|d| multiples.iter().map(move |m| libm::log10(m * libm::pow(10.0, f64::from(d)))))
                .filter(within)
                .collect();
            if keys.len() >= 3 {
                return keys;
            }
        }
    }
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let magnitude = libm::pow(10.0, libm::floor(libm::log10(span / 5.0)));
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| span / step <= 10.0)
        .unwrap_or(10.0 * magnitude);
    let first = libm::ceil(lo / step) as i64;
    let last = libm::floor(hi / step) as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// The x axis's ticks: each category, or [`key_points`].
fn x_keys(p: &Prepared<'_>) -> Vec<f64> {
    match &p.chart.x_categories {
        Some(names) => (0..names.len()).map(|i| i as f64).collect(),
        None => key_points(p.x_range, p.chart.log_x),
    }
}

/// How far series `i` of `count` sits from its category's centre: the series spread over at most
/// half the gap between categories.
fn dodge(i: usize, count: usize) -> f64 {
    if count <= 1 {
        return 0.0;
    }
    let step = 0.5 / count as f64;
    (i as f64 - (count - 1) as f64 / 2.0) * step
}

fn render<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, p: &Prepared<'_>) -> Result<(), String> {
    let chart_spec = p.chart;
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let entries = legend_entries(p);
    let place = if entries.len() > 1 || chart_spec.reference.is_some() { Some(legend_place(p)) } else { None };
    let (plot_area, legend_area) = match place {
        Some(LegendPlace::Beside) => {
            let longest = entries.iter().map(|e| e.label.chars().count()).max().unwrap_or(0) as u32;
            let width = (48 + 8 * longest).clamp(120, 320);
            let (plot, legend) = root.split_horizontally(root.dim_in_pixel().0.saturating_sub(width));
            (plot, Some(legend))
        }
        _ => (root.clone(), None),
    };
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(&chart_spec.title, (FONT, 26))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(
            Ticked::new(p.x_range, x_keys(p)),
            Ticked::new(p.y_range, key_points(p.y_range, chart_spec.log_y)),
        )
        .map_err(|e| e.to_string())?;
    let categories = chart_spec.x_categories.clone();
    let x_format = move |v: &f64| match &categories {
        Some(names) => {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
        None => tick(*v, chart_spec.log_x),
    };
    let y_format = |v: &f64| tick(*v, chart_spec.log_y);
    chart
        .configure_mesh()
        .x_desc(&chart_spec.x_label)
        .y_desc(&chart_spec.y_label)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 18))
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (spec, data)) in chart_spec.series.iter().zip(&p.series).enumerate() {
        // A series with nothing to draw (every value missing) stays out of the legend too; the
        // others keep their colours.
        if data.is_empty() {
            continue;
        }
        let color = series_colour(i);
        if chart_spec.intervals != Intervals::ErrorBars {
            let outline: Vec<(f64, f64)> = if chart_spec.intervals == Intervals::Band {
                let upper = data.iter().filter_map(|d| d.interval.map(|(_, hi)| (d.x, hi)));
                let lower = data.iter().rev().filter_map(|d| d.interval.map(|(lo, _)| (d.x, lo)));
                upper.chain(lower).collect()
            } else {
                let early = data.iter().filter_map(|d| d.interval.map(|(lo, _)| (lo, d.y)));
                let late = data.iter().rev().filter_map(|d| d.interval.map(|(_, hi)| (hi, d.y)));
                early.chain(late).collect()
            };
            if outline.len() > 2 {
                chart.draw_series([Polygon::new(outline, color.mix(0.2).filled())]).map_err(|e| e.to_string())?;
            }
        }
        // Categories are not a continuum: their points stand alone (no line through them), each
        // series a little to the side of the others so that their error bars do not overlap.
        let shift = if chart_spec.x_categories.is_some() { dodge(i, chart_spec.series.len()) } else { 0.0 };
        if chart_spec.x_categories.is_some() {
            chart
                .draw_series(data.iter().map(|d| Circle::new((d.x + shift, d.y), 5, color.filled())))
                .map_err(|e| e.to_string())?
                .label(spec.label.clone())
                .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
        } else {
            chart
                .draw_series(LineSeries::new(data.iter().map(|d| (d.x, d.y)), color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(spec.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        if chart_spec.intervals == Intervals::ErrorBars {
            chart
                .draw_series(data.iter().filter_map(|d| {
                    d.interval.map(|(lo, hi)| ErrorBar::new_vertical(d.x + shift, lo, d.y, hi, color, 8))
                }))
                .map_err(|e| e.to_string())?;
        }
    }
    if let Some(reference) = &chart_spec.reference {
        let y = if chart_spec.log_y { libm::log10(reference.y) } else { reference.y };
        chart
            .draw_series(LineSeries::new([(p.x_range.0, y), (p.x_range.1, y)], BLACK.stroke_width(1)))
            .map_err(|e| e.to_string())?
            .label(reference.label.clone())
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    }
    match (place, legend_area) {
        (Some(LegendPlace::Corner(corner)), _) => chart
            .configure_series_labels()
            .position(corner)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?,
        (_, Some(area)) => side_legend(&area, &entries)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_and_small_ticks_keep_three_significant_digits() {
        assert_eq!(tick(1_050_000.0, false), "1.05e6");
        assert_eq!(tick(1_000_000.0, false), "1e6");
        assert_eq!(tick(1_100_000.0, false), "1.1e6");
        assert_eq!(tick(0.0025, false), "2.5e-3");
        assert_eq!(tick(950_000.0, false), "950000");
    }

    fn sample() -> Chart {
        let series = |label: &str, k: f64| Series {
            label: label.to_string(),
            data: [100.0, 1000.0, 10000.0]
                .iter()
                .map(|&x| Datum {
                    x,
                    y: k * libm::log(x),
                    interval: Some((k * libm::log(x) - 1.0, k * libm::log(x) + 1.0)),
                })
                .collect(),
        };
        Chart {
            title: "Reach time vs nodes".into(),
            x_label: "network.nodes".into(),
            y_label: "reach_p50_ms".into(),
            log_x: true,
            log_y: false,
            x_categories: None,
            series: vec![series("100KB", 1.0), series("1MB", 2.0)],
            reference: Some(Reference { label: "target".into(), y: 10.0 }),
            intervals: Intervals::ErrorBars,
        }
    }

    #[test]
    fn png_has_drawn_content_in_several_colours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        draw(&sample(), &path).unwrap();
        let image = image::open(&path).unwrap().to_rgb8();
        let mut colours = std::collections::BTreeSet::new();
        for pixel in image.pixels() {
            colours.insert(pixel.0);
        }
        // Background, axes and text, and two series colours at least.
        assert!(colours.len() > 4, "only {} colours", colours.len());
        let dark = image.pixels().filter(|p| p.0.iter().all(|&c| c < 100)).count();
        assert!(dark > 500, "text and axes draw dark pixels ({dark})");
    }

    #[test]
    fn svg_contains_title_labels_and_legend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.svg");
        draw(&sample(), &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for text in ["Reach time vs nodes", "network.nodes", "reach_p50_ms", "100KB", "1MB", "target"] {
            assert!(svg.contains(text), "`{text}` missing from the SVG");
        }
    }

    #[test]
    fn categories_get_points_with_error_bars_side_by_side_and_no_line() {
        let mut chart = sample();
        chart.x_categories = Some(vec!["Full".into(), "Compact".into()]);
        chart.log_x = false;
        chart.reference = None;
        for (k, series) in chart.series.iter_mut().enumerate() {
            series.data =
                (0..2).map(|x| Datum { x: f64::from(x), y: 5.0 + k as f64, interval: Some((4.0, 7.0)) }).collect();
        }
        let dir = tempfile::tempdir().unwrap();
        let svg = |chart: &Chart, name: &str| {
            let path = dir.path().join(name);
            draw(chart, &path).unwrap();
            std::fs::read_to_string(&path).unwrap()
        };
        let points = svg(&chart, "categories.svg");
        assert!(points.contains("Full") && points.contains("Compact"));
        // A point per series and category, the centre mark of each error bar, one per legend entry.
        assert_eq!(points.matches("<circle").count(), 2 * 2 * 2 + 2);
        // Series lines are the only ones drawn two pixels wide.
        let lines = svg(&Chart { x_categories: None, ..chart.clone() }, "numbers.svg");
        let wide =
            |svg: &str| svg.lines().filter(|l| l.contains("<polyline") && l.contains(r#"stroke-width="2""#)).count();
        assert!(wide(&lines) >= 2 && wide(&points) == 0, "no line joins categories");
        assert_eq!((dodge(0, 2), dodge(1, 2), dodge(0, 1)), (-0.125, 0.125, 0.0));
    }

    #[test]
    fn ticks_fall_on_one_two_five() {
        let values = |keys: Vec<f64>| keys.into_iter().map(|k| tick(k, true)).collect::<Vec<_>>();
        // 0.04 s to 2 s on a log axis.
        let keys = key_points((libm::log10(0.04), libm::log10(2.2)), true);
        assert_eq!(values(keys), ["0.05", "0.1", "0.2", "0.5", "1", "2"]);
        // Within one decade: every whole multiple.
        assert_eq!(
            values(key_points((libm::log10(150.0), libm::log10(700.0)), true)),
            ["200", "300", "400", "500", "600", "700"]
        );
        assert_eq!(key_points((180.0, 2250.0), false), [500.0, 1000.0, 1500.0, 2000.0]);
        let labels: Vec<String> = key_points((-0.05, 1.05), false).into_iter().map(|k| tick(k, false)).collect();
        assert_eq!(labels, ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
    }

    #[test]
    fn a_series_without_data_stays_out_of_the_legend() {
        let mut chart = sample();
        chart.series.push(Series { label: "nothing measured".into(), data: vec![] });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.svg");
        draw(&chart, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.contains("100KB") && !svg.contains("nothing measured"));
    }

    #[test]
    fn cdf_steps_to_one_unless_values_never_happened_and_empty_charts_are_errors() {
        let s = cdf("x", &[3.0, 1.0, 2.0]);
        assert_eq!(s.data.first().map(|d| (d.x, d.y)), Some((1.0, 0.0)));
        assert_eq!(s.data.last().map(|d| (d.x, d.y)), Some((3.0, 1.0)));
        // A value that never happened counts without being reached.
        let s = cdf("x", &[3.0, 1.0, 2.0, f64::INFINITY]);
        assert_eq!(s.data.last().map(|d| (d.x, d.y)), Some((3.0, 0.75)));
        let mut empty = sample();
        empty.series = vec![Series { label: "none".into(), data: vec![] }];
        empty.reference = None;
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(draw(&empty, &dir.path().join("e.png")), Err(PlotError::NoData(_))));
        assert!(matches!(draw(&sample(), &dir.path().join("e.pdf")), Err(PlotError::Format(_))));
    }
}
