//! Result files of an experiment (see README.md, "Reading the results"): `manifest.json`,
//! `runs/<run id>.json`, `runs.csv`, `summary.csv`, `series.csv` and `perf.json`. Everything but `perf.json`
//! is a pure function of the resolved configs and the seeds. The tables are always rebuilt from
//! the run files, in plan order, so a resumed, sharded-and-merged or parallel run gives the same
//! bytes as a single uninterrupted one.

use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::load::LoadedExperiment;
use crate::runner::{RunRecord, RunSpec};
use crate::summary::{Summary, summarize, wilson};
use crate::sweep::{self, Params};
use simulator::rng::splitmix64;
use simulator::{MetricValue, NodeCounters, NodeLabels};

/// Where the results were produced: the tool's version and, when known, its source commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The chainsim version.
    pub version: String,
    /// The git commit chainsim was built from, if it was built from a checkout.
    pub git_commit: Option<String>,
}

/// A result file could not be written or read. The CLI exits with code 1.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

fn pretty(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("JSON values serialise");
    bytes.push(b'\n');
    bytes
}

/// The digest as 16 hex digits, as it appears in every result file.
pub fn digest_hex(digest: u64) -> String {
    format!("{digest:016x}")
}

/// Swept parameters as a JSON object, in axis order.
fn params_object(params: &Params) -> Value {
    Value::Object(params.iter().cloned().collect())
}

/// Identifies a run's inputs: its resolved config, replicate, seed, and the chainsim build (version
/// and commit, so results of an older build are never mixed with a newer one). A stored run with
/// the same key need not be recomputed.
pub fn run_key(loaded: &LoadedExperiment, spec: &RunSpec, provenance: &Provenance) -> String {
    let config = serde_json::to_string(&loaded.points[spec.point].experiment).expect("experiments serialise");
    let build = format!("{} {}", provenance.version, provenance.git_commit.as_deref().unwrap_or("unknown commit"));
    let text = format!("{build}\n{}\n{}\n{config}", spec.replicate, spec.seed);
    // FNV-1a, then a finaliser: stable across platforms and releases, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:016x}", splitmix64(hash))
}

/// The content of `runs/<id>.json` for a finished run.
pub fn run_json(record: &RunRecord, params: &Params, key: &str) -> Value {
    let metrics: Map<String, Value> = record
        .report
        .metrics
        .iter()
        .map(|(name, value)| (name.to_string(), serde_json::to_value(value).expect("metrics serialise")))
        .collect();
    // The counts behind each share, so that summaries pool them across replicates.
    let shares: Map<String, Value> = record
        .report
        .metrics
        .iter()
        .filter_map(|(name, value)| match *value {
            MetricValue::Share { part, whole } => Some((name.to_string(), json!([part, whole]))),
            _ => None,
        })
        .collect();
    json!({
        "id": record.spec.id(),
        "point": record.spec.point,
        "replicate": record.spec.replicate,
        "seed": record.spec.seed,
        "key": key,
        "params": params_object(params),
        "digest": digest_hex(record.digest),
        "stop": record.stop,
        "end_time_ms": record.end_time.as_millis_f64(),
        "events": record.events,
        "metrics": metrics,
        "shares": shares,
        "series": serde_json::to_value(&record.report.series).expect("series serialise"),
        "detail": record.report.detail,
        "nodes": node_columns(&record.nodes, &record.labels),
    })
}

/// The content of `runs/<id>.json` for a run that failed: enough to reproduce the failure.
pub fn failed_run_json(spec: &RunSpec, params: &Params, key: &str, error: &str) -> Value {
    json!({
        "id": spec.id(),
        "point": spec.point,
        "replicate": spec.replicate,
        "seed": spec.seed,
        "key": key,
        "params": params_object(params),
        "error": error,
    })
}

/// Per-node counters as one array per counter, indexed by node id, with each node's role and
/// region where the network has them.
fn node_columns(nodes: &[NodeCounters], labels: &NodeLabels) -> Value {
    let column = |f: fn(&NodeCounters) -> u64| Value::from(nodes.iter().map(f).collect::<Vec<u64>>());
    let mut columns = json!({
        "bytes_sent": column(|c| c.bytes_sent),
        "bytes_received": column(|c| c.bytes_received),
        "messages_sent": column(|c| c.messages_sent),
        "messages_received": column(|c| c.messages_received),
        "messages_dropped": column(|c| c.messages_dropped),
        "cpu_busy_ns": column(|c| c.cpu_busy_ns),
        "disk_busy_ns": column(|c| c.disk_busy_ns),
    });
    for (key, names) in [("role", &labels.role), ("region", &labels.region)] {
        if let Some(names) = names {
            columns[key] = Value::from(names.clone());
        }
    }
    columns
}

