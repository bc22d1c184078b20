//! The `chainsim` command line: argument parsing and dispatch to the commands.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use crate::{bench, commands, slurm, status, swarm, trace};
use experiments::swarm::Subject;

/// Deterministic discrete-event simulator for blockchain networks.
#[derive(Parser)]
#[command(name = "chainsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment and write its result files.
    Run {
        /// The experiment file (RON).
        file: PathBuf,
        /// Output folder [default: results/<experiment name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Master seed, replacing the file's `seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// Override a value of the experiment, e.g. --set network.nodes=500 (repeatable).
        #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
        set: Vec<String>,
        /// Runs in parallel [default: all cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only the I-th of N slices of the runs (slices balanced by expected work), e.g.
        /// --slice "$SLURM_ARRAY_TASK_ID/8".
        #[arg(long, value_name = "I/N", conflicts_with = "shard")]
        slice: Option<String>,
        /// The former name of --slice, kept for one release.
        #[arg(long, value_name = "I/N", hide = true)]
        shard: Option<String>,
        /// Discard finished runs in the output folder and start over.
        #[arg(long)]
        fresh: bool,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        trace: Box<TraceArgs>,
    },
    /// Combine the result folders of `run --slice` slices into one.
    Merge {
        /// The combined result folder.
        out: PathBuf,
        /// The slice folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Redraw the plots of a result folder from its CSV files, without running anything.
    Plot {
        /// The result folder.
        dir: PathBuf,
    },
    /// Rerun runs from a result folder's manifest and check that their digests match.
    Reproduce {
        /// The result folder.
        dir: PathBuf,
        /// Only this run (e.g. 3-1).
        #[arg(long)]
        run: Option<String>,
        /// Runs in parallel [default: all cores].
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Validate an experiment file without running it.
    Check {
        /// The experiment file (RON).
        file: PathBuf,
        /// Override a value of the experiment, as for `run` (repeatable).
        #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
        set: Vec<String>,
    },
    /// Run fault swarms: random fault schedules within f, checking on every seed what must never
    /// happen (PBFT: safety; sharding: atomicity, conservation, double spends and PBFT safety;
    /// Bridge: conservation).
    Swarm {
        /// The protocol: Pbft, Sharding or Bridge.
        #[arg(long, default_value = "Pbft", value_parser = parse_subject)]
        protocol: Subject,
        /// Number of seeds.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
        seeds: u64,
        /// First seed.
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Runs in parallel [default: all cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// Folder for the experiment files of failing and stalled seeds.
        #[arg(long, default_value = "results/swarm")]
        out: PathBuf,
    },
    /// Write (and with --submit, submit) Slurm jobs that run a study's slices as a job array and
    /// merge them into the result folder once every slice has succeeded.
    Slurm(Box<crate::slurm::SlurmArgs>),
    /// How many runs of a study's plan are finished, failed and missing, in a result folder (and
    /// the slice folders `chainsim slurm` keeps in it) or across slice folders.
    Status {
        /// Result or slice folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Measure events per second and peak memory on fixed flooding, PBFT, Bitcoin, sharding, rollup and bridge scenarios.
    Bench {
        /// Run only this scenario, in this process (e.g. flood-10k-fifo), printing one JSON line
        /// per run.
        #[arg(long)]
        scenario: Option<String>,
        /// Run every scenario this many times; the table shows the fastest run and the median
        /// loop time, which steadies figures on a machine whose speed varies.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
    },
}

/// `run --trace`: one run's events instead of a result folder.
#[derive(clap::Args)]
struct TraceArgs {
    /// Write every event of one run to this file as JSON lines, instead of writing results.
    #[arg(long, value_name = "OUT.jsonl", conflicts_with_all = ["out", "jobs", "slice", "shard", "fresh"])]
    trace: Option<PathBuf>,
    /// The run to trace, as POINT-REPLICATE (e.g. 3-1) [default: the only run].
    #[arg(long, value_name = "ID", requires = "trace")]
    run: Option<String>,
    /// Keep only events at or from these nodes: ids and ranges, e.g. 0,5-9.
    #[arg(long = "trace-nodes", value_name = "LIST", requires = "trace")]
    nodes: Option<String>,
    /// Keep only events from this simulated time on, e.g. 2s.
    #[arg(long = "trace-from", value_name = "T", requires = "trace")]
    from: Option<String>,
    /// Keep only events up to this simulated time, e.g. 2.5s.
    #[arg(long = "trace-until", value_name = "T", requires = "trace")]
    until: Option<String>,
}

/// The version with the git commit the binary was built from, when built from a checkout.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| match option_env!("CHAINSIM_GIT_COMMIT") {
        Some(commit) => format!("{} (commit {commit})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// Runs the command line `args` (the program name first). Exit codes: 0 success, 1 a run
/// failed, 2 bad input.
pub fn main(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let parsed = Cli::command().version(version()).try_get_matches_from(args);
    let cli = match parsed.and_then(|matches| Cli::from_arg_matches(&matches)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let result = match cli.command {
        Command::Run { file, out, seed, set, jobs, slice, shard, fresh, quiet, trace } => match *trace {
            TraceArgs { trace: Some(out), run, nodes, from, until } => {
                trace::run(&file, seed, &set, &trace::Request { out, run, nodes, from, until })
            }
            TraceArgs { trace: None, .. } => {
                if shard.is_some() {
                    eprintln!("warning: --shard is now --slice; --shard goes away in the next release");
                }
                let slice = slice.or(shard);
                commands::run(&file, seed, &set, commands::RunArgs { out, jobs, slice, fresh, quiet })
            }
        },
        Command::Merge { out, dirs } => commands::merge(&out, &dirs),
        Command::Plot { dir } => commands::plot(&dir),
        Command::Reproduce { dir, run, jobs } => commands::reproduce_runs(&dir, run.as_deref(), jobs),
        Command::Check { file, set } => commands::check(&file, &set),
        Command::Swarm { protocol, seeds, start, jobs, out } => swarm::main(protocol, start, seeds, jobs, &out),
        Command::Bench { scenario, repeat } => bench::main(scenario.as_deref(), repeat),
        Command::Slurm(args) => slurm::main(&args),
        Command::Status { dirs } => status::main(&dirs),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// A swarm's protocol by name.
fn parse_subject(name: &str) -> Result<Subject, String> {
    Subject::ALL.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).ok_or_else(|| {
        let names: Vec<&str> = Subject::ALL.iter().map(|(n, _)| *n).collect();
        format!("`{name}` has no swarm; choose one of {}", names.join(", "))
    })
}
