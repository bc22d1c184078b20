//! `run`, `check`, `merge` and `reproduce`.

use std::path::{Path, PathBuf};

use experiments::campaign::{self, Options};
use experiments::reproduce::reproduce;
use experiments::slices::Slice;
use experiments::{InputError, LoadedExperiment, Override, Provenance, ResultDir, memory};

use crate::progress::Reporter;

/// A command that failed, with its exit code (1 run failure, 2 bad input).
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn run(message: impl ToString) -> Self {
        Failure { code: 1, message: message.to_string() }
    }

    pub fn input(message: impl ToString) -> Self {
        Failure { code: 2, message: message.to_string() }
    }
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Failure::input(e)
    }
}

pub fn provenance() -> Provenance {
    Provenance {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("CHAINSIM_GIT_COMMIT").map(str::to_string),
    }
}

pub fn load(file: &Path, seed: Option<u64>, set: &[String]) -> Result<LoadedExperiment, Failure> {
    let mut overrides = set.iter().map(|s| Override::parse(s)).collect::<Result<Vec<_>, _>>()?;
    overrides.extend(seed.map(Override::seed));
    Ok(experiments::load(file, &overrides)?)
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub fn check(file: &Path, set: &[String]) -> Result<(), Failure> {
    let loaded = load(file, None, set)?;
    if let Some(available) = memory::available() {
        memory::runs_at_once(&loaded, 1, available).map_err(Failure::input)?;
    }
    let e = &loaded.experiment;
    println!(
        "{}: ok — experiment `{}`, protocol {}, {} × {} = {}; the largest run needs about {} of memory",
        file.display(),
        e.name,
        e.protocol.name(),
        plural(loaded.points.len(), "point"),
        plural(e.replicates as usize, "replicate"),
        plural(loaded.run_count(), "run"),
        memory::gigabytes(memory::largest_run(&loaded).1),
    );
    Ok(())
}

/// How many runs may run at once, at most `jobs`: a run that cannot fit in the available memory
/// is refused, and runs that fit alone but not side by side run fewer at a time.
fn jobs_that_fit(loaded: &LoadedExperiment, jobs: usize, quiet: bool) -> Result<usize, Failure> {
    let Some(available) = memory::available() else { return Ok(jobs) };
    let fit = memory::runs_at_once(loaded, jobs, available).map_err(Failure::input)?;
    if fit < jobs && !quiet {
        eprintln!(
            "note: {} at a time, not {jobs}: the largest runs side by side need more than the {} of memory available",
            plural(fit, "run"),
            memory::gigabytes(available)
        );
    }
    Ok(fit)
}

/// Options of `chainsim run` beyond the experiment itself.
pub struct RunArgs {
    pub out: Option<PathBuf>,
    pub jobs: Option<usize>,
    pub slice: Option<String>,
    pub fresh: bool,
    pub quiet: bool,
}

/// Refuses a result folder path that names an existing file.
pub(crate) fn refuse_file_as_folder(path: &Path, option: &str) -> Result<(), Failure> {
    if path.exists() && !path.is_dir() {
        return Err(Failure::input(format!(
            "{option} {}: this is a file; name a folder for the results",
            path.display()
        )));
    }
    Ok(())
}

/// Refuses to write experiment `name` into `dir` when it holds another experiment's runs.
pub(crate) fn refuse_other_experiment(dir: &ResultDir, name: &str, instead: &str) -> Result<(), Failure> {
    match dir.other_experiment(name) {
        Some(other) => Err(Failure::input(format!(
            "{} holds the results of experiment `{other}`, not `{name}`; {instead}",
            dir.path().display()
        ))),
        None => Ok(()),
    }
}

pub fn run(file: &Path, seed: Option<u64>, set: &[String], args: RunArgs) -> Result<(), Failure> {
    let loaded = load(file, seed, set)?;
    let slice = args.slice.as_deref().map(Slice::parse).transpose().map_err(Failure::input)?;
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    if jobs == 0 {
        return Err(Failure::input("--jobs must be at least 1"));
    }
    let jobs = jobs_that_fit(&loaded, jobs, args.quiet)?;
    let out = args.out.unwrap_or_else(|| Path::new("results").join(&loaded.experiment.name));
    refuse_file_as_folder(&out, "--out")?;
    let dir = ResultDir::new(out);
    if !args.fresh {
        refuse_other_experiment(
            &dir,
            &loaded.experiment.name,
            "write to another folder with --out, or pass --fresh to replace them",
        )?;
    }
    let reporter = Reporter::new(args.quiet);
    let options = Options { jobs, slice, fresh: args.fresh };
    let outcome = campaign::run(&loaded, &dir, &options, &provenance(), &reporter).map_err(Failure::run)?;
    for problem in &outcome.plot_problems {
        eprintln!("warning: plot not drawn: {problem}");
    }
    if !args.quiet {
        eprintln!(
            "{}: {} already done, {} computed, {} failed in {:.2} s on {}; results in {}",
            plural(outcome.runs, "run"),
            outcome.reused,
            outcome.computed,
            outcome.failures.len(),
            outcome.wall_seconds,
            plural(jobs, "thread"),
            dir.path().display()
        );
    }
    match outcome.failures.as_slice() {
        [] => Ok(()),
        failures => {
            let listed: Vec<String> =
                failures.iter().map(|f| format!("{} (seed {}): {}", f.id, f.seed, f.error)).collect();
            Err(Failure::run(format!("{} failed:\n  {}", plural(failures.len(), "run"), listed.join("\n  "))))
        }
    }
}

pub fn merge(out: &Path, inputs: &[PathBuf]) -> Result<(), Failure> {
    for input in inputs {
        if !input.join("manifest.json").is_file() {
            return Err(Failure::input(format!("{}: no manifest.json, not a result folder", input.display())));
        }
    }
    refuse_file_as_folder(out, "merge")?;
    let inputs: Vec<ResultDir> = inputs.iter().map(ResultDir::new).collect();
    let target = ResultDir::new(out);
    let experiment =
        inputs[0].read_json("manifest.json").map_err(Failure::run)?["experiment"].as_str().map(String::from);
    if let Some(name) = experiment {
        refuse_other_experiment(&target, &name, "merge into another folder")?;
    }
    let merged = campaign::merge(&target, &inputs).map_err(Failure::run)?;
    for problem in &merged.plot_problems {
        eprintln!("warning: plot not drawn: {problem}");
    }
    eprintln!("merged {} from {} into {}", plural(merged.copied, "run"), plural(inputs.len(), "folder"), out.display());
    if let Some(first) = merged.missing.first() {
        eprintln!(
            "warning: {} of the plan still missing (first {first}): merge the other slices' folders too; the tables hold the runs present",
            plural(merged.missing.len(), "run"),
        );
    }
    Ok(())
}

pub fn plot(dir: &Path) -> Result<(), Failure> {
    if !dir.join("manifest.json").is_file() {
        return Err(Failure::input(format!("{}: no manifest.json, not a result folder", dir.display())));
    }
    // A manifest that does not parse is bad input, not a failure to draw.
    ResultDir::new(dir).read_json("manifest.json").map_err(Failure::input)?;
    let (drawn, problems) = experiments::figures::draw_all(&ResultDir::new(dir)).map_err(Failure::run)?;
    for path in &drawn {
        println!("{}", path.display());
    }
    match problems.as_slice() {
        [] => Ok(()),
        problems => Err(Failure::run(format!("plots not drawn:\n  {}", problems.join("\n  ")))),
    }
}

pub fn reproduce_runs(dir: &Path, run: Option<&str>, jobs: Option<usize>) -> Result<(), Failure> {
    if !dir.join("manifest.json").is_file() {
        return Err(Failure::input(format!("{}: no manifest.json, not a result folder", dir.display())));
    }
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    if jobs == 0 {
        return Err(Failure::input("--jobs must be at least 1"));
    }
    let checks = reproduce(&ResultDir::new(dir), run, Path::new("."), jobs).map_err(Failure::input)?;
    let outcome = |result: &Result<String, String>| match result {
        Ok(digest) => format!("digest {digest}"),
        Err(error) => format!("failed: {error}"),
    };
    let mut mismatches = 0;
    for check in &checks {
        if check.matches() {
            match &check.actual {
                Ok(digest) => println!("{}: ok ({digest})", check.id),
                Err(error) => println!("{}: ok, fails as recorded: {error}", check.id),
            }
        } else {
            mismatches += 1;
            println!("{}: MISMATCH: stored {}; rerun {}", check.id, outcome(&check.expected), outcome(&check.actual));
        }
    }
    match mismatches {
        0 => {
            println!("{} of {} reproduced", plural(checks.len(), "run"), checks.len());
            Ok(())
        }
        n => Err(Failure::run(format!("{} of {} did not reproduce", plural(n, "run"), checks.len()))),
    }
}