/// A result folder.
pub struct ResultDir {
    dir: PathBuf,
}

impl ResultDir {
    /// The folder `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ResultDir { dir: dir.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn error(path: PathBuf, e: impl ToString) -> WriteError {
        WriteError { path, message: e.to_string() }
    }

    /// Writes `relative` atomically.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), WriteError> {
        let path = self.dir.join(relative);
        atomic::write(&path, bytes).map_err(|e| Self::error(path, e))
    }

    /// Reads `relative` as JSON.
    pub fn read_json(&self, relative: &str) -> Result<Value, WriteError> {
        let path = self.dir.join(relative);
        let bytes = std::fs::read(&path).map_err(|e| Self::error(path.clone(), e))?;
        serde_json::from_slice(&bytes).map_err(|e| Self::error(path, e))
    }

    /// `manifest.json`: everything needed to reproduce the results.
    pub fn write_manifest(
        &self,
        loaded: &LoadedExperiment,
        runs: &[RunSpec],
        provenance: &Provenance,
    ) -> Result<(), WriteError> {
        self.write("manifest.json", &pretty(&manifest(loaded, runs, provenance)))
    }

    /// Writes the file of one run.
    pub fn write_run(&self, id: &str, run: &Value) -> Result<(), WriteError> {
        self.write(&format!("runs/{id}.json"), &pretty(run))
    }

    /// The ids of the run files present, sorted.
    pub fn stored_run_ids(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("runs")) else { return Vec::new() };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .map(|n| n.trim_end_matches(".json").to_string())
            .collect();
        ids.sort();
        ids
    }

    /// The experiment the folder holds runs of, if it holds any and that experiment is not named
    /// `name`: a run into it would replace them.
    pub fn other_experiment(&self, name: &str) -> Option<String> {
        if self.stored_run_ids().is_empty() {
            return None;
        }
        let manifest = self.read_json("manifest.json").ok()?;
        let held = manifest["experiment"].as_str()?;
        (held != name).then(|| held.to_string())
    }

    /// The parsed file of run `id`.
    pub fn read_run(&self, id: &str) -> Result<Value, WriteError> {
        self.read_json(&format!("runs/{id}.json"))
    }

    /// The fields of run `id`'s file that the tables read, as a JSON object; the rest of the file
    /// (per-node arrays of a large network are most of it) is skipped without being built.
    fn read_table_fields(&self, id: &str) -> Option<Value> {
        #[derive(serde::Deserialize)]
        struct TableFields {
            point: Value,
            replicate: Value,
            seed: Value,
            digest: Option<Value>,
            params: Option<Value>,
            metrics: Option<Value>,
            shares: Option<Value>,
            series: Option<Value>,
            error: Option<Value>,
        }
        let bytes = std::fs::read(self.dir.join(format!("runs/{id}.json"))).ok()?;
        let run: TableFields = serde_json::from_slice(&bytes).ok()?;
        let mut fields = Map::new();
        fields.insert("point".into(), run.point);
        fields.insert("replicate".into(), run.replicate);
        fields.insert("seed".into(), run.seed);
        let optional = [
            ("digest", run.digest),
            ("params", run.params),
            ("metrics", run.metrics),
            ("shares", run.shares),
            ("series", run.series),
            ("error", run.error),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                fields.insert(name.into(), value);
            }
        }
        Some(Value::Object(fields))
    }

    /// Copies the file of run `id` from `source` unchanged.
    pub fn copy_run_from(&self, source: &ResultDir, id: &str) -> Result<(), WriteError> {
        let path = source.dir.join(format!("runs/{id}.json"));
        let bytes = std::fs::read(&path).map_err(|e| Self::error(path, e))?;
        self.write(&format!("runs/{id}.json"), &bytes)
    }

    /// Deletes temporary files left by an interrupted write (they never replaced a real file),
    /// in the folder itself, `runs/` and `plots/`.
    pub fn remove_temporaries(&self) -> Result<(), WriteError> {
        for folder in [self.dir.clone(), self.dir.join("runs"), self.dir.join("plots")] {
            let Ok(entries) = std::fs::read_dir(&folder) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') && name.contains(".tmp-") && entry.path().is_file() {
                    std::fs::remove_file(entry.path()).map_err(|e| Self::error(entry.path(), e))?;
                }
            }
        }
        Ok(())
    }

    /// Deletes the file of run `id`.
    pub fn remove_run(&self, id: &str) -> Result<(), WriteError> {
        let path = self.dir.join(format!("runs/{id}.json"));
        std::fs::remove_file(&path).map_err(|e| Self::error(path, e))
    }

    /// Rebuilds `runs.csv`, `summary.csv`, `series.csv` and `nodes.csv` from the run files of
    /// `ids` (plan order). Only the fields the tables need are kept in memory, not the per-node detail.
    pub fn write_tables(&self, ids: &[String]) -> Result<(), WriteError> {
        let runs: Vec<Value> = ids.iter().filter_map(|id| self.read_table_fields(id)).collect();
        let finished: Vec<&Value> = runs.iter().filter(|r| r.get("error").is_none()).collect();
        self.write("runs.csv", &runs_csv(&finished))?;
        self.write("series.csv", &crate::series_table::series_csv(&finished))?;
        self.write("summary.csv", &summary_csv(&finished))?;
        self.write_nodes_table(ids)
    }

    /// `nodes.csv`, reading one run file's nodes at a time.
    fn write_nodes_table(&self, ids: &[String]) -> Result<(), WriteError> {
        #[derive(serde::Deserialize)]
        struct NodeFields {
            point: Value,
            replicate: Value,
            nodes: Option<Value>,
        }
        let mut table = crate::nodes_table::NodesTable::default();
        for id in ids {
            let Ok(bytes) = std::fs::read(self.dir.join(format!("runs/{id}.json"))) else { continue };
            if let Ok(NodeFields { point, replicate, nodes: Some(nodes) }) = serde_json::from_slice(&bytes) {
                table.add(&point, &replicate, &nodes);
            }
        }
        self.write("nodes.csv", &table.finish())
    }

    /// `perf.json`: wall-clock figures of the runs computed by this invocation.
    pub fn write_perf(&self, records: &[RunRecord], jobs: usize, wall_seconds: f64) -> Result<(), WriteError> {
        let runs: Vec<Value> = records
            .iter()
            .map(|r| {
                json!({
                    "id": r.spec.id(),
                    "setup_seconds": r.timing.setup.as_secs_f64(),
                    "simulate_seconds": r.timing.simulate.as_secs_f64(),
                    "events": r.events,
                    "events_per_second": r.timing.events_per_second(r.events),
                })
            })
            .collect();
        self.write("perf.json", &pretty(&json!({"jobs": jobs, "wall_seconds": wall_seconds, "runs": runs})))
    }
}

