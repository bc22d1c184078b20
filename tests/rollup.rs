//! The rollup studies end to end: byte-identical results whatever the number of worker threads,
//! and bad rollup configs refused with the key at fault.

mod common;

use common::{assert_refused, assert_study_identical_across_job_counts};

/// Each rollup study cut short (one replicate of every point) gives the same files with one
/// worker thread and with two.
#[test]
fn the_rollup_studies_are_byte_identical_across_job_counts() {
    let shorter = [
        ("rollup-capacity", ["stop.time=3min", "protocol.warmup=1min"]),
        ("rollup-dispute", ["stop.time=2d", "protocol.drain=1d"]),
    ];
    for (name, sets) in shorter {
        assert_study_identical_across_job_counts(name, &sets);
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

/// The config above with `fields` in its protocol section is refused as `expected` says.
fn refused(fields: &str, expected: &[&str]) {
    assert_refused(ROLLUP, fields, expected);
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
