//! Running the `chainsim` binary from end-to-end tests.

#![allow(dead_code)] // Each test file uses a different part of this helper.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `chainsim` with `args` in `cwd`.
pub fn chainsim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chainsim")).args(args).current_dir(cwd).output().expect("chainsim starts")
}

/// Runs `chainsim` with `args` in `cwd` and checks that it succeeded.
pub fn run_ok(args: &[&str], cwd: &Path) -> Output {
    let o = chainsim(args, cwd);
    assert!(o.status.success(), "chainsim {args:?}: {}", stderr(&o));
    o
}

/// The standard error of a finished command, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The deterministic files of a result folder, by relative path.
pub fn deterministic_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = ["runs.csv", "summary.csv", "series.csv", "nodes.csv", "manifest.json"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))))
        .collect();
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir.join("runs")).unwrap().map(|e| e.unwrap().path()).collect();
    runs.sort();
    for path in runs {
        files.push((path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap()));
    }
    files
}

pub fn assert_same_results(a: &Path, b: &Path) {
    let (fa, fb) = (deterministic_files(a), deterministic_files(b));
    assert_eq!(fa.iter().map(|f| &f.0).collect::<Vec<_>>(), fb.iter().map(|f| &f.0).collect::<Vec<_>>());
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name} differs between {} and {}", a.display(), b.display());
    }
}

/// Shipped study `name`, one replicate with the `--set` options `sets`, gives the same files
/// with one worker thread and with two.
pub fn assert_study_identical_across_job_counts(name: &str, sets: &[&str]) {
    let study = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("experiments/{name}.ron"));
    let tmp = tempfile::tempdir().unwrap();
    // Both at once: the one-thread run leaves a core free that the two-thread run takes.
    let runs: Vec<std::process::Child> = [("one", "1"), ("two", "2")]
        .into_iter()
        .map(|(out, jobs)| {
            let mut args = vec!["run", study.to_str().unwrap(), "--out", out, "--jobs", jobs, "--quiet"];
            args.extend(["--set", "replicates=1"]);
            for set in sets {
                args.extend(["--set", set]);
            }
            Command::new(env!("CARGO_BIN_EXE_chainsim"))
                .args(&args)
                .current_dir(tmp.path())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("chainsim starts")
        })
        .collect();
    for run in runs {
        let o = run.wait_with_output().expect("chainsim runs");
        assert!(o.status.success(), "{name}: {}", stderr(&o));
    }
    assert_same_results(&tmp.path().join("one"), &tmp.path().join("two"));
}

/// Runs `template` with `FIELDS` replaced by `fields`: exit 2, every part of `expected` in the
/// message (the key path, the fix), nothing written.
pub fn assert_refused(template: &str, fields: &str, expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("bad.ron"), template.replace("FIELDS", fields)).unwrap();
    let o = chainsim(&["run", "bad.ron"], tmp.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{fields}: {err}");
    for part in expected {
        assert!(err.contains(part), "{fields}: `{part}` missing from: {err}");
    }
    assert!(!tmp.path().join("results").exists());
}
