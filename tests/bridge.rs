//! The bridge studies end to end: byte-identical results whatever the number of worker threads,
//! and bad bridge configs refused with the key at fault.

mod common;

use std::path::Path;

use common::{assert_same_results, chainsim, stderr};

/// Each bridge study cut short (one replicate, fewer points) gives the same files with one
/// worker thread and with two.
#[test]
fn the_bridge_studies_are_byte_identical_across_job_counts() {
    let shorter: [(&str, &[&str]); 2] = [
        ("bridge-latency", &["stop.time=15min", "protocol.warmup=2min", "protocol.drain=5min", "protocol.threshold=5"]),
        (
            "bridge-attacks",
            &["stop.time=22min", "protocol.drain=1min", "protocol.reorg.depth=1", "protocol.confirmations=4"],
        ),
    ];
    for (name, sets) in shorter {
        let study = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("experiments/{name}.ron"));
        let tmp = tempfile::tempdir().unwrap();
        for (out, jobs) in [("one", "1"), ("two", "2")] {
            let mut args = vec!["run", study.to_str().unwrap(), "--out", out, "--jobs", jobs, "--quiet"];
            args.extend(["--set", "replicates=1"]);
            for set in sets {
                args.extend(["--set", set]);
            }
            let o = chainsim(&args, tmp.path());
            assert!(o.status.success(), "{name}: {}", stderr(&o));
        }
        assert_same_results(&tmp.path().join("one"), &tmp.path().join("two"));
    }
}

const BRIDGE: &str = r#"(
    name: "bad-bridge",
    stop: (time: "1h"),
    network: (
        nodes: 13,
        topology: Complete,
        roles: [
            (name: "main", nodes: Count(3)),
            (name: "side", nodes: Count(3)),
            (name: "bridge", nodes: Count(5)),
            (name: "relayers", nodes: Count(1)),
        ],
    ),
    protocol: Bridge(
        FIELDS
    ),
)"#;

/// Runs the bridge above with `fields` in its section: exit 2, the key path and the fix named,
/// nothing written.
fn refused(fields: &str, expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("bad.ron"), BRIDGE.replace("FIELDS", fields)).unwrap();
    let o = chainsim(&["run", "bad.ron"], tmp.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{fields}: {err}");
    for part in expected {
        assert!(err.contains(part), "{fields}: `{part}` missing from: {err}");
    }
    assert!(!tmp.path().join("results").exists());
}

#[test]
fn bad_bridge_configs_name_the_key() {
    refused("threshold: 6", &["protocol.threshold", "m = 6 is above the n = 5 validators", "set threshold ≤ 5"]);
    refused("threshold: 0", &["protocol.threshold", "must be at least 1"]);
    refused("confirmations: -1", &["bad.ron:15:25", "protocol.confirmations", "whole number"]);
    refused(
        r#"validators: "signers""#,
        &["protocol.validators", "no role `signers`", "roles: main, side, bridge, relayers"],
    );
    refused(r#"relayers: "bridge""#, &["protocol.relayers", "also in another part"]);
    refused("colluders: 1, trust: LightClient", &["protocol.colluders", "light-client bridge has no validators"]);
    refused("amount: (10, 1)", &["protocol.amount", "1 ≤ lo ≤ hi"]);
    refused(r#"forge_at: "2h", colluders: 1"#, &["protocol.forge_at", "before stop.time"]);
    refused(r#"main_chain: (slot: "0s")"#, &["protocol.main_chain.slot", "must be positive"]);
}

/// The bridge's own checker in the fault swarm: every seed's random faults stay within the
/// trust assumption, and no seed breaks conservation.
#[test]
fn a_bridge_swarm_within_the_trust_assumption_breaks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let o = chainsim(&["swarm", "--protocol", "Bridge", "--seeds", "200"], tmp.path());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("seeds 0..200: 200 runs, 0 failing"), "{out}");
}
