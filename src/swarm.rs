//! `chainsim swarm`: fault swarms of PBFT, sharding or a bridge over a range of seeds.

use std::path::Path;

use experiments::swarm::{self, Subject};

use crate::commands::Failure;

/// Seeds run between two progress lines.
const CHUNK: u64 = 200;

/// Most stalled seeds listed with their reproducing command.
const STALLED_SHOWN: usize = 20;

/// Saves the experiment file of `seed` under `out` and says how to reproduce it.
fn reproduce_hint(subject: Subject, seed: u64, out: &Path) -> String {
    let file = out.join(format!("{}.ron", subject.case_name(seed)));
    let saved = std::fs::create_dir_all(out).and_then(|()| std::fs::write(&file, swarm::case_file(subject, seed)));
    let case = match saved {
        Ok(()) => format!("; case saved as {} (chainsim run {0})", file.display()),
        Err(e) => format!("; the case could not be saved in {}: {e}", out.display()),
    };
    let protocol = if subject == Subject::Pbft { String::new() } else { format!(" --protocol {}", subject.name()) };
    format!("reproduce with `chainsim swarm{protocol} --start {seed} --seeds 1`{case}")
}

pub fn main(subject: Subject, start: u64, seeds: u64, jobs: Option<usize>, out: &Path) -> Result<(), Failure> {
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1);
    let end = start.saturating_add(seeds);
    let (mut ran, mut live, mut changed_view) = (0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    let mut stalled = Vec::new();
    let mut first = start;
    while first < end {
        let last = first.saturating_add(CHUNK).min(end);
        for (seed, outcome) in (first..last).zip(swarm::run_range(subject, first..last, jobs)) {
            match outcome {
                Ok(o) => {
                    ran += 1;
                    live += u64::from(o.live_at_end);
                    if !o.live_at_end {
                        stalled.push(seed);
                    }
                    changed_view += u64::from(o.view_changes > 0);
                    if !o.violations.is_empty() {
                        failures.push((seed, o.describe()));
                    }
                }
                Err(message) => failures.push((seed, message)),
            }
        }
        eprintln!("swarm: {}/{} seeds, {} failing", last - start, seeds, failures.len());
        first = last;
    }
    println!(
        "seeds {start}..{end}: {ran} runs, {} failing; {} in {live}, views changed in {changed_view}",
        failures.len(),
        subject.live()
    );
    if !stalled.is_empty() {
        // Not a failure: a fault late in the run may leave too little time to recover.
        println!("not so in {} seeds (liveness, for inspection):", stalled.len());
        for &seed in stalled.iter().take(STALLED_SHOWN) {
            println!("seed {seed}: stalled at the end — {}", reproduce_hint(subject, seed, out));
        }
        if stalled.len() > STALLED_SHOWN {
            println!("... and {} more", stalled.len() - STALLED_SHOWN);
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    for (seed, what) in &failures {
        println!("seed {seed}: {what} — {}", reproduce_hint(subject, *seed, out));
    }
    Err(Failure::run(format!("{} of {seeds} swarm seeds failed", failures.len())))
}
