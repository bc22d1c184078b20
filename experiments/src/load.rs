//! Reading an experiment file: RON parsing with file:line:column errors, `--set` overrides,
//! validation with key paths, and the checks of files the experiment refers to.

use ron::extensions::Extensions;
use serde_json::Value;
use std::path::{Path, PathBuf};
use thiserror::Error;

use crate::experiment::Experiment;
use crate::sweep::{self, Params};
use crate::{overrides, ron_value};
use simulator::config::ConfigError;

/// Bad input: the experiment cannot run as written. The CLI exits with code 2.
#[derive(Debug, Error)]
pub enum InputError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid experiment in RON.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{path}: {error}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key path and what is wrong.
        error: ConfigError,
    },
    /// A `--set` option cannot be applied.
    #[error("--set {assignment}: {message}")]
    Override {
        /// The option as given.
        assignment: String,
        /// What is wrong.
        message: String,
    },
    /// A sweep axis, one of its values, a combination of values, or a plot is invalid.
    #[error("{path}: {message}")]
    Study {
        /// The file.
        path: PathBuf,
        /// The axis or point and what is wrong.
        message: String,
    },
    /// A file the experiment refers to is missing or malformed.
    #[error("{path}: {message}")]
    Referenced {
        /// The experiment file.
        path: PathBuf,
        /// What is wrong with the referenced file.
        message: String,
    },
}

/// One `--set key.path=value` option.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    assignment: String,
    path: String,
    value: Value,
}

impl Override {
    /// Parses `key.path=value`; a value that is not valid RON is taken as a string, so
    /// `--set network.bandwidth.upload=10Mbps` needs no quotes.
    pub fn parse(assignment: &str) -> Result<Self, InputError> {
        let Some((path, raw)) = assignment.split_once('=') else {
            return Err(InputError::Override {
                assignment: assignment.to_string(),
                message: "expected key.path=value, e.g. --set network.nodes=500".to_string(),
            });
        };
        let value = ron_value::parse(raw).unwrap_or_else(|_| Value::String(raw.trim().to_string()));
        Ok(Override { assignment: assignment.to_string(), path: path.trim().to_string(), value })
    }

    /// An override of the master seed (the `--seed` option).
    pub fn seed(seed: u64) -> Self {
        Override { assignment: format!("seed={seed}"), path: "seed".to_string(), value: Value::from(seed) }
    }
}

/// One point of the parameter grid.
#[derive(Clone, Debug)]
pub struct Point {
    /// The swept keys and their values at this point, in axis order.
    pub params: Params,
    /// The experiment with those values applied, validated.
    pub experiment: Experiment,
}

/// A parsed, overridden and validated experiment with its grid expanded.
#[derive(Clone, Debug)]
pub struct LoadedExperiment {
    /// The file it came from.
    pub path: PathBuf,
    /// The folder relative paths in the experiment are resolved against.
    pub base_dir: PathBuf,
    /// The experiment as written (with overrides), including its sweep.
    pub experiment: Experiment,
    /// The points of the grid, in order; one point when nothing is swept.
    pub points: Vec<Point>,
}

impl LoadedExperiment {
    /// An experiment without a sweep, built in code.
    pub fn single(experiment: Experiment, base_dir: PathBuf) -> Self {
        let point = Point { params: Vec::new(), experiment: experiment.clone() };
        LoadedExperiment { path: PathBuf::from(&experiment.name), base_dir, experiment, points: vec![point] }
    }

    /// Total number of runs: points × replicates.
    pub fn run_count(&self) -> usize {
        self.points.len() * self.experiment.replicates as usize
    }
}

pub(crate) fn ron_options() -> ron::Options {
    // `time: "10s"` for optional values, `Flood(items: 3)` for a struct inside a variant.
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES)
}

/// Parses experiment text; `path` only labels errors.
pub fn parse(text: &str, path: &Path) -> Result<Experiment, InputError> {
    ron_options().from_str(text).map_err(|e| {
        let (line, column) = (e.span.start.line, e.span.start.col);
        let code = e.code.to_string();
        // Inside a protocol section the error comes back as text, through erased-serde.
        let hint = if code == ron::Error::IntegerOutOfBounds.to_string() {
            ": this key takes a whole number in its range (counts are ≥ 0)"
        } else if matches!(e.code, ron::Error::DuplicateStructField { .. }) {
            ": keep one of them"
        } else {
            ""
        };
        let message = match crate::key_at::key_at(text, line, column) {
            // Sections read through an intermediate value name the experiment as their struct;
            // the key path says where the field is.
            Some(key) => format!("{key}: {}{hint}", code.replace(" in `Experiment`", "")),
            None => format!("{code}{hint}"),
        };
        InputError::Parse { path: path.to_path_buf(), line, column, message }
    })
}

