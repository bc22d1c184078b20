//! Sweeps end to end: parallel runs, resume after a kill, slices and merge, reproduce, bad axes.

mod common;

use common::{assert_same_results, chainsim, run_ok, stderr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SWEEP: &str = r#"(
    name: "grid",
    seed: 3,
    replicates: 3,
    sweep: [
        ("network.nodes", [40, 80]),
        ("network.contention", [Fifo, FairShare]),
    ],
    network: (
        nodes: 40,
        topology: RandomRegular(degree: 4),
        bandwidth: (upload: "10Mbps", download: "20Mbps"),
        latency: LogNormal(median: "30ms", sigma: 0.5),
    ),
    protocol: Flood(items: 3, item_size: "100KB", interval: "1s"),
)
"#;

fn setup(text: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("grid.ron"), text).unwrap();
    tmp
}

#[test]
fn jobs_1_and_jobs_2_give_byte_identical_results() {
    let tmp = setup(SWEEP);
    run_ok(&["run", "grid.ron", "--out", "one", "--jobs", "1", "--quiet"], tmp.path());
    run_ok(&["run", "grid.ron", "--out", "two", "--jobs", "2", "--quiet"], tmp.path());
    assert_same_results(&tmp.path().join("one"), &tmp.path().join("two"));

    let runs = std::fs::read_to_string(tmp.path().join("one/runs.csv")).unwrap();
    assert!(runs.starts_with("point,replicate,seed,digest,network.nodes,network.contention,reach_p50_ms,"), "{runs}");
    assert_eq!(runs.lines().count(), 1 + 4 * 3);
    assert!(runs.lines().nth(4).unwrap().starts_with("1,0,"));
    let summary = std::fs::read_to_string(tmp.path().join("one/summary.csv")).unwrap();
    assert!(
        summary
            .lines()
            .next()
            .unwrap()
            .contains("reach_p50_ms_mean,reach_p50_ms_std,reach_p50_ms_ci95_low,reach_p50_ms_ci95_high,reach_p50_ms_n")
    );
    assert_eq!(summary.lines().count(), 1 + 4);
    assert!(summary.lines().nth(1).unwrap().starts_with("0,40,Fifo,"));
}

#[test]
fn a_killed_sweep_resumes_without_recomputing_finished_runs() {
    // Runs long enough (tens of ms each) that the kill lands part-way.
    let heavy = SWEEP
        .replace("[40, 80]", "[600, 800]")
        .replace("replicates: 3", "replicates: 5")
        .replace("items: 3", "items: 8");
    let tmp = setup(&heavy);
    run_ok(&["run", "grid.ron", "--out", "whole", "--jobs", "1", "--quiet"], tmp.path());

    let mut child = Command::new(env!("CARGO_BIN_EXE_chainsim"))
        .args(["run", "grid.ron", "--out", "killed", "--jobs", "1", "--quiet"])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runs_dir = tmp.path().join("killed/runs");
    let count = || {
        std::fs::read_dir(&runs_dir)
            .map(|d| d.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json")).count())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while count() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let finished_before = count();
    assert!((3..20).contains(&finished_before), "{finished_before} runs finished before the kill");

    let o = run_ok(&["run", "grid.ron", "--out", "killed", "--jobs", "2"], tmp.path());
    assert!(stderr(&o).contains(&format!("{finished_before} runs already done")), "{}", stderr(&o));
    let perf: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("killed/perf.json")).unwrap()).unwrap();
    assert_eq!(perf["runs"].as_array().unwrap().len(), 20 - finished_before, "only the missing runs were computed");
    assert_same_results(&tmp.path().join("whole"), &tmp.path().join("killed"));

    // Editing one axis value invalidates exactly the runs of the points that changed.
    let edited = heavy.replace("[600, 800]", "[600, 700]");
    std::fs::write(tmp.path().join("grid.ron"), edited).unwrap();
    let o = run_ok(&["run", "grid.ron", "--out", "killed", "--jobs", "2"], tmp.path());
    assert!(stderr(&o).contains("10 runs already done, 10 to run"), "{}", stderr(&o));
    let o = run_ok(&["run", "grid.ron", "--out", "killed", "--fresh"], tmp.path());
    assert!(stderr(&o).contains("0 already done, 20 computed"), "{}", stderr(&o));
}

