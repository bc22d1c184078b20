//! `chainsim slurm`: a study as a Slurm job array, one slice of its runs per array task, and a
//! merge job that waits for every task to succeed and writes the result folder. Everything goes
//! in the result folder's `slurm/` folder: the scripts, the slices' folders and the jobs' logs.
//! Submitting again resumes: each slice skips the runs its folder already holds.

use std::path::{Path, PathBuf};
use std::process::Command;

use experiments::ResultDir;
use experiments::runner::plan;
use experiments::slices::{assign, expected_work};

use crate::commands::{self, Failure, plural, provenance, refuse_file_as_folder, refuse_other_experiment};

/// Options of `chainsim slurm`.
#[derive(clap::Args)]
pub struct SlurmArgs {
    /// The experiment file (RON).
    file: PathBuf,
    /// Array tasks, each running one slice of the runs (at most one per run).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    slices: u32,
    /// CPUs of each array task: its slice runs that many runs at a time.
    #[arg(long = "cpus-per-task", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    cpus_per_task: u32,
    /// Time limit of each array task and of the merge job (HH:MM:SS, or any form sbatch takes).
    #[arg(long)]
    time: Option<String>,
    /// Slurm partition of both jobs.
    #[arg(long)]
    partition: Option<String>,
    /// Slurm account both jobs are charged to.
    #[arg(long)]
    account: Option<String>,
    /// Memory of each array task and of the merge job, e.g. 4G.
    #[arg(long)]
    mem: Option<String>,
    /// The result folder [default: results/<experiment name>]; scripts, slices and logs go in
    /// its `slurm/` folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override a value of the experiment, as for `run` (repeatable).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    set: Vec<String>,
    /// An extra `#SBATCH` line for both jobs, e.g. --sbatch-arg=--qos=long (repeatable).
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Submit both jobs with sbatch, the merge to start once every array task has succeeded.
    #[arg(long)]
    submit: bool,
}

/// What the scripts are written from.
#[derive(Clone, Debug, PartialEq)]
pub struct Jobs {
    /// The experiment's name, for the jobs' names.
    pub name: String,
    /// Absolute paths of the chainsim binary, the experiment file and the result folder.
    pub binary: PathBuf,
    /// The experiment file.
    pub file: PathBuf,
    /// The result folder.
    pub out: PathBuf,
    /// `--set` overrides, passed on to every slice.
    pub set: Vec<String>,
    /// Array tasks.
    pub slices: usize,
    /// CPUs per task.
    pub cpus_per_task: u32,
    /// `#SBATCH` options of both jobs beyond the array, CPUs, output and dependency.
    pub common: Vec<String>,
}

/// The three scripts of a study.
pub struct Scripts {
    /// The job array: task I runs slice I.
    pub slices: String,
    /// The merge job.
    pub merge: String,
    /// Submits the array, then the merge after it (`afterok`); prints both job ids.
    pub submit: String,
}

/// `text` as one shell word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn path_word(path: &Path) -> String {
    quote(&path.to_string_lossy())
}

impl Jobs {
    fn slice_folder(&self, index: &str) -> String {
        format!("{}/slurm/slices/{index}", path_word(&self.out))
    }

    fn header(&self, job_name: &str, log: &str) -> Vec<String> {
        let mut lines = vec![
            "#!/bin/bash".to_string(),
            format!("# Written by `chainsim slurm` for experiment `{}`.", self.name),
            format!("#SBATCH --job-name={job_name}"),
            format!("#SBATCH --output={}/slurm/logs/{log}", self.out.to_string_lossy()),
        ];
        lines.extend(self.common.iter().map(|option| format!("#SBATCH {option}")));
        lines
    }

