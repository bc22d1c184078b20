//! `chainsim run FILE --trace OUT.jsonl`: one run of an experiment with every dispatched event
//! written as a JSON line, for looking inside it. The run is the same as in a study (same seed,
//! same digest); no result folder is written.

use std::cell::RefCell;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use experiments::{LoadedExperiment, RunSpec, execute_traced};
use simulator::SimDuration;
use simulator::trace::{TraceFilter, TraceWriter};

use crate::commands::{Failure, load};

/// What to trace.
pub struct Request {
    /// The trace file.
    pub out: PathBuf,
    /// The run, as `POINT-REPLICATE`.
    pub run: Option<String>,
    /// `--trace-nodes`.
    pub nodes: Option<String>,
    /// `--trace-from`.
    pub from: Option<String>,
    /// `--trace-until`.
    pub until: Option<String>,
}

pub fn run(file: &Path, seed: Option<u64>, set: &[String], request: &Request) -> Result<(), Failure> {
    let loaded = load(file, seed, set)?;
    let spec = chosen_run(&loaded, request.run.as_deref())?;
    let nodes = loaded.points[spec.point].experiment.network.nodes;
    let filter = TraceFilter {
        nodes: request.nodes.as_deref().map(|list| node_list(list, nodes)).transpose()?.unwrap_or_default(),
        from: request.from.as_deref().map(|t| time("--trace-from", t)).transpose()?,
        until: request.until.as_deref().map(|t| time("--trace-until", t)).transpose()?,
    };
    let created = std::fs::File::create(&request.out)
        .map_err(|e| Failure::input(format!("--trace {}: {e}", request.out.display())))?;
    let trace = Rc::new(RefCell::new(TraceWriter::new(BufWriter::new(created), filter)));
    let record = execute_traced(&loaded, &spec, Some(Box::new(trace.clone())));
    let lines =
        trace.borrow_mut().finish().map_err(|e| Failure::run(format!("--trace {}: {e}", request.out.display())))?;
    let record = record.map_err(Failure::run)?;
    println!(
        "run {} (seed {}): digest {:016x}, {} events; {lines} traced to {}",
        spec.id(),
        spec.seed,
        record.digest,
        record.events,
        request.out.display()
    );
    Ok(())
}

/// The run `--run` names, or the experiment's only run.
fn chosen_run(loaded: &LoadedExperiment, id: Option<&str>) -> Result<RunSpec, Failure> {
    let (points, replicates) = (loaded.points.len(), loaded.experiment.replicates);
    let Some(id) = id else {
        return match loaded.run_count() {
            1 => Ok(RunSpec::new(loaded.experiment.seed, 0, 0)),
            n => Err(Failure::input(format!(
                "the experiment has {n} runs ({points} points × {replicates} replicates); choose one with --run POINT-REPLICATE, e.g. --run 0-0"
            ))),
        };
    };
    let parsed = id.split_once('-').and_then(|(p, r)| Some((p.parse::<usize>().ok()?, r.parse::<u32>().ok()?)));
    match parsed {
        Some((point, replicate)) if point < points && replicate < replicates => {
            Ok(RunSpec::new(loaded.experiment.seed, point, replicate))
        }
        Some(_) => Err(Failure::input(format!(
            "--run {id}: no such run; points are 0..{points} and replicates 0..{replicates}"
        ))),
        None => Err(Failure::input(format!("--run {id}: write POINT-REPLICATE, e.g. 3-1"))),
    }
}

/// Node ids and inclusive ranges, comma-separated (`0,5-9`), each below `nodes`.
fn node_list(list: &str, nodes: u32) -> Result<Vec<u32>, Failure> {
    let bad = |why: String| Failure::input(format!("--trace-nodes {list}: {why}"));
    let id = |text: &str| {
        let id: u32 = text.trim().parse().map_err(|_| bad(format!("`{text}` is not a node id")))?;
        if id < nodes { Ok(id) } else { Err(bad(format!("node {id} does not exist; ids are 0..{nodes}"))) }
    };
    let mut ids = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (id(first)?, id(last)?);
                if first > last {
                    return Err(bad(format!("range {part} is empty; write FIRST-LAST with FIRST ≤ LAST")));
                }
                ids.extend(first..=last);
            }
            None => ids.push(id(part)?),
        }
    }
    Ok(ids)
}

fn time(option: &str, text: &str) -> Result<SimDuration, Failure> {
    simulator::units::parse_duration(text).map(SimDuration).map_err(|e| Failure::input(format!("{option} {text}: {e}")))
}
