//! `chainsim status`: how far a study has got, from its result folder, the slice folders
//! `chainsim slurm` keeps in it, or any slice folders named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use experiments::ResultDir;

use crate::commands::{Failure, plural};

/// What a run file says of its run.
#[derive(serde::Deserialize)]
struct RunFile {
    #[serde(default)]
    error: Option<String>,
}

/// How one run stands across the folders.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Finished,
    Failed(String),
}

/// The folders to read for `dir`: itself if it is a result folder, then the slice folders of
/// `chainsim slurm` in it (in slice order), then its plan (`slurm/manifest.json`) if nothing
/// else has one.
fn folders_of(dir: &Path) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    if dir.join("manifest.json").is_file() {
        folders.push(dir.to_path_buf());
    }
    let slices = dir.join("slurm/slices");
    let mut numbered: Vec<(u64, PathBuf)> = std::fs::read_dir(&slices)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            Some((e.file_name().to_str()?.parse().ok()?, e.path()))
        })
        .filter(|(_, path)| path.join("manifest.json").is_file())
        .collect();
    numbered.sort();
    folders.extend(numbered.into_iter().map(|(_, path)| path));
    if folders.is_empty() && dir.join("slurm/manifest.json").is_file() {
        folders.push(dir.join("slurm"));
    }
    folders
}

/// The run ids a manifest plans, and its experiment.
fn planned(folder: &Path) -> Result<(String, Vec<String>), Failure> {
    let manifest = ResultDir::new(folder).read_json("manifest.json").map_err(Failure::input)?;
    let ids = manifest["runs"]
        .as_array()
        .map(|runs| runs.iter().filter_map(|r| r["id"].as_str().map(String::from)).collect())
        .unwrap_or_default();
    Ok((manifest["experiment"].as_str().unwrap_or_default().to_string(), ids))
}

/// The runs whose files `folder` holds, and how each ended.
fn stored(folder: &Path) -> BTreeMap<String, State> {
    let dir = ResultDir::new(folder);
    let mut runs = BTreeMap::new();
    for id in dir.stored_run_ids() {
        let path = folder.join("runs").join(format!("{id}.json"));
        let Ok(file) = std::fs::File::open(&path) else { continue };
        // A file cut short by a kill mid-write is not a run yet.
        let Ok(run) = serde_json::from_reader::<_, RunFile>(std::io::BufReader::new(file)) else { continue };
        runs.insert(id, run.error.map_or(State::Finished, State::Failed));
    }
    runs
}

/// Runs `chainsim status DIR...`.
pub fn main(dirs: &[PathBuf]) -> Result<(), Failure> {
    let mut folders = Vec::new();
    for dir in dirs {
        let found = folders_of(dir);
        if found.is_empty() {
            return Err(Failure::input(format!(
                "{}: no manifest.json here or in slurm/: not a result folder, a slice folder or a `chainsim slurm` folder",
                dir.display()
            )));
        }
        folders.extend(found);
    }
    let (experiment, plan) = planned(&folders[0])?;
    let mut states: BTreeMap<String, State> = BTreeMap::new();
    for folder in &folders {
        let (other, _) = planned(folder)?;
        if other != experiment {
            return Err(Failure::input(format!(
                "{} holds experiment `{other}`, {} holds `{experiment}`: give folders of one study",
                folder.display(),
                folders[0].display()
            )));
        }
        let runs = stored(folder);
        let (finished, failed) =
            runs.values().fold((0, 0), |(f, x), s| if *s == State::Finished { (f + 1, x) } else { (f, x + 1) });
        if folder.file_name().is_some_and(|n| n != "slurm") {
            println!("  {}: {} finished, {} failed", folder.display(), finished, failed);
        }
        for (id, state) in runs {
            // A run finished anywhere counts as finished.
            if states.get(&id) != Some(&State::Finished) {
                states.insert(id, state);
            }
        }
    }
    let planned_runs = plan.len();
    let finished = plan.iter().filter(|id| states.get(*id) == Some(&State::Finished)).count();
    let failed: Vec<(&String, &String)> = plan
        .iter()
        .filter_map(|id| match states.get(id) {
            Some(State::Failed(error)) => Some((id, error)),
            _ => None,
        })
        .collect();
    let missing: Vec<&String> = plan.iter().filter(|id| !states.contains_key(*id)).collect();
    println!(
        "experiment `{experiment}`: {} planned; {finished} finished, {} failed, {} missing",
        plural(planned_runs, "run"),
        failed.len(),
        missing.len()
    );
    for (id, error) in &failed {
        println!("failed {id}: {error}");
    }
    if !missing.is_empty() {
        let first: Vec<&str> = missing.iter().take(10).map(|id| id.as_str()).collect();
        let more = if missing.len() > first.len() { ", ..." } else { "" };
        println!("missing: {}{more}", first.join(", "));
    }
    Ok(())
}
