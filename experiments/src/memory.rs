//! Runs that cannot fit in this machine's memory are refused before they start (an allocation
//! failure minutes into a run would abort the process and every run beside it), and runs that
//! fit alone but not side by side run fewer at a time.

use crate::experiment::Experiment;
use crate::load::LoadedExperiment;
use crate::sweep;

/// Bytes a run of `experiment` needs at its peak, about: the engine's state on its network and
/// the protocol's own.
pub fn run_estimate(experiment: &Experiment) -> f64 {
    let setting = experiment.setting();
    setting.network.memory_estimate() + experiment.protocol.memory_estimate(&setting)
}

/// Bytes this machine has available for new work (`MemAvailable` of `/proc/meminfo`), where the
/// system tells.
pub fn available() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// `bytes` in gigabytes, for messages.
pub fn gigabytes(bytes: f64) -> String {
    format!("{:.1} GB", bytes / 1e9)
}

/// The largest run of `loaded`: its point and estimate.
pub fn largest_run(loaded: &LoadedExperiment) -> (usize, f64) {
    loaded
        .points
        .iter()
        .map(|p| run_estimate(&p.experiment))
        .enumerate()
        .fold((0, 0.0), |best, (i, bytes)| if bytes > best.1 { (i, bytes) } else { best })
}

/// How many of `loaded`'s runs may run at once, at most `jobs`, within `available` bytes: the
/// largest runs side by side must fit. A plan whose largest run alone cannot fit is refused, with
/// the estimate and what to change.
pub fn runs_at_once(loaded: &LoadedExperiment, jobs: usize, available: f64) -> Result<usize, String> {
    let (point, largest) = largest_run(loaded);
    if largest > available {
        let params = &loaded.points[point].params;
        let at = if params.is_empty() {
            String::new()
        } else {
            let described: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", sweep::display(v))).collect();
            format!(" at {}", described.join(", "))
        };
        return Err(format!(
            "a run{at} needs about {} of memory at its peak ({} nodes, {:.0} link ends and the protocol's state), more than the {} this machine has available; lower network.nodes or the topology's degree, or run it on a machine with more memory",
            gigabytes(largest),
            loaded.points[point].experiment.setting().network.nodes,
            loaded.points[point].experiment.setting().network.adjacency_entries(),
            gigabytes(available),
        ));
    }
    let replicates = loaded.experiment.replicates.max(1) as usize;
    let mut runs: Vec<f64> =
        loaded.points.iter().flat_map(|p| std::iter::repeat_n(run_estimate(&p.experiment), replicates)).collect();
    runs.sort_by(|a, b| b.total_cmp(a));
    let mut total = 0.0;
    let fitting = runs.iter().take_while(|&&bytes| {
        total += bytes;
        total <= available
    });
    Ok(fitting.count().clamp(1, jobs.max(1)))
}
