//! Result files of an experiment (see ARCHITECTURE.md, "Result files"):
//! `manifest.json`, `runs.csv`, `runs/<run id>.json` and `perf.json`. Everything but `perf.json`
//! is a pure function of the resolved config and the seeds, so identical runs give byte-identical
//! files; wall-clock figures go to `perf.json` only.

use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::load::LoadedExperiment;
use crate::runner::{RunRecord, RunSpec};
use simulator::NodeCounters;

/// Where the results were produced: the tool's version and, when known, its source commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The chainsim version.
    pub version: String,
    /// The git commit chainsim was built from, if it was built from a checkout.
    pub git_commit: Option<String>,
}

/// Writes results into one output folder.
pub struct ResultWriter {
    dir: PathBuf,
}

/// A result file could not be written. The CLI exits with code 1.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
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

impl ResultWriter {
    /// A writer into `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ResultWriter { dir: dir.into() }
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), WriteError> {
        let path = self.dir.join(relative);
        atomic::write(&path, bytes).map_err(|source| WriteError { path, source })
    }

    /// `manifest.json`: everything needed to reproduce the results.
    pub fn write_manifest(
        &self,
        loaded: &LoadedExperiment,
        runs: &[RunSpec],
        provenance: &Provenance,
    ) -> Result<(), WriteError> {
        let experiment = &loaded.experiment;
        let runs: Vec<Value> = runs
            .iter()
            .map(|r| json!({"id": r.id(), "point": r.point, "replicate": r.replicate, "seed": r.seed}))
            .collect();
        let manifest = json!({
            "chainsim_version": provenance.version,
            "git_commit": provenance.git_commit,
            "experiment": experiment.name,
            "seed": experiment.seed,
            "config": serde_json::to_value(experiment).expect("experiments serialise to JSON"),
            "runs": runs,
        });
        self.write("manifest.json", &pretty(&manifest))
    }

    /// `runs/<id>.json`: all metrics, detail and per-node counters of one run.
    pub fn write_run(&self, record: &RunRecord) -> Result<(), WriteError> {
        let metrics: Map<String, Value> = record
            .report
            .metrics
            .iter()
            .map(|(name, value)| (name.to_string(), serde_json::to_value(value).expect("metrics serialise")))
            .collect();
        let run = json!({
            "id": record.spec.id(),
            "point": record.spec.point,
            "replicate": record.spec.replicate,
            "seed": record.spec.seed,
            "digest": digest_hex(record.digest),
            "stop": record.stop,
            "end_time_ms": record.end_time.as_millis_f64(),
            "events": record.events,
            "metrics": metrics,
            "detail": record.report.detail,
            "nodes": node_columns(&record.nodes),
        });
        self.write(&format!("runs/{}.json", record.spec.id()), &pretty(&run))
    }

    /// `runs.csv`: one row per run, in run order.
    pub fn write_runs_csv(&self, records: &[RunRecord]) -> Result<(), WriteError> {
        let mut csv = csv::Writer::from_writer(Vec::new());
        let metric_names: Vec<&str> =
            records.first().map(|r| r.report.metrics.iter().map(|(n, _)| *n).collect()).unwrap_or_default();
        let mut header = vec!["point", "replicate", "seed", "digest"];
        header.extend(&metric_names);
        csv.write_record(&header).expect("writing to memory");
        for r in records {
            let mut row = vec![
                r.spec.point.to_string(),
                r.spec.replicate.to_string(),
                r.spec.seed.to_string(),
                digest_hex(r.digest),
            ];
            row.extend(r.report.metrics.iter().map(|(_, v)| v.to_csv_field()));
            csv.write_record(&row).expect("writing to memory");
        }
        self.write("runs.csv", &csv.into_inner().expect("in-memory writer"))
    }

    /// `perf.json`: wall-clock figures, the only output that differs between identical runs.
    pub fn write_perf(&self, records: &[RunRecord]) -> Result<(), WriteError> {
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
        let total: f64 = records.iter().map(|r| (r.timing.setup + r.timing.simulate).as_secs_f64()).sum();
        self.write("perf.json", &pretty(&json!({"total_wall_seconds": total, "runs": runs})))
    }
}

/// Per-node counters as one array per counter, indexed by node id.
fn node_columns(nodes: &[NodeCounters]) -> Value {
    let column = |f: fn(&NodeCounters) -> u64| Value::from(nodes.iter().map(f).collect::<Vec<u64>>());
    json!({
        "bytes_sent": column(|c| c.bytes_sent),
        "bytes_received": column(|c| c.bytes_received),
        "messages_sent": column(|c| c.messages_sent),
        "messages_received": column(|c| c.messages_received),
        "messages_dropped": column(|c| c.messages_dropped),
        "cpu_busy_ns": column(|c| c.cpu_busy_ns),
        "disk_busy_ns": column(|c| c.disk_busy_ns),
    })
}