    /// The scripts.
    pub fn scripts(&self) -> Scripts {
        let mut slices = self.header(&format!("chainsim-{}", self.name), "slice-%a.log");
        slices.push(format!("#SBATCH --array=1-{}", self.slices));
        slices.push(format!("#SBATCH --cpus-per-task={}", self.cpus_per_task));
        slices.push("set -euo pipefail".into());
        let mut run = vec![path_word(&self.binary), "run".into(), path_word(&self.file)];
        for set in &self.set {
            run.extend(["--set".into(), quote(set)]);
        }
        run.extend([
            "--jobs".into(),
            "\"${SLURM_CPUS_PER_TASK:-1}\"".into(),
            "--slice".into(),
            format!("\"$SLURM_ARRAY_TASK_ID/{}\"", self.slices),
            "--out".into(),
            self.slice_folder("\"$SLURM_ARRAY_TASK_ID\""),
        ]);
        slices.push(format!("exec {}", run.join(" ")));

        let mut merge = self.header(&format!("chainsim-{}-merge", self.name), "merge.log");
        // A slice that failed (or was cancelled) can never satisfy `afterok`: drop the merge.
        merge.push("#SBATCH --kill-on-invalid-dep=yes".into());
        merge.push("#SBATCH --cpus-per-task=1".into());
        merge.push("set -euo pipefail".into());
        let mut command = vec![path_word(&self.binary), "merge".into(), path_word(&self.out)];
        command.extend((1..=self.slices).map(|i| self.slice_folder(&i.to_string())));
        merge.push(format!("exec {}", command.join(" ")));

        let submit = [
            "#!/bin/bash",
            "# Submits the slices as a job array, then the merge to run once every task succeeded.",
            "# Submitting again resumes: each slice skips the runs its folder already holds.",
            "set -euo pipefail",
            "cd \"$(dirname \"$0\")\"",
            "array=$(sbatch --parsable slices.sh)",
            "array=${array%%;*}",
            "merge=$(sbatch --parsable --dependency=afterok:\"$array\" merge.sh)",
            "merge=${merge%%;*}",
            "echo \"$array $merge\"",
        ];
        Scripts { slices: lines(slices), merge: lines(merge), submit: lines(submit.map(String::from).to_vec()) }
    }
}

fn lines(lines: Vec<String>) -> String {
    lines.join("\n") + "\n"
}

/// `#SBATCH` options from the command line; each must fit on its line.
fn common_options(args: &SlurmArgs) -> Result<Vec<String>, Failure> {
    let mut options = Vec::new();
    let named = [("time", &args.time), ("partition", &args.partition), ("account", &args.account), ("mem", &args.mem)];
    for (name, value) in named {
        if let Some(value) = value {
            options.push(format!("--{name}={value}"));
        }
    }
    options.extend(args.sbatch_args.iter().cloned());
    if let Some(bad) = options.iter().find(|o| o.contains(['\n', '\r']) || o.trim().is_empty()) {
        return Err(Failure::input(format!("`{}`: an sbatch option must be one non-empty line", bad.escape_debug())));
    }
    Ok(options)
}

fn absolute(path: &Path, what: &str) -> Result<PathBuf, Failure> {
    std::fs::canonicalize(path).map_err(|e| Failure::input(format!("{what} {}: {e}", path.display())))
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| Failure::run(format!("cannot write {}: {e}", path.display())))
}

/// Runs `chainsim slurm`.
pub fn main(args: &SlurmArgs) -> Result<(), Failure> {
    let loaded = commands::load(&args.file, None, &args.set)?;
    let name = loaded.experiment.name.clone();
    let common = common_options(args)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("results").join(&name));
    refuse_file_as_folder(&out, "--out")?;
    refuse_other_experiment(&ResultDir::new(&out), &name, "write to another folder with --out")?;
    let runs = plan(&loaded);
    let slices = (args.slices as usize).min(runs.len()).max(1);
    if slices < args.slices as usize {
        eprintln!(
            "note: {} in the plan: {} instead of {}",
            plural(runs.len(), "run"),
            plural(slices, "slice"),
            args.slices
        );
    }
    let folder = out.join("slurm");
    std::fs::create_dir_all(folder.join("logs"))
        .map_err(|e| Failure::run(format!("cannot create {}: {e}", folder.join("logs").display())))?;
    // The plan, for `chainsim status` before any slice has started.
    ResultDir::new(&folder).write_manifest(&loaded, &runs, &provenance()).map_err(Failure::run)?;
    let binary = std::env::current_exe().map_err(|e| Failure::run(format!("cannot find the chainsim binary: {e}")))?;
    let jobs = Jobs {
        name,
        binary,
        file: absolute(&args.file, "experiment file")?,
        out: absolute(&out, "--out")?,
        set: args.set.clone(),
        slices,
        cpus_per_task: args.cpus_per_task,
        common,
    };
    let scripts = jobs.scripts();
    for (file, text) in [("slices.sh", &scripts.slices), ("merge.sh", &scripts.merge), ("submit.sh", &scripts.submit)] {
        write(&folder.join(file), text)?;
    }
    describe_slices(&loaded, &runs, slices);
    let largest = experiments::memory::gigabytes(experiments::memory::largest_run(&loaded).1);
    println!("the largest run needs about {largest} of memory (each task runs --cpus-per-task of them at once)");
    println!("wrote {}/{{slices,merge,submit}}.sh", folder.display());
    if args.submit { submit(&folder, &out) } else { Ok(()) }
}