/// Reads, overrides and validates an experiment file, including files it refers to.
pub fn load(path: &Path, overrides: &[Override]) -> Result<LoadedExperiment, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read { path: path.to_path_buf(), source })?;
    let mut experiment = parse(&text, path)?;
    for o in overrides {
        narrow_sweep(&mut experiment, o)
            .map_err(|message| InputError::Override { assignment: o.assignment.clone(), message })?;
    }
    if !overrides.is_empty() {
        // Sweep and plots are not part of the JSON shape; keep them across the round trip.
        let (sweep, zip, plots) = (
            std::mem::take(&mut experiment.sweep),
            std::mem::take(&mut experiment.zip),
            std::mem::take(&mut experiment.plots),
        );
        let mut tree = serde_json::to_value(&experiment).expect("experiments serialise to JSON");
        for o in overrides {
            overrides::set(&mut tree, &o.path, o.value.clone())
                .and_then(|()| crate::network_section::expand_preset_value(&mut tree))
                .map_err(|message| InputError::Override { assignment: o.assignment.clone(), message })?;
            experiment = serde_json::from_value(tree.clone()).map_err(|e| InputError::Override {
                assignment: o.assignment.clone(),
                message: format!("{e}; the value must have the type of `{}`", o.path),
            })?;
        }
        (experiment.sweep, experiment.zip, experiment.plots) = (sweep, zip, plots);
    }
    experiment.validate().map_err(|error| InputError::Invalid { path: path.to_path_buf(), error })?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let sweep_error = |message: String| InputError::Study { path: path.to_path_buf(), message };
    let points = resolve_points(&experiment).map_err(sweep_error)?;
    crate::figures::validate(&experiment).map_err(|message| InputError::Study { path: path.to_path_buf(), message })?;
    for point in &points {
        simulator::world::explicit_edges(&point.experiment.network, &base_dir)
            .map_err(|e| InputError::Referenced { path: path.to_path_buf(), message: e.to_string() })?;
    }
    Ok(LoadedExperiment { path: path.to_path_buf(), base_dir, experiment, points })
}

/// An override of a swept key keeps only that value on its axis; the sweep would otherwise put
/// its own values back at every point. An override that a sweep would undo in another way (a
/// zipped key, or a key inside a swept value) is refused.
fn narrow_sweep(experiment: &mut Experiment, o: &Override) -> Result<(), String> {
    if let Some(axis) = experiment.sweep.iter_mut().find(|axis| axis.key == o.path) {
        axis.values = vec![o.value.clone()];
        return Ok(());
    }
    if experiment.zip.iter().any(|axis| axis.key == o.path) {
        let keys: Vec<&str> = experiment.zip.iter().map(|axis| axis.key.as_str()).collect();
        return Err(format!(
            "`{}` is zipped with other keys ({}), so it cannot change alone; edit the zip in the file",
            o.path,
            keys.join(", ")
        ));
    }
    let enclosing = experiment
        .sweep
        .iter()
        .chain(&experiment.zip)
        .find(|axis| o.path.strip_prefix(axis.key.as_str()).is_some_and(|rest| rest.starts_with(['.', '['])));
    match enclosing {
        Some(axis) => Err(format!(
            "`{}` is swept as a whole, so every point replaces `{}`; set `{}` instead, or change the sweep in the file",
            axis.key, o.path, axis.key
        )),
        None => Ok(()),
    }
}

/// The experiment with `params` applied, validated; the error says what is wrong.
fn apply(base: &Value, params: &Params) -> Result<Experiment, String> {
    let mut tree = base.clone();
    for (key, value) in params {
        overrides::set(&mut tree, key, value.clone())?;
        crate::network_section::expand_preset_value(&mut tree)?;
    }
    let experiment: Experiment = serde_json::from_value(tree).map_err(|e| e.to_string())?;
    experiment.validate().map_err(|e| e.to_string())?;
    Ok(experiment)
}

