//! The bridge studies end to end: byte-identical results whatever the number of worker threads,
//! and bad bridge configs refused with the key at fault.

mod common;

use common::{assert_refused, assert_study_identical_across_job_counts, chainsim, stderr};

/// Each bridge study cut short (one replicate, fewer points) gives the same files with one
/// worker thread and with two.
#[test]
fn the_bridge_studies_are_byte_identical_across_job_counts() {
    let shorter: [(&str, &[&str]); 3] = [
        ("bridge-latency", &["stop.time=15min", "protocol.warmup=2min", "protocol.drain=5min", "protocol.threshold=5"]),
        (
            "bridge-attacks",
            &["stop.time=22min", "protocol.drain=1min", "protocol.reorg.depth=1", "protocol.confirmations=4"],
        ),
        ("bridge-side-chains", &["stop.time=12min", "protocol.warmup=2min", "protocol.drain=4min"]),
    ];
    for (name, sets) in shorter {
        assert_study_identical_across_job_counts(name, sets);
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

/// The config above with `fields` in its protocol section is refused as `expected` says.
fn refused(fields: &str, expected: &[&str]) {
    assert_refused(BRIDGE, fields, expected);
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
    refused(r#"side_chain: (slot: "1us")"#, &["protocol.side_chain.slot", "slots of 1us", "lengthen the slot"]);
    refused("side_consensus: Pbft()", &["protocol.side_validators", "role `side` has 3 nodes", "3f + 1"]);
    refused(
        r#"side_consensus: Pbft(), side_chain: (slot: "3s")"#,
        &["protocol.side_chain.slot", "not read when side_consensus is Pbft", "block_interval"],
    );
    refused(
        "side_consensus: Pbft(consensus: (load: Open(rate: 5)))",
        &["protocol.side_consensus.consensus.load", "not read by a bridge's side chain"],
    );
    refused(r#"side_consensus: Pbft(block_interval: "0s")"#, &["protocol.side_consensus.block_interval", "1ms"]);
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