/// Prints how many runs and how much of the expected work each slice has.
fn describe_slices(loaded: &experiments::LoadedExperiment, runs: &[experiments::runner::RunSpec], slices: usize) {
    let work: Vec<f64> = runs.iter().map(|spec| expected_work(loaded, spec)).collect();
    let slice_of = assign(&work, slices);
    let total: f64 = work.iter().sum();
    for slice in 0..slices {
        let members = slice_of.iter().filter(|&&s| s == slice).count();
        let share: f64 = work.iter().zip(&slice_of).filter(|&(_, &s)| s == slice).map(|(w, _)| w).sum();
        let percent = if total > 0.0 { 100.0 * share / total } else { 100.0 / slices as f64 };
        println!("slice {}: {}, {percent:.1} % of the expected work", slice + 1, plural(members, "run"));
    }
}

/// Submits the jobs with the written `submit.sh`.
fn submit(folder: &Path, out: &Path) -> Result<(), Failure> {
    let output = Command::new("bash")
        .arg(folder.join("submit.sh"))
        .output()
        .map_err(|e| Failure::run(format!("cannot run {}: {e}", folder.join("submit.sh").display())))?;
    if !output.status.success() {
        return Err(Failure::run(format!(
            "sbatch refused the jobs (is this a Slurm login node?): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let ids = String::from_utf8_lossy(&output.stdout);
    let (array, merge) = ids.trim().split_once(' ').unwrap_or((ids.trim(), "?"));
    println!("submitted job array {array} and merge job {merge} (after every array task succeeded)");
    println!("follow with: squeue -j {array},{merge}   or   chainsim status {}", out.display());
    println!("results in {} once job {merge} has finished; submit again to resume a failed slice", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs() -> Jobs {
        Jobs {
            name: "grid".into(),
            binary: "/opt/chainsim".into(),
            file: "/home/me/grid's.ron".into(),
            out: "/scratch/results/grid".into(),
            set: vec!["network.nodes=50".into()],
            slices: 4,
            cpus_per_task: 8,
            common: vec!["--time=01:00:00".into(), "--qos=long".into()],
        }
    }

    #[test]
    fn the_array_runs_one_slice_per_task_with_the_allocation() {
        let scripts = jobs().scripts();
        let s = &scripts.slices;
        assert!(s.starts_with("#!/bin/bash\n"));
        assert!(s.contains("#SBATCH --array=1-4\n"), "{s}");
        assert!(s.contains("#SBATCH --cpus-per-task=8\n"), "{s}");
        assert!(s.contains("#SBATCH --output=/scratch/results/grid/slurm/logs/slice-%a.log\n"), "{s}");
        assert!(s.contains("--jobs \"${SLURM_CPUS_PER_TASK:-1}\" --slice \"$SLURM_ARRAY_TASK_ID/4\""), "{s}");
        assert!(s.contains("--out '/scratch/results/grid'/slurm/slices/\"$SLURM_ARRAY_TASK_ID\""), "{s}");
        assert!(s.contains("exec '/opt/chainsim' run '/home/me/grid'\\''s.ron' --set 'network.nodes=50'"), "{s}");
    }

    #[test]
    fn pass_through_options_go_to_both_jobs() {
        let scripts = jobs().scripts();
        for script in [&scripts.slices, &scripts.merge] {
            assert!(script.contains("#SBATCH --time=01:00:00\n#SBATCH --qos=long\n"), "{script}");
        }
    }

    #[test]
    fn the_merge_waits_for_every_task_and_dies_with_a_failed_one() {
        let scripts = jobs().scripts();
        assert!(scripts.submit.contains("sbatch --parsable --dependency=afterok:\"$array\" merge.sh"));
        assert!(scripts.merge.contains("#SBATCH --kill-on-invalid-dep=yes\n"));
        let slices: Vec<String> = (1..=4).map(|i| format!("'/scratch/results/grid'/slurm/slices/{i}")).collect();
        assert!(
            scripts.merge.contains(&format!("exec '/opt/chainsim' merge '/scratch/results/grid' {}", slices.join(" "))),
            "{}",
            scripts.merge
        );
    }
}