/// Expands the sweep of `experiment` into validated points. Every sweep value is first checked on
/// its own, and every set of zipped values together (they may only make sense together), so that
/// an error names the axis and the value; then every combination.
fn resolve_points(experiment: &Experiment) -> Result<Vec<Point>, String> {
    let base = serde_json::to_value(experiment).expect("experiments serialise to JSON");
    let grid = sweep::expand(&experiment.sweep, &experiment.zip)?;
    for axis in &experiment.sweep {
        for value in &axis.values {
            apply(&base, &vec![(axis.key.clone(), value.clone())])
                .map_err(|e| format!("sweep axis `{}`, value `{}`: {e}", axis.key, sweep::display(value)))?;
        }
    }
    let zipped = experiment.zip.first().map_or(0, |axis| axis.values.len());
    for i in 0..zipped {
        let params: Params = experiment
            .zip
            .iter()
            .filter_map(|axis| axis.values.get(i).map(|v| (axis.key.clone(), v.clone())))
            .collect();
        apply(&base, &params).map_err(|e| {
            let described: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", sweep::display(v))).collect();
            format!("zip values #{i} ({}): {e}", described.join(", "))
        })?;
    }
    grid.into_iter()
        .enumerate()
        .map(|(index, params)| {
            let experiment = apply(&base, &params).map_err(|e| {
                let described: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", sweep::display(v))).collect();
                format!("sweep point {index} ({}): {e}", described.join(", "))
            })?;
            Ok(Point { params, experiment })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        r#"(name: "t", network: (nodes: 10, topology: RandomRegular(degree: 4)), protocol: Flood(items: 2))"#;

    #[test]
    fn parses_with_defaults_and_extensions() {
        let e = parse(MINIMAL, Path::new("t.ron")).unwrap();
        assert_eq!(e.seed, 1);
        assert_eq!(e.network.nodes, 10);
        let with_time = parse(&MINIMAL.replace("(name", "(stop: (time: \"5s\"), name"), Path::new("t.ron")).unwrap();
        assert_eq!(with_time.stop.time, Some(simulator::SimDuration::from_secs(5)));
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let text = "(\n  name: \"t\",\n  network: (nodez: 10),\n  protocol: Flood(),\n)";
        let err = parse(text, Path::new("x.ron")).unwrap_err().to_string();
        assert!(err.starts_with("x.ron:3:"), "{err}");
        assert!(err.contains("nodez"), "{err}");
    }

    #[test]
    fn parse_errors_name_the_key_and_the_fix() {
        let text = "(\n  name: \"t\",\n  network: (nodes: 10, nodes: 20),\n  protocol: Flood(items: -5),\n)";
        let err = parse(text, Path::new("x.ron")).unwrap_err().to_string();
        assert!(
            err.starts_with("x.ron:3:") && err.contains("network: Unexpected duplicate field named `nodes`"),
            "{err}"
        );
        assert!(err.ends_with("keep one of them") && !err.contains("Experiment"), "{err}");
        let err = parse(&text.replace("nodes: 10, ", ""), Path::new("x.ron")).unwrap_err().to_string();
        assert!(err.starts_with("x.ron:4:") && err.contains("protocol.items: Integer is out of bounds"), "{err}");
        assert!(err.contains("whole number"), "{err}");
    }

    #[test]
    fn protocol_sections_are_read_by_the_protocol_named() {
        let text = "(\n  name: \"t\",\n  network: (nodes: 10),\n  protocol: Flood(itemz: 3),\n)";
        let err = parse(text, Path::new("x.ron")).unwrap_err().to_string();
        assert!(err.starts_with("x.ron:4:") && err.contains("itemz"), "{err}");
        let err =
            parse(&text.replace("Flood(itemz: 3)", "Flod(items: 3)"), Path::new("x.ron")).unwrap_err().to_string();
        assert!(
            err.starts_with("x.ron:4:")
                && err.contains("unknown protocol `Flod`, expected one of Flood, Bitcoin, Pbft"),
            "{err}"
        );

        let experiment = parse(MINIMAL, Path::new("t.ron")).unwrap();
        assert_eq!(experiment.protocol.name(), "Flood");
        let json = serde_json::to_value(&experiment).unwrap();
        assert_eq!(json["protocol"]["Flood"]["items"], 2);
        assert_eq!(json["protocol"]["Flood"]["arrivals"], "Poisson", "defaults are written out");
        let back: Experiment = serde_json::from_value(json).unwrap();
        assert_eq!(back, experiment);
        let ron = ron_options().to_string(&experiment).unwrap();
        assert!(ron.contains("protocol:Flood(items:2,"), "{ron}");
        assert_eq!(parse(&ron, Path::new("t.ron")).unwrap(), experiment);
        let other = parse(&MINIMAL.replace("items: 2", "items: 3"), Path::new("t.ron")).unwrap();
        assert_ne!(other, experiment);
    }

    #[test]
    fn sweeps_expand_into_validated_points() {
        let text = MINIMAL.replace(
            "(name",
            "(replicates: 2, sweep: [(\"network.nodes\", [10, 20]), (\"network.contention\", [Fifo, FairShare])], name",
        );
        let experiment = parse(&text, Path::new("t.ron")).unwrap();
        let points = resolve_points(&experiment).unwrap();
        assert_eq!(points.len(), 4);
        assert_eq!(points[3].experiment.network.nodes, 20);
        assert_eq!(points[3].experiment.network.contention, simulator::config::Contention::FairShare);
        assert_eq!(points[0].params[1].1, serde_json::json!("Fifo"));

        let bad = MINIMAL.replace("(name", "(sweep: [(\"network.nodes\", [10, \"many\"])], name");
        let err = resolve_points(&parse(&bad, Path::new("t.ron")).unwrap()).unwrap_err();
        assert!(err.contains("sweep axis `network.nodes`, value `many`"), "{err}");
        let combo = MINIMAL.replace("(name", "(sweep: [(\"network.nodes\", [4, 10])], name");
        let err = resolve_points(&parse(&combo, Path::new("t.ron")).unwrap()).unwrap_err();
        assert!(err.contains("value `4`") && err.contains("degree"), "{err}");
    }

    #[test]
    fn none_is_the_no_jitter_variant_in_sweeps_and_overrides() {
        use simulator::config::{Jitter, LatencyConfig};
        let jitter = |experiment: &Experiment| match &experiment.network.latency {
            LatencyConfig::Regions(regions) => regions.jitter.clone(),
            other => panic!("{other:?}"),
        };
        let text = r#"(name: "t", network: Preset("bitcoin-2019", [("nodes", 50)]), protocol: Flood(items: 1))"#;
        let swept = text
            .replace("items: 1)", r#"items: 1), sweep: [("network.latency.jitter", [None, Pareto(spread: "5ms")])]"#);
        let experiment = parse(&swept, Path::new("t.ron")).unwrap();
        let points = resolve_points(&experiment).unwrap();
        assert_eq!(jitter(&points[0].experiment), Jitter::None);
        assert_eq!(sweep::display(&points[0].params[0].1), "None");
        assert_eq!(jitter(&points[1].experiment), Jitter::Pareto { spread: simulator::SimDuration::from_millis(5) });

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.ron");
        std::fs::write(&file, text).unwrap();
        let loaded = load(&file, &[Override::parse("network.latency.jitter=LogNormal(sigma: 0.2)").unwrap()]).unwrap();
        assert_eq!(jitter(&loaded.experiment), Jitter::LogNormal { sigma: 0.2 });
        let loaded = load(&file, &[Override::parse("network.latency.jitter=None").unwrap()]).unwrap();
        assert_eq!(jitter(&loaded.experiment), Jitter::None);
    }

    #[test]
    fn setting_a_swept_key_keeps_only_that_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.ron");
        let axes = r#"sweep: [("network.nodes", [10, 20]), ("network.latency", [Constant("1ms"), Constant("2ms")])],
            zip: [("label", ["a", "b"]), ("network.loss", [0.0, 0.1])],"#;
        std::fs::write(&file, MINIMAL.replace("(name", &format!("({axes} name"))).unwrap();
        let set = |assignment: &str| load(&file, &[Override::parse(assignment).unwrap()]).map_err(|e| e.to_string());
        assert_eq!(load(&file, &[]).unwrap().points.len(), 8);
        let narrowed = set("network.nodes=20").unwrap();
        assert_eq!(narrowed.points.len(), 4);
        assert!(narrowed.points.iter().all(|p| p.experiment.network.nodes == 20));
        assert_eq!(narrowed.points[0].params[0], ("network.nodes".to_string(), serde_json::json!(20)));
        let err = set("network.loss=0.2").unwrap_err();
        assert!(err.contains("zipped with other keys (label, network.loss)"), "{err}");
        let err = set("network.latency.median=5ms").unwrap_err();
        assert!(err.contains("`network.latency` is swept as a whole"), "{err}");
        assert!(set("network.nodez=1").unwrap_err().contains("no key `nodez`"));
    }

    #[test]
    fn unit_errors_name_the_value() {
        let text = MINIMAL.replace("nodes: 10", "nodes: 10, latency: Constant(\"10 parsecs\")");
        let err = parse(&text, Path::new("x.ron")).unwrap_err().to_string();
        assert!(err.contains("unknown duration unit `parsecs`"), "{err}");
    }
}
