//! `chainsim run --trace`: every event of one run as JSON lines, without changing the run.

mod common;

use common::{chainsim, stderr};

/// One 1,000-byte item from node 0 along the line 0 – 1 – 2: 8 Mbps links take 1 ms per item,
/// latency is 10 ms, and node 1 checks the item on its CPU for 1 ms before forwarding it.
const LINE: &str = r#"(
    name: "line",
    network: (
        nodes: 3,
        topology: Edges([(0, 1), (1, 2)]),
        bandwidth: (upload: "8Mbps", download: "8Mbps"),
        contention: Fifo,
        latency: Constant("10ms"),
    ),
    protocol: Flood(items: 1, item_size: "1000B", sources: Nodes([0]), arrivals: Periodic, verify: "1ms"),
)"#;

#[test]
fn a_trace_of_a_three_node_flood_lists_every_event_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("line.ron"), LINE).unwrap();
    let traced = chainsim(&["run", "line.ron", "--trace", "trace.jsonl"], tmp.path());
    assert!(traced.status.success(), "{}", stderr(&traced));
    let trace = std::fs::read_to_string(tmp.path().join("trace.jsonl")).unwrap();
    // Nodes start in order; node 0 creates the item at once; its first bit reaches node 1's
    // downlink after 10 ms and the last after 11 ms; node 1 verifies it until 12 ms and sends
    // it on, to arrive at node 2 at 22 ms and be delivered at 23 ms, when every node holds it and
    // the run ends (node 2's verification never runs).
    let expected = [
        r#"{"t_ns":0,"kind":"start","node":0}"#,
        r#"{"t_ns":0,"kind":"start","node":1}"#,
        r#"{"t_ns":0,"kind":"start","node":2}"#,
        r#"{"t_ns":0,"kind":"timer","node":0,"tag":"0"}"#,
        r#"{"t_ns":10000000,"kind":"arrive","node":1}"#,
        r#"{"t_ns":11000000,"kind":"deliver","node":1,"peer":0,"message":"Item","bytes":1000}"#,
        r#"{"t_ns":12000000,"kind":"cpu","node":1,"tag":"Forward { item: 0, from: Some(0) }"}"#,
        r#"{"t_ns":22000000,"kind":"arrive","node":2}"#,
        r#"{"t_ns":23000000,"kind":"deliver","node":2,"peer":1,"message":"Item","bytes":1000}"#,
    ];
    assert_eq!(trace.lines().collect::<Vec<_>>(), expected);
    assert!(!tmp.path().join("results").exists(), "a traced run writes no result folder");

    // The same run without a trace has the same digest.
    let plain = chainsim(&["run", "line.ron", "--out", "plain", "--quiet"], tmp.path());
    assert!(plain.status.success(), "{}", stderr(&plain));
    let runs = std::fs::read_to_string(tmp.path().join("plain/runs.csv")).unwrap();
    let digest = runs.lines().nth(1).unwrap().split(',').nth(3).unwrap().to_string();
    let said = String::from_utf8_lossy(&traced.stdout).into_owned();
    assert!(said.contains(&format!("digest {digest}, 9 events; 9 traced")), "{said} vs {runs}");

    // Filters: events at or from node 2, and a time window.
    let filtered = chainsim(&["run", "line.ron", "--trace", "two.jsonl", "--trace-nodes", "2"], tmp.path());
    assert!(filtered.status.success(), "{}", stderr(&filtered));
    let two = std::fs::read_to_string(tmp.path().join("two.jsonl")).unwrap();
    assert_eq!(two.lines().collect::<Vec<_>>(), [expected[2], expected[7], expected[8]]);
    let window = chainsim(
        &["run", "line.ron", "--trace", "w.jsonl", "--trace-from", "10ms", "--trace-until", "12ms"],
        tmp.path(),
    );
    assert!(window.status.success(), "{}", stderr(&window));
    let w = std::fs::read_to_string(tmp.path().join("w.jsonl")).unwrap();
    assert_eq!(w.lines().collect::<Vec<_>>(), expected[4..7]);
}

#[test]
fn a_trace_needs_one_run_and_good_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let swept = LINE.replace(r#"name: "line","#, r#"name: "line", replicates: 2,"#);
    std::fs::write(tmp.path().join("two.ron"), swept).unwrap();
    let refused = |args: &[&str], says: &str| {
        let o = chainsim(args, tmp.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    };
    refused(&["run", "two.ron", "--trace", "t.jsonl"], "choose one with --run POINT-REPLICATE");
    refused(&["run", "two.ron", "--trace", "t.jsonl", "--run", "0-2"], "no such run");
    refused(&["run", "two.ron", "--trace", "t.jsonl", "--run", "0-1", "--trace-nodes", "1,7"], "node 7 does not exist");
    refused(&["run", "two.ron", "--trace", "t.jsonl", "--run", "0-1", "--trace-from", "soon"], "--trace-from soon");
    refused(&["run", "two.ron", "--trace", "no/such/dir/t.jsonl", "--run", "0-1"], "--trace no/such/dir/t.jsonl");
    let o = chainsim(&["run", "two.ron", "--trace", "t.jsonl", "--run", "0-1"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
}
