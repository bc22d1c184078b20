//! Running the `chainsim` binary from end-to-end tests.

#![allow(dead_code)] // Each test file uses a different part of this helper.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `chainsim` with `args` in `cwd`.
pub fn chainsim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chainsim")).args(args).current_dir(cwd).output().expect("chainsim starts")
}

/// The standard error of a finished command, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The deterministic files of a result folder, by relative path.
pub fn deterministic_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = ["runs.csv", "summary.csv", "series.csv", "manifest.json"]
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
