//! `chainsim reproduce`: reruns runs from a result folder's manifest and compares digests.

use serde_json::Value;
use std::path::Path;

use crate::experiment::Experiment;
use crate::load::{LoadedExperiment, Point};
use crate::results::{ResultDir, WriteError, digest_hex};
use crate::runner::{RunSpec, execute};

/// The outcome of rerunning one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Run id.
    pub id: String,
    /// What the stored run file records: its digest, or the error that stopped it.
    pub expected: Result<String, String>,
    /// The digest of the rerun, or the error that stopped it.
    pub actual: Result<String, String>,
}

impl Check {
    /// Whether the rerun ended as recorded: the same digest, or the same error.
    pub fn matches(&self) -> bool {
        self.actual == self.expected
    }
}

fn bad(dir: &ResultDir, message: impl Into<String>) -> WriteError {
    WriteError { path: dir.path().join("manifest.json"), message: message.into() }
}

/// The experiment and its points as recorded in a manifest, each checked like an experiment
/// file: a manifest edited by hand must not reach the engine with values it cannot run.
fn loaded_from_manifest(dir: &ResultDir, manifest: &Value, base_dir: &Path) -> Result<LoadedExperiment, WriteError> {
    let experiment: Experiment =
        serde_json::from_value(manifest["config"].clone()).map_err(|e| bad(dir, format!("config: {e}")))?;
    experiment.validate().map_err(|e| bad(dir, format!("config: {e}")))?;
    let points = manifest["points"]
        .as_array()
        .ok_or_else(|| bad(dir, "no `points` list"))?
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let here = |e: &dyn std::fmt::Display| bad(dir, format!("points[{i}].config: {e}"));
            let experiment: Experiment = serde_json::from_value(p["config"].clone()).map_err(|e| here(&e))?;
            experiment.validate().map_err(|e| here(&e))?;
            simulator::world::explicit_edges(&experiment.network, base_dir).map_err(|e| here(&e))?;
            let params = p["params"].as_object().map(|m| m.clone().into_iter().collect()).unwrap_or_default();
            Ok(Point { params, experiment })
        })
        .collect::<Result<Vec<_>, WriteError>>()?;
    Ok(LoadedExperiment {
        path: dir.path().join("manifest.json"),
        base_dir: base_dir.to_path_buf(),
        experiment,
        points,
    })
}

/// Reruns every run listed in the manifest of `dir` (or only `only`) on `jobs` threads,
/// resolving relative files against `base_dir`; the checks come in manifest order.
pub fn reproduce(dir: &ResultDir, only: Option<&str>, base_dir: &Path, jobs: usize) -> Result<Vec<Check>, WriteError> {
    let manifest = dir.read_json("manifest.json")?;
    let loaded = loaded_from_manifest(dir, &manifest, base_dir)?;
    let runs = manifest["runs"].as_array().ok_or_else(|| bad(dir, "no `runs` list"))?;
    let selected: Vec<&Value> = runs.iter().filter(|r| only.is_none_or(|id| r["id"] == id)).collect();
    if let (Some(id), true) = (only, selected.is_empty()) {
        return Err(bad(dir, format!("no run `{id}` in this manifest")));
    }
    // Everything read from the folder is checked before anything runs.
    let planned = selected
        .into_iter()
        .map(|r| {
            let field = |name: &str| r[name].as_u64().ok_or_else(|| bad(dir, format!("run without `{name}`")));
            let spec = RunSpec {
                point: field("point")? as usize,
                replicate: field("replicate")? as u32,
                seed: field("seed")?,
            };
            if spec.point >= loaded.points.len() {
                return Err(bad(dir, format!("run {} names point {} which is not listed", spec.id(), spec.point)));
            }
            let stored = dir.read_json(&format!("runs/{}.json", spec.id()))?;
            let expected = match stored["error"].as_str() {
                Some(error) => Err(error.to_string()),
                None => Ok(stored["digest"].as_str().unwrap_or("").to_string()),
            };
            Ok((spec, expected))
        })
        .collect::<Result<Vec<_>, WriteError>>()?;
    let rerun = |(spec, expected): (RunSpec, Result<String, String>)| {
        let actual = execute(&loaded, &spec).map(|record| digest_hex(record.digest)).map_err(|e| e.to_string());
        Check { id: spec.id(), expected, actual }
    };
    use rayon::prelude::*;
    Ok(match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(pool) => pool.install(|| planned.into_par_iter().map(rerun).collect()),
        Err(_) => planned.into_iter().map(rerun).collect(),
    })
}
