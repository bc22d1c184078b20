//! The rollup studies end to end: byte-identical results whatever the number of worker threads,
//! and bad rollup configs refused with the key at fault.

mod common;

use std::path::Path;

use common::{assert_same_results, chainsim, stderr};

/// Each rollup study cut short (one replicate of every point) gives the same files with one
/// worker thread and with two.
#[test]
fn the_rollup_studies_are_byte_identical_across_job_counts() {
    let shorter = [
        ("rollup-capacity", ["stop.time=3min", "protocol.warmup=1min"]),
        ("rollup-dispute", ["stop.time=2d", "protocol.drain=1d"]),
    ];
    for (name, sets) in shorter {
        let study = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("experiments/{name}.ron"));
        let tmp = tempfile::tempdir().unwrap();
        for (out, jobs) in [("one", "1"), ("two", "2")] {
            let mut args = vec!["run", study.to_str().unwrap(), "--out", out, "--jobs", jobs, "--quiet"];
            args.extend(["--set", "replicates=1"]);
            for set in &sets {
                args.extend(["--set", set]);
            }
            let o = chainsim(&args, tmp.path());
            assert!(o.status.success(), "{name}: {}", stderr(&o));
        }
        assert_same_results(&tmp.path().join("one"), &tmp.path().join("two"));
    }
}

const ROLLUP: &str = r#"(
    name: "bad-rollup",
    stop: (time: "1h"),
    network: (
        nodes: 8,
        topology: Complete,
        roles: [
            (name: "l1", nodes: Count(4)),
            (name: "sequencer", nodes: Count(1)),
            (name: "verifiers", nodes: Count(1)),
        ],
    ),
    protocol: Rollup(FIELDS),
)"#;

/// Runs the rollup above with `fields` in its section: exit 2, the key path and the fix named,
/// nothing written.
fn refused(fields: &str, expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("bad.ron"), ROLLUP.replace("FIELDS", fields)).unwrap();
    let o = chainsim(&["run", "bad.ron"], tmp.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{fields}: {err}");
    for part in expected {
        assert!(err.contains(part), "{fields}: `{part}` missing from: {err}");
    }
    assert!(!tmp.path().join("results").exists());
}

#[test]
fn bad_rollup_configs_name_the_key() {
    refused(
        "chain: (blobs: Custom(target: 7, max: 6, update_fraction: 5007716))",
        &["protocol.chain.blobs.target", "above the maximum 6"],
    );
    refused(r#"chain: (slot: "0s")"#, &["protocol.chain.slot", "must be positive"]);
    refused(r#"l1: "validators""#, &["protocol.l1", "no role `validators`", "roles: l1, sequencer, verifiers"]);
    refused("blobs_per_batch: 12", &["protocol.blobs_per_batch", "from 1 to the blobs a block may carry (9"]);
    refused(r#"challenge_window: "0s""#, &["protocol.challenge_window", "must be positive"]);
    refused(r#"warmup: "2h""#, &["protocol.warmup", "shorter than stop.time"]);
}
