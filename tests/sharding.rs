//! The sharding studies end to end: byte-identical results whatever the number of worker threads.

mod common;

use std::path::Path;

use common::{assert_same_results, chainsim, stderr};

/// Each sharding study cut short (one replicate of every point, 400 ms simulated) gives the same
/// files with one worker thread and with two.
#[test]
fn the_sharding_studies_are_byte_identical_across_job_counts() {
    for study in ["shard-scaling", "shard-cross-ratio", "shard-contention"] {
        same_files_with_one_and_two_jobs(study);
    }
}

fn same_files_with_one_and_two_jobs(name: &str) {
    let study = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("experiments/{name}.ron"));
    let tmp = tempfile::tempdir().unwrap();
    for (out, jobs) in [("one", "1"), ("two", "2")] {
        let args = [
            "run",
            study.to_str().unwrap(),
            "--out",
            out,
            "--jobs",
            jobs,
            "--quiet",
            "--set",
            "replicates=1",
            "--set",
            "stop.time=400ms",
            "--set",
            "protocol.warmup=100ms",
        ];
        let o = chainsim(&args, tmp.path());
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_same_results(&tmp.path().join("one"), &tmp.path().join("two"));
}
