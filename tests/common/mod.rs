//! Running the `chainsim` binary from end-to-end tests.

#![allow(dead_code)] // Each test file uses a different part of this helper.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `chainsim` with `args` in `cwd`.
pub fn chainsim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chainsim")).args(args).current_dir(cwd).output().expect("chainsim starts")
}

/// The standard error of a finished command, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