#[test]
fn slices_merge_into_the_single_machine_result() {
    let tmp = setup(SWEEP);
    run_ok(&["run", "grid.ron", "--out", "single", "--quiet"], tmp.path());
    run_ok(&["run", "grid.ron", "--out", "s1", "--slice", "1/2", "--quiet"], tmp.path());
    run_ok(&["run", "grid.ron", "--out", "s2", "--slice", "2/2", "--quiet"], tmp.path());
    let o = run_ok(&["merge", "partial", "s1"], tmp.path());
    assert!(stderr(&o).contains("runs of the plan still missing (first 0-1)"), "{}", stderr(&o));
    let o = run_ok(&["merge", "merged", "s1", "s2"], tmp.path());
    assert!(!stderr(&o).contains("missing"), "{}", stderr(&o));
    assert_same_results(&tmp.path().join("single"), &tmp.path().join("merged"));
    let o = chainsim(&["merge", "s1", "s2"], tmp.path());
    assert!(o.status.success(), "a slice's own folder takes the others: {}", stderr(&o));

    std::fs::write(tmp.path().join("other.ron"), SWEEP.replace("seed: 3", "seed: 4")).unwrap();
    run_ok(&["run", "other.ron", "--out", "o1", "--slice", "1/2", "--quiet"], tmp.path());
    let o = chainsim(&["merge", "bad", "s1", "o1"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("only slices of one experiment"), "{}", stderr(&o));
    std::fs::write(tmp.path().join("renamed.ron"), SWEEP.replace("name: \"grid\"", "name: \"renamed\"")).unwrap();
    run_ok(&["run", "renamed.ron", "--out", "r1", "--quiet"], tmp.path());
    let o = chainsim(&["merge", "r1", "s1"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds the results of experiment `renamed`"), "{}", stderr(&o));
}

#[test]
fn reproduce_checks_digests() {
    let tmp = setup(SWEEP);
    run_ok(&["run", "grid.ron", "--out", "r", "--quiet"], tmp.path());
    let o = run_ok(&["reproduce", "r", "--run", "3-2"], tmp.path());
    assert!(String::from_utf8_lossy(&o.stdout).contains("3-2: ok"));
    let o = run_ok(&["reproduce", "r", "--jobs", "2"], tmp.path());
    let said = String::from_utf8_lossy(&o.stdout);
    let ids: Vec<&str> = said.lines().filter_map(|l| l.split(": ok").next().filter(|_| l.contains(": ok"))).collect();
    assert_eq!(ids, ["0-0", "0-1", "0-2", "1-0", "1-1", "1-2", "2-0", "2-1", "2-2", "3-0", "3-1", "3-2"], "{said}");
    assert_eq!(said.lines().last(), Some("12 runs of 12 reproduced"), "{said}");
    let path = tmp.path().join("r/runs/1-0.json");
    let mut run: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    run["digest"] = "0000000000000000".into();
    std::fs::write(&path, serde_json::to_vec_pretty(&run).unwrap()).unwrap();
    let o = chainsim(&["reproduce", "r"], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("1-0: MISMATCH"));
}

#[test]
fn temporary_files_of_an_interrupted_run_are_cleaned_up() {
    let tmp = setup(SWEEP);
    run_ok(&["run", "grid.ron", "--out", "r", "--quiet"], tmp.path());
    let left = [".manifest.json.tmp-999", "runs/.0-0.json.tmp-999", "plots/.reach.tmp-999.png"];
    for file in left {
        std::fs::write(tmp.path().join("r").join(file), b"half").unwrap();
    }
    run_ok(&["run", "grid.ron", "--out", "r", "--quiet"], tmp.path());
    for file in left {
        assert!(!tmp.path().join("r").join(file).exists(), "{file} left behind");
    }
}

#[test]
fn check_counts_the_runs_of_a_sweep() {
    let tmp = setup(SWEEP);
    let o = run_ok(&["check", "grid.ron"], tmp.path());
    assert!(String::from_utf8_lossy(&o.stdout).contains("4 points × 3 replicates = 12 runs"));
}

#[test]
fn bad_sweeps_exit_2_naming_the_axis_and_value() {
    let cases = [
        (SWEEP.replace("\"network.nodes\"", "\"network.nodez\""), vec!["network.nodez", "no key"]),
        (SWEEP.replace("[40, 80]", "[]"), vec!["network.nodes", "at least one value"]),
        (SWEEP.replace("[40, 80]", "[40, \"eighty\"]"), vec!["sweep axis `network.nodes`, value `eighty`"]),
        (SWEEP.replace("[40, 80]", "[40, 4]"), vec!["sweep axis `network.nodes`, value `4`", "degree"]),
    ];
    for (text, needles) in cases {
        let tmp = setup(&text);
        let o = chainsim(&["run", "grid.ron"], tmp.path());
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        for needle in needles {
            assert!(stderr(&o).contains(needle), "`{needle}` not in {}", stderr(&o));
        }
        assert!(!tmp.path().join("results").exists());
    }
}

#[test]
fn plots_are_drawn_declared_or_by_default_and_redrawn_from_the_csv_files() {
    let declared = SWEEP.replace(
        "protocol: Flood(",
        "plots: [(x: \"network.nodes\", y: \"reach_p90_ms\", series: \"network.contention\", log_x: true, reference: (label: \"target\", y: 500.0))],\n    protocol: Flood(",
    );
    let tmp = setup(&declared);
    run_ok(&["run", "grid.ron", "--out", "p", "--quiet"], tmp.path());
    let plots = tmp.path().join("p/plots");
    for file in ["reach_p90_ms-vs-nodes.png", "reach_p90_ms-vs-nodes.svg"] {
        assert!(plots.join(file).is_file(), "{file}");
    }
    let svg = std::fs::read_to_string(plots.join("reach_p90_ms-vs-nodes.svg")).unwrap();
    assert!(svg.contains("contention=Fifo") && svg.contains("target"), "series and reference in the legend");
    std::fs::remove_dir_all(&plots).unwrap();
    let o = run_ok(&["plot", "p"], tmp.path());
    assert!(String::from_utf8_lossy(&o.stdout).contains("reach_p90_ms-vs-nodes.png"));
    assert!(plots.join("reach_p90_ms-vs-nodes.png").is_file());

    // Without declared plots the flood protocol's defaults are drawn: lines against the swept
    // keys, and over items (one swept key, which a CDF and a propagation curve do not pool over)
    // the CDF of every item's time to half the nodes and the propagation curve.
    let tmp = setup(SWEEP);
    run_ok(&["run", "grid.ron", "--out", "d", "--quiet"], tmp.path());
    for file in ["reach_p50_ms-vs-nodes.svg", "reach_p90_ms-vs-nodes.svg"] {
        assert!(tmp.path().join("d/plots").join(file).is_file(), "{file}");
    }
    assert!(!tmp.path().join("d/plots/reach_p50_ms-cdf.svg").exists(), "a CDF would pool two swept keys");
    let one_key = SWEEP.replace("        (\"network.contention\", [Fifo, FairShare]),\n", "");
    let tmp = setup(&one_key);
    run_ok(&["run", "grid.ron", "--out", "d", "--quiet"], tmp.path());
    let svg = std::fs::read_to_string(tmp.path().join("d/plots/reach_p50_ms-cdf.svg")).unwrap();
    for text in ["nodes=40", "nodes=80", "fraction of items (all replicates)", "CDF of reach_p50_ms over items"] {
        assert!(svg.contains(text), "`{text}` missing from the CDF");
    }
    let svg = std::fs::read_to_string(tmp.path().join("d/plots/propagation.svg")).unwrap();
    for text in ["nodes=40", "10th to 90th percentile of items", "time since creation"] {
        assert!(svg.contains(text), "`{text}` missing from the propagation curve");
    }

    let bad = SWEEP.replace("protocol: Flood(", "plots: [(x: \"network.nodes\", y: \"speed\")],\n    protocol: Flood(");
    let tmp = setup(&bad);
    let o = chainsim(&["run", "grid.ron"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("plots[0].y: `speed` is not a metric"), "{}", stderr(&o));
}

#[test]
fn a_failing_run_is_recorded_and_does_not_stop_the_others() {
    // The first point's event budget is far too small, so its runs fail.
    let text = SWEEP.replace("(\"network.contention\", [Fifo, FairShare]),", "(\"stop.events\", [50, 100000000]),");
    let tmp = setup(&text);
    let o = chainsim(&["run", "grid.ron", "--out", "f", "--jobs", "2"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("6 runs failed") && stderr(&o).contains("raise stop.events"), "{}", stderr(&o));
    let failed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("f/runs/0-1.json")).unwrap()).unwrap();
    assert!(failed["error"].as_str().unwrap().contains("stop.events"));
    assert!(failed["seed"].as_u64().is_some());
    let runs = std::fs::read_to_string(tmp.path().join("f/runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 6, "the 6 successful runs are in the table");
    // A failure is reproduced like a digest: the rerun fails the same way.
    let o = run_ok(&["reproduce", "f", "--run", "0-1"], tmp.path());
    assert!(String::from_utf8_lossy(&o.stdout).contains("0-1: ok, fails as recorded: run 0-1"), "{o:?}");
    // A rerun retries the failed runs only.
    let o = chainsim(&["run", "grid.ron", "--out", "f"], tmp.path());
    assert!(stderr(&o).contains("6 runs already done, 6 to run"), "{}", stderr(&o));
}

const PBFT_SCENARIOS: &str = r#"(
    name: "pbft-scenarios",
    seed: 5,
    replicates: 2,
    stop: (time: "3s"),
    sweep: [("protocol.view_change_timeout", ["100ms", "300ms"])],
    zip: [
        ("label", ["crash", "equivocation"]),
        ("network.faults.crashes", [[(node: 0, at: "1s")], []]),
        ("protocol.byzantine", [[], [(replica: 0, behaviour: Equivocate, from: "1s")]]),
    ],
    network: (
        nodes: 6,
        topology: Complete,
        latency: LogNormal(median: "5ms", sigma: 0.3),
        loss: 0.01,
    ),
    protocol: Pbft(replicas: 4, load: Closed(window: 4), batch_size: 4, client_timeout: "200ms", resend_interval: "40ms"),
)
"#;

#[test]
fn pbft_scenario_sweeps_are_byte_identical_across_job_counts() {
    let tmp = setup(PBFT_SCENARIOS);
    run_ok(&["run", "grid.ron", "--out", "one", "--jobs", "1", "--quiet"], tmp.path());
    run_ok(&["run", "grid.ron", "--out", "two", "--jobs", "2", "--quiet"], tmp.path());
    assert_same_results(&tmp.path().join("one"), &tmp.path().join("two"));
    let mut reader = csv::Reader::from_path(tmp.path().join("one/runs.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let names: Vec<&str> = header.iter().collect();
    let label = names.iter().position(|c| *c == "label").expect("a label column");
    assert_eq!(&names[label + 3..label + 5], ["throughput_rps", "latency_p50_ms"], "{names:?}");
    let column = |name: &str| names.iter().position(|c| *c == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4 * 2);
    // Both scenarios lose their primary and recover with zero safety violations.
    for row in &rows {
        assert_eq!(&row[column("safety_violations")], "0", "{row:?}");
        assert!(row[column("recovery_ms")].parse::<f64>().unwrap() > 0.0, "{row:?}");
        assert!(["crash", "equivocation"].contains(&&row[label]), "{row:?}");
    }
}

#[test]
fn block_relay_studies_draw_the_propagation_curve_per_relay_mode() {
    let text = r#"(
    name: "relay",
    seed: 9,
    replicates: 2,
    sweep: [("protocol.relay", [Full, Compact])],
    network: Preset("bitcoin-2019"),
    protocol: Bitcoin(blocks: 4, block_size: "200KB"),
)
"#;
    let tmp = setup(text);
    run_ok(&["run", "grid.ron", "--out", "o", "--quiet", "--set", "network.nodes=120"], tmp.path());
    let plots = tmp.path().join("o/plots");
    for file in ["propagation.png", "propagation.svg", "block_t50_ms-vs-relay.png", "stale_rate-vs-relay.svg"] {
        assert!(plots.join(file).is_file(), "{file} missing");
    }
    let svg = std::fs::read_to_string(plots.join("propagation.svg")).unwrap();
    assert!(svg.contains("relay=Full") && svg.contains("relay=Compact"), "legend");
    assert!(svg.contains("share of nodes holding the block"), "axis label");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("o/runs/1-0.json")).unwrap()).unwrap();
    let curve = run["detail"]["blocks"][0]["reach_deciles_ms"].as_array().unwrap();
    assert_eq!(curve.len(), 10);
    let times: Vec<f64> = curve.iter().map(|t| t.as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

/// What a result folder holds is checked like an experiment file: an edited manifest or a file
/// where a folder should be is bad input (exit 2), not a crash.
#[test]
fn edited_or_misplaced_result_folders_are_bad_input() {
    let ring = SWEEP.replace("RandomRegular(degree: 4)", "Edges([(0, 1), (1, 2), (2, 3), (3, 0)])").replace(
        r#"sweep: [
        ("network.nodes", [40, 80]),
        ("network.contention", [Fifo, FairShare]),
    ],"#,
        "",
    );
    let tmp = setup(&ring);
    run_ok(&["run", "grid.ron", "--out", "r", "--quiet"], tmp.path());
    let manifest_path = tmp.path().join("r/manifest.json");
    let original = std::fs::read_to_string(&manifest_path).unwrap();
    let edited = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut manifest: serde_json::Value = serde_json::from_str(&original).unwrap();
        edit(&mut manifest);
        std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
        chainsim(&["reproduce", "r"], tmp.path())
    };
    let o = edited(&|m| m["points"][0]["config"]["network"]["loss"] = 7.5.into());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("points[0].config: network.loss: must be a probability"), "{}", stderr(&o));
    let o = edited(&|m| m["points"][0]["config"]["network"]["nodes"] = 3.into());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("points[0].config: network.topology[2]: node 3 does not exist"), "{}", stderr(&o));

    std::fs::write(&manifest_path, &original[..original.len() / 2]).unwrap();
    let o = chainsim(&["plot", "r"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "a truncated manifest: {}", stderr(&o));

    std::fs::write(tmp.path().join("taken"), b"not a folder").unwrap();
    let o = chainsim(&["run", "grid.ron", "--out", "taken"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--out taken: this is a file"), "{}", stderr(&o));
    assert_eq!(std::fs::read(tmp.path().join("taken")).unwrap(), b"not a folder");
}