fn manifest(loaded: &LoadedExperiment, runs: &[RunSpec], provenance: &Provenance) -> Value {
    let experiment = &loaded.experiment;
    let axes = |axes: &[sweep::Axis]| -> Value {
        axes.iter().map(|a| json!({"key": a.key, "values": a.values})).collect::<Vec<_>>().into()
    };
    let points: Vec<Value> = loaded
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({
                "point": i,
                "params": params_object(&p.params),
                "config": serde_json::to_value(&p.experiment).expect("experiments serialise"),
            })
        })
        .collect();
    let runs: Vec<Value> = runs
        .iter()
        .map(|r| json!({"id": r.id(), "point": r.point, "replicate": r.replicate, "seed": r.seed}))
        .collect();
    json!({
        "chainsim_version": provenance.version,
        "git_commit": provenance.git_commit,
        "experiment": experiment.name,
        "seed": experiment.seed,
        "replicates": experiment.replicates,
        "config": serde_json::to_value(experiment).expect("experiments serialise"),
        "sweep": axes(&experiment.sweep),
        "zip": axes(&experiment.zip),
        "plots": serde_json::to_value(crate::figures::plots_for(experiment)).expect("plots serialise"),
        "points": points,
        "runs": runs,
    })
}

/// A JSON number or null as a CSV cell.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn param_keys(runs: &[&Value]) -> Vec<String> {
    runs.first().and_then(|r| r["params"].as_object()).map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

