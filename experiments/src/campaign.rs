//! Running all the runs of an experiment: resume from finished run files, run the rest in parallel
//! (whole runs on a rayon pool, never parallelism inside a run), write each run's file as soon as
//! it finishes, and rebuild the tables in plan order.

use rayon::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::figures;
use crate::load::LoadedExperiment;
use crate::results::{Provenance, ResultDir, WriteError, failed_run_json, run_json, run_key};
use crate::runner::{RunRecord, RunSpec, execute, plan};
use crate::slices::{self, Slice, expected_work};

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Worker threads (whole runs in parallel).
    pub jobs: usize,
    /// Only this slice of the runs.
    pub slice: Option<Slice>,
    /// Discard stored runs and start over.
    pub fresh: bool,
}

/// Told about progress as runs finish (from worker threads).
pub trait Progress: Sync {
    /// `to_run` runs are about to start; `reused` were already done.
    fn start(&self, to_run: usize, reused: usize);
    /// One run finished (successfully or not).
    fn run_finished(&self, id: &str, error: Option<&str>);
    /// All runs finished.
    fn finish(&self);
}

/// A run that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Run id.
    pub id: String,
    /// Its seed.
    pub seed: u64,
    /// What went wrong.
    pub error: String,
}

/// What a campaign did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Runs in this slice.
    pub runs: usize,
    /// Runs found finished and not recomputed.
    pub reused: usize,
    /// Runs computed now.
    pub computed: usize,
    /// Runs that failed.
    pub failures: Vec<Failure>,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// Plots that could not be drawn, and why (results are complete regardless).
    pub plot_problems: Vec<String>,
}

/// Runs `loaded` into `dir`.
pub fn run(
    loaded: &LoadedExperiment,
    dir: &ResultDir,
    options: &Options,
    provenance: &Provenance,
    progress: &dyn Progress,
) -> Result<Outcome, WriteError> {
    let started = Instant::now();
    let all = plan(loaded);
    let mine: Vec<&RunSpec> = match options.slice {
        Some(slice) => slices::runs_of(loaded, &all, slice),
        None => all.iter().collect(),
    };
    let planned_ids: std::collections::BTreeSet<String> = all.iter().map(RunSpec::id).collect();

    dir.remove_temporaries()?;
    // Id → key of every finished run on disk (files are read one at a time: they can be large).
    // A run's seed derives from its point index, so a run can only be reused under its own id.
    let mut stored: BTreeMap<String, String> = BTreeMap::new();
    for id in dir.stored_run_ids() {
        if options.fresh || !planned_ids.contains(&id) {
            dir.remove_run(&id)?;
            continue;
        }
        let Ok(run) = dir.read_run(&id) else { continue };
        if let (None, Some(key)) = (run.get("error"), run["key"].as_str()) {
            stored.insert(id, key.to_string());
        }
    }
    dir.write_manifest(loaded, &all, provenance)?;

    let mut to_run = Vec::new();
    let mut reused = 0;
    for spec in &mine {
        let key = run_key(loaded, spec, provenance);
        if stored.get(&spec.id()) == Some(&key) {
            reused += 1;
        } else {
            to_run.push((*spec, key));
        }
    }

    // Longest first, each worker taking the next run as it frees up: a long run started last
    // would leave the other cores idle at the end. Results do not depend on the order.
    to_run.sort_by(|(a, _), (b, _)| expected_work(loaded, b).total_cmp(&expected_work(loaded, a)));

    progress.start(to_run.len(), reused);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(options.jobs.max(1)).build().map_err(|e| WriteError {
        path: dir.path().to_path_buf(),
        message: format!("cannot start {} worker threads: {e}", options.jobs),
    })?;
    let computed: Mutex<Vec<RunRecord>> = Mutex::new(Vec::new());
    let failures: Mutex<Vec<Failure>> = Mutex::new(Vec::new());
    pool.install(|| {
        to_run.iter().par_bridge().try_for_each(|(spec, key)| -> Result<(), WriteError> {
            let params = &loaded.points[spec.point].params;
            match execute(loaded, spec) {
                Ok(record) => {
                    dir.write_run(&spec.id(), &run_json(&record, params, key))?;
                    progress.run_finished(&spec.id(), None);
                    computed.lock().expect("no worker panicked").push(record);
                }
                Err(e) => {
                    let error = e.to_string();
                    dir.write_run(&spec.id(), &failed_run_json(spec, params, key, &error))?;
                    progress.run_finished(&spec.id(), Some(&error));
                    failures.lock().expect("no worker panicked").push(Failure {
                        id: spec.id(),
                        seed: spec.seed,
                        error,
                    });
                }
            }
            Ok(())
        })
    })?;
    progress.finish();

    let ids: Vec<String> = all.iter().map(RunSpec::id).collect();
    dir.write_tables(&ids)?;
    // A slice holds part of the data; its plots are drawn after the merge.
    let plot_problems = if options.slice.is_none() { figures::draw_all(dir)?.1 } else { Vec::new() };
    let mut computed = computed.into_inner().expect("no worker panicked");
    computed.sort_by_key(|r| (r.spec.point, r.spec.replicate));
    let wall_seconds = started.elapsed().as_secs_f64();
    dir.write_perf(&computed, options.jobs, wall_seconds)?;
    let mut failures = failures.into_inner().expect("no worker panicked");
    failures.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Outcome { runs: mine.len(), reused, computed: computed.len(), failures, wall_seconds, plot_problems })
}

/// What a merge did.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    /// Run files copied.
    pub copied: usize,
    /// Planned runs that no input held, in plan order (a slice not merged, or not finished).
    pub missing: Vec<String>,
    /// Plots that could not be drawn, and why.
    pub plot_problems: Vec<String>,
}

/// Combines result folders of shards of one experiment into `out`. Every folder must hold the
/// same manifest; once every slice is in, the result equals a run on one machine.
pub fn merge(out: &ResultDir, inputs: &[ResultDir]) -> Result<Merged, WriteError> {
    let Some(first) = inputs.first() else {
        return Err(WriteError { path: out.path().to_path_buf(), message: "give at least one folder to merge".into() });
    };
    let manifest = std::fs::read(first.path().join("manifest.json"))
        .map_err(|e| WriteError { path: first.path().join("manifest.json"), message: e.to_string() })?;
    for input in &inputs[1..] {
        let other = std::fs::read(input.path().join("manifest.json"))
            .map_err(|e| WriteError { path: input.path().join("manifest.json"), message: e.to_string() })?;
        if other != manifest {
            return Err(WriteError {
                path: input.path().join("manifest.json"),
                message: format!(
                    "differs from {}: only slices of one experiment can be merged",
                    first.path().display()
                ),
            });
        }
    }
    out.write("manifest.json", &manifest)?;
    let mut copied = 0;
    for input in inputs {
        for id in input.stored_run_ids() {
            out.copy_run_from(input, &id)?;
            copied += 1;
        }
    }
    let manifest: Value = out.read_json("manifest.json")?;
    let ids: Vec<String> = manifest["runs"]
        .as_array()
        .map(|runs| runs.iter().filter_map(|r| r["id"].as_str().map(String::from)).collect())
        .unwrap_or_default();
    out.write_tables(&ids)?;
    let stored: std::collections::BTreeSet<String> = out.stored_run_ids().into_iter().collect();
    let missing = ids.into_iter().filter(|id| !stored.contains(id)).collect();
    Ok(Merged { copied, missing, plot_problems: figures::draw_all(out)?.1 })
}
