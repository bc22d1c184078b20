//! Executes runs: builds the world and the protocol for a run's seed, runs the engine, and
//! collects the protocol's report with the engine's counters.

use std::time::{Duration, Instant};
use thiserror::Error;

use crate::load::LoadedExperiment;
use models::registry::Finished;
use simulator::rng::splitmix64;
use simulator::trace::Tracer;
use simulator::{NodeCounters, NodeLabels, Report, SimTime, StopReason, World};

/// Which run of an experiment: a point of the parameter grid and a replicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSpec {
    /// Index of the parameter point.
    pub point: usize,
    /// Replicate number at that point.
    pub replicate: u32,
    /// The run's own seed.
    pub seed: u64,
}

impl RunSpec {
    /// The run of `point` and `replicate` with its seed derived from the experiment seed.
    pub fn new(experiment_seed: u64, point: usize, replicate: u32) -> Self {
        RunSpec { point, replicate, seed: run_seed(experiment_seed, point, replicate) }
    }

    /// The run's identifier in file names: `<point>-<replicate>`.
    pub fn id(&self) -> String {
        format!("{}-{}", self.point, self.replicate)
    }
}

/// `run_seed = splitmix64(experiment_seed ^ splitmix64(point · 2^32 + replicate))`.
pub fn run_seed(experiment_seed: u64, point: usize, replicate: u32) -> u64 {
    splitmix64(experiment_seed ^ splitmix64(((point as u64) << 32) | u64::from(replicate)))
}

/// The runs of an experiment in order: every point, and at each point every replicate.
pub fn plan(loaded: &LoadedExperiment) -> Vec<RunSpec> {
    let seed = loaded.experiment.seed;
    (0..loaded.points.len())
        .flat_map(|point| (0..loaded.experiment.replicates).map(move |replicate| RunSpec::new(seed, point, replicate)))
        .collect()
}

/// Everything one finished run produced.
#[derive(Clone, Debug)]
pub struct RunRecord {
    /// Which run.
    pub spec: RunSpec,
    /// Why it stopped.
    pub stop: StopReason,
    /// Simulated time at the end.
    pub end_time: SimTime,
    /// Events dispatched.
    pub events: u64,
    /// Digest of every dispatched event.
    pub digest: u64,
    /// The protocol's metrics and detail.
    pub report: Report,
    /// Counters per node.
    pub nodes: Vec<NodeCounters>,
    /// Each node's role and region.
    pub labels: NodeLabels,
    /// Wall-clock time spent (for perf.json and the terminal only).
    pub timing: Timing,
}

/// Wall-clock time of one run, split so that engine throughput excludes world construction.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Timing {
    /// Building the topology, latency model and protocol state.
    pub setup: Duration,
    /// The event loop.
    pub simulate: Duration,
}

impl Timing {
    /// Events dispatched per second of event-loop time.
    pub fn events_per_second(&self, events: u64) -> f64 {
        let secs = self.simulate.as_secs_f64();
        if secs > 0.0 { events as f64 / secs } else { 0.0 }
    }
}

/// A run that could not complete. The CLI exits with code 1.
#[derive(Debug, Error)]
pub enum RunError {
    /// The world could not be built (e.g. a random regular graph that did not close).
    #[error("run {id} (seed {seed}): {message}")]
    Build {
        /// Run id.
        id: String,
        /// Run seed.
        seed: u64,
        /// What failed.
        message: String,
    },
    /// The event budget ran out.
    #[error(
        "run {id} (seed {seed}): stopped after {events} events at simulated time {time} without finishing; raise stop.events or shorten the run"
    )]
    EventBudget {
        /// Run id.
        id: String,
        /// Run seed.
        seed: u64,
        /// Events dispatched.
        events: u64,
        /// Simulated time reached.
        time: SimTime,
    },
    /// The time limit came before the protocol's planned work had begun.
    #[error("run {id} (seed {seed}): the time limit ({time}) came with {left}; raise stop.time or remove it")]
    TimeLimit {
        /// Run id.
        id: String,
        /// Run seed.
        seed: u64,
        /// The limit.
        time: SimTime,
        /// What had not begun.
        left: String,
    },
}

/// Runs one run of a loaded experiment.
pub fn execute(loaded: &LoadedExperiment, spec: &RunSpec) -> Result<RunRecord, RunError> {
    execute_traced(loaded, spec, None)
}

/// Runs one run of a loaded experiment, writing its events to `trace` if given.
pub fn execute_traced(
    loaded: &LoadedExperiment,
    spec: &RunSpec,
    trace: Option<Box<dyn Tracer>>,
) -> Result<RunRecord, RunError> {
    let experiment = &loaded.points[spec.point].experiment;
    let started = Instant::now();
    let world = World::build(&experiment.network, spec.seed, &loaded.base_dir).map_err(|e| RunError::Build {
        id: spec.id(),
        seed: spec.seed,
        message: e.to_string(),
    })?;
    let labels = world.node_labels(&experiment.network);
    let Finished { report, stats, unstarted, loop_time } =
        experiment.protocol.run(world, &experiment.setting(), spec.seed, experiment.stop.limits(), trace);
    let timing = Timing { setup: started.elapsed().saturating_sub(loop_time), simulate: loop_time };
    if stats.stop == StopReason::EventBudget {
        return Err(RunError::EventBudget {
            id: spec.id(),
            seed: spec.seed,
            events: stats.events,
            time: stats.end_time,
        });
    }
    if let Some(left) = unstarted {
        return Err(RunError::TimeLimit { id: spec.id(), seed: spec.seed, time: stats.end_time, left });
    }
    Ok(RunRecord {
        spec: spec.clone(),
        stop: stats.stop,
        end_time: stats.end_time,
        events: stats.events,
        digest: stats.digest,
        report,
        nodes: stats.nodes,
        labels,
        timing,
    })
}