fn metric_names(runs: &[&Value]) -> Vec<String> {
    runs.first().and_then(|r| r["metrics"].as_object()).map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

fn param_cells<'a>(run: &'a Value, keys: &'a [String]) -> impl Iterator<Item = String> + 'a {
    keys.iter().map(move |k| sweep::display(&run["params"][k]))
}

fn runs_csv(runs: &[&Value]) -> Vec<u8> {
    let keys = param_keys(runs);
    let metrics = metric_names(runs);
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["point", "replicate", "seed", "digest"].map(String::from).to_vec();
    header.extend(keys.iter().cloned());
    header.extend(metrics.iter().cloned());
    csv.write_record(&header).expect("writing to memory");
    for run in runs {
        let mut row: Vec<String> = ["point", "replicate", "seed", "digest"].iter().map(|f| cell(&run[*f])).collect();
        row.extend(param_cells(run, &keys));
        row.extend(metrics.iter().map(|m| cell(&run["metrics"][m])));
        csv.write_record(&row).expect("writing to memory");
    }
    csv.into_inner().expect("in-memory writer")
}

/// The counts of share `metric` summed over `group`, when every run with a value reports them.
fn pooled_share(group: &[&Value], metric: &str) -> Option<(u64, u64)> {
    let mut pooled = (0, 0);
    for run in group.iter().filter(|r| !r["metrics"][metric].is_null()) {
        let counts = run["shares"][metric].as_array()?;
        pooled.0 += counts.first()?.as_u64()?;
        pooled.1 += counts.get(1)?.as_u64()?;
    }
    (pooled.1 > 0).then_some(pooled)
}

fn summary_csv(runs: &[&Value]) -> Vec<u8> {
    let keys = param_keys(runs);
    let metrics = metric_names(runs);
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string()];
    header.extend(keys.iter().cloned());
    for m in &metrics {
        header.extend(["mean", "std", "ci95_low", "ci95_high", "n"].map(|s| format!("{m}_{s}")));
    }
    csv.write_record(&header).expect("writing to memory");
    let mut start = 0;
    while start < runs.len() {
        let point = &runs[start]["point"];
        let end = start + runs[start..].iter().take_while(|r| &r["point"] == point).count();
        let group = &runs[start..end];
        let mut row = vec![cell(point)];
        row.extend(param_cells(group[0], &keys));
        for m in &metrics {
            let values: Vec<f64> = group.iter().filter_map(|r| r["metrics"][m].as_f64()).collect();
            let number = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
            let summary = summarize(&values).map(|s| match pooled_share(group, m) {
                Some((part, whole)) => Summary { ci95: Some(wilson(part, whole)), ..s },
                None => s,
            });
            match summary {
                Some(s) => row.extend([
                    s.mean.to_string(),
                    number(s.std),
                    number(s.ci95.map(|c| c.0)),
                    number(s.ci95.map(|c| c.1)),
                    s.n.to_string(),
                ]),
                None => row.extend(["", "", "", "", "0"].map(String::from)),
            }
        }
        csv.write_record(&row).expect("writing to memory");
        start = end;
    }
    csv.into_inner().expect("in-memory writer")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finished run's table fields with share `abort_rate` = `part` / `whole`.
    fn run(point: u64, replicate: u64, part: u64, whole: u64) -> Value {
        json!({
            "point": point, "replicate": replicate, "seed": 1, "digest": "0", "params": {},
            "metrics": {"abort_rate": part as f64 / whole as f64, "events": 10},
            "shares": {"abort_rate": [part, whole]},
        })
    }

    #[test]
    fn shares_get_wilson_intervals_over_pooled_counts_and_means_get_t() {
        let runs = [run(0, 0, 0, 40), run(0, 1, 0, 60), run(1, 0, 30, 40), run(1, 1, 50, 60)];
        let refs: Vec<&Value> = runs.iter().collect();
        let text = String::from_utf8(summary_csv(&refs)).unwrap();
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        let header = rows.headers().unwrap().clone();
        let column = |row: &csv::StringRecord, name: &str| -> f64 {
            row[header.iter().position(|h| h == name).unwrap()].parse().unwrap()
        };
        let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
        // Point 0: none of 100 aborted; a t interval would be [0, 0].
        let (lo, hi) = wilson(0, 100);
        assert_eq!((column(&rows[0], "abort_rate_ci95_low"), column(&rows[0], "abort_rate_ci95_high")), (lo, hi));
        assert!(lo == 0.0 && hi > 0.03);
        // Point 1: 80 of 100, pooled.
        let (lo, hi) = wilson(80, 100);
        assert_eq!((column(&rows[1], "abort_rate_ci95_low"), column(&rows[1], "abort_rate_ci95_high")), (lo, hi));
        for row in &rows {
            assert!(column(row, "abort_rate_ci95_low") >= 0.0 && column(row, "abort_rate_ci95_high") <= 1.0);
        }
        // A count keeps the mean's t interval (equal values: a zero-width one).
        assert_eq!(column(&rows[0], "events_ci95_low"), 10.0);
    }
}
