//! Studies across machines without a scheduler: `chainsim slurm` writes the job array and the
//! merge job (balanced slices, pass-through options, the dependency), `--shard` still works as
//! `--slice` with a warning, and `chainsim status` counts finished, failed and missing runs.
//! `tests/slurm-cluster.sh` runs the same against a real one-node Slurm cluster.

mod common;

use common::{assert_same_results, chainsim, run_ok, stderr};
use std::process::Output;

/// Two sizes of network, three replicates: the 8,000-node runs are the long ones.
const STUDY: &str = r#"(
    name: "grid",
    seed: 3,
    replicates: 3,
    sweep: [("network.nodes", [100, 8000])],
    network: (
        nodes: 100,
        topology: RandomRegular(degree: 4),
        bandwidth: (upload: "10Mbps", download: "20Mbps"),
        latency: LogNormal(median: "30ms", sigma: 0.5),
    ),
    protocol: Flood(items: 2, item_size: "10KB", interval: "1s"),
)
"#;

fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("grid.ron"), STUDY).unwrap();
    tmp
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn slurm_writes_an_array_of_balanced_slices_and_a_merge_after_it() {
    let tmp = setup();
    let o = run_ok(
        &["slurm", "grid.ron", "--slices", "3", "--cpus-per-task", "4", "--time", "02:00:00", "--partition", "short"]
            .into_iter()
            .chain(["--account", "lab", "--mem", "8G", "--sbatch-arg=--qos=long", "--set", "protocol.items=3"])
            .collect::<Vec<_>>(),
        tmp.path(),
    );
    // The three long runs go one to each slice, the short ones fill in after them.
    let out = stdout(&o);
    for slice in 1..=3 {
        assert!(out.contains(&format!("slice {slice}: 2 runs, 33.")), "{out}");
    }
    let folder = tmp.path().join("results/grid/slurm");
    let slices = std::fs::read_to_string(folder.join("slices.sh")).unwrap();
    for line in [
        "#SBATCH --array=1-3",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --time=02:00:00",
        "#SBATCH --partition=short",
        "#SBATCH --account=lab",
        "#SBATCH --mem=8G",
        "#SBATCH --qos=long",
        "--set 'protocol.items=3'",
        "--slice \"$SLURM_ARRAY_TASK_ID/3\"",
    ] {
        assert!(slices.contains(line), "`{line}` missing from slices.sh:\n{slices}");
    }
    let merge = std::fs::read_to_string(folder.join("merge.sh")).unwrap();
    assert!(merge.contains("#SBATCH --kill-on-invalid-dep=yes") && merge.contains("#SBATCH --qos=long"), "{merge}");
    let submit = std::fs::read_to_string(folder.join("submit.sh")).unwrap();
    assert!(submit.contains("--dependency=afterok:\"$array\" merge.sh"), "{submit}");

    // Run by hand, as the array tasks would, the slices merge into the single-machine result.
    let script_slice = |i: &str| {
        let out = format!("results/grid/slurm/slices/{i}");
        run_ok(
            &["run", "grid.ron", "--set", "protocol.items=3", "--slice", &format!("{i}/3"), "--out", &out],
            tmp.path(),
        );
    };
    let o = run_ok(&["status", "results/grid"], tmp.path());
    assert!(stdout(&o).contains("6 runs planned; 0 finished, 0 failed, 6 missing"), "{}", stdout(&o));
    script_slice("1");
    let o = run_ok(&["status", "results/grid"], tmp.path());
    assert!(stdout(&o).contains("6 runs planned; 2 finished, 0 failed, 4 missing"), "{}", stdout(&o));
    script_slice("2");
    script_slice("3");
    let slices: Vec<String> = (1..=3).map(|i| format!("results/grid/slurm/slices/{i}")).collect();
    let mut merge_args = vec!["merge", "results/grid"];
    merge_args.extend(slices.iter().map(String::as_str));
    run_ok(&merge_args, tmp.path());
    run_ok(&["run", "grid.ron", "--set", "protocol.items=3", "--out", "single", "--quiet"], tmp.path());
    assert_same_results(&tmp.path().join("single"), &tmp.path().join("results/grid"));
    let o = run_ok(&["status", "results/grid"], tmp.path());
    assert!(stdout(&o).contains("6 runs planned; 6 finished, 0 failed, 0 missing"), "{}", stdout(&o));
}

#[test]
fn slurm_never_writes_more_slices_than_runs_and_refuses_bad_options() {
    let tmp = setup();
    let o = run_ok(&["slurm", "grid.ron", "--slices", "50"], tmp.path());
    assert!(stderr(&o).contains("6 runs in the plan: 6 slices instead of 50"), "{}", stderr(&o));
    let slices = std::fs::read_to_string(tmp.path().join("results/grid/slurm/slices.sh")).unwrap();
    assert!(slices.contains("#SBATCH --array=1-6\n"), "{slices}");

    let o = chainsim(&["slurm", "grid.ron", "--sbatch-arg", "--qos=long\n#SBATCH --x"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("an sbatch option must be one non-empty line"), "{}", stderr(&o));
    let o = chainsim(&["slurm", "grid.ron", "--slices", "0"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = chainsim(&["slurm", "missing.ron"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = chainsim(&["status", "."], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a result folder"), "{}", stderr(&o));
}

#[test]
fn shard_still_works_as_slice_with_a_warning() {
    let tmp = setup();
    let o = run_ok(&["run", "grid.ron", "--shard", "2/3", "--out", "old", "--quiet"], tmp.path());
    assert!(stderr(&o).contains("--shard is now --slice"), "{}", stderr(&o));
    run_ok(&["run", "grid.ron", "--slice", "2/3", "--out", "new", "--quiet"], tmp.path());
    let runs = |dir: &str| -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(tmp.path().join(dir).join("runs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(runs("old"), runs("new"));
    assert_eq!(runs("new").len(), 2);
    let o = chainsim(&["run", "grid.ron", "--shard", "1/3", "--slice", "1/3"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
