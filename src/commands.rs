//! `run` and `check`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use experiments::{InputError, LoadedExperiment, Override, Provenance, ResultWriter, execute, plan};

/// A command that failed, with its exit code (1 run failure, 2 bad input).
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn run(message: impl ToString) -> Self {
        Failure { code: 1, message: message.to_string() }
    }
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Failure { code: 2, message: e.to_string() }
    }
}

pub fn provenance() -> Provenance {
    Provenance {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("CHAINSIM_GIT_COMMIT").map(str::to_string),
    }
}

fn load(file: &Path, seed: Option<u64>, set: &[String]) -> Result<LoadedExperiment, Failure> {
    let mut overrides = set.iter().map(|s| Override::parse(s)).collect::<Result<Vec<_>, _>>()?;
    overrides.extend(seed.map(Override::seed));
    Ok(experiments::load(file, &overrides)?)
}

pub fn check(file: &Path, set: &[String]) -> Result<(), Failure> {
    let loaded = load(file, None, set)?;
    let e = &loaded.experiment;
    let runs = plan(e).len();
    println!(
        "{}: ok — experiment `{}`, {} nodes, protocol {}, {runs} run{}",
        file.display(),
        e.name,
        e.network.nodes,
        e.protocol.name(),
        if runs == 1 { "" } else { "s" }
    );
    Ok(())
}

pub fn run(file: &Path, out: Option<PathBuf>, seed: Option<u64>, set: &[String], quiet: bool) -> Result<(), Failure> {
    let loaded = load(file, seed, set)?;
    let out = out.unwrap_or_else(|| Path::new("results").join(&loaded.experiment.name));
    let writer = ResultWriter::new(out);
    let specs = plan(&loaded.experiment);
    writer.write_manifest(&loaded, &specs, &provenance()).map_err(Failure::run)?;
    let started = Instant::now();
    let mut records = Vec::with_capacity(specs.len());
    let mut failures = Vec::new();
    for spec in &specs {
        match execute(&loaded, spec) {
            Ok(record) => {
                writer.write_run(&record).map_err(Failure::run)?;
                if !quiet {
                    eprintln!(
                        "run {}: {} events in {:.2} s ({:.2} M events/s; setup {:.2} s), stopped: {:?} at {:.3} s simulated",
                        spec.id(),
                        record.events,
                        record.timing.simulate.as_secs_f64(),
                        record.timing.events_per_second(record.events) / 1e6,
                        record.timing.setup.as_secs_f64(),
                        record.stop,
                        record.end_time.as_secs_f64(),
                    );
                }
                records.push(record);
            }
            Err(e) => {
                eprintln!("run failed: {e}");
                failures.push(e);
            }
        }
    }
    writer.write_runs_csv(&records).map_err(Failure::run)?;
    writer.write_perf(&records).map_err(Failure::run)?;
    if !quiet {
        eprintln!(
            "{} of {} runs finished in {:.2} s; results in {}",
            records.len(),
            specs.len(),
            started.elapsed().as_secs_f64(),
            writer.dir().display()
        );
    }
    match failures.len() {
        0 => Ok(()),
        n => Err(Failure::run(format!("{n} run(s) failed"))),
    }
}
