//! The `chainsim` command line.

mod bench;
mod commands;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

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
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// Validate an experiment file without running it.
    Check {
        /// The experiment file (RON).
        file: PathBuf,
        /// Override a value of the experiment, as for `run` (repeatable).
        #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
        set: Vec<String>,
    },
    /// Measure events per second and peak memory on fixed flooding scenarios.
    Bench {
        /// Run only this scenario, in this process (e.g. flood-10k-fifo).
        #[arg(long)]
        scenario: Option<String>,
    },
}

/// Exit codes: 0 success, 1 a run failed, 2 bad input.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { file, out, seed, set, quiet } => commands::run(&file, out, seed, &set, quiet),
        Command::Check { file, set } => commands::check(&file, &set),
        Command::Bench { scenario } => bench::main(scenario.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
