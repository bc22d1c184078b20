//! The `chainsim` command line end to end: result files, determinism, overrides and bad input.

mod common;

use common::{chainsim, stderr};
use std::path::{Path, PathBuf};

const SMALL: &str = r#"(
    name: "small",
    seed: 7,
    network: (
        nodes: 60,
        topology: RandomRegular(degree: 4),
        bandwidth: (upload: "10Mbps", download: "20Mbps"),
        latency: LogNormal(median: "30ms", sigma: 0.5),
    ),
    protocol: Flood(items: 3, item_size: "100KB", interval: "1s"),
)
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

fn digest_of(dir: &Path) -> String {
    let text = String::from_utf8(read(dir, "runs.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    row[header.iter().position(|h| *h == "digest").unwrap()].to_string()
}

#[test]
fn run_writes_results_and_is_byte_identical_for_the_same_seed() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "small.ron", SMALL);
    for out in ["a", "b"] {
        let o = chainsim(&["run", "small.ron", "--out", out], tmp.path());
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for file in ["runs.csv", "manifest.json", "runs/0-0.json"] {
        assert_eq!(read(&a, file), read(&b, file), "{file} differs between identical runs");
    }
    let csv = String::from_utf8(read(&a, "runs.csv")).unwrap();
    assert!(csv.starts_with(
        "point,replicate,seed,digest,reach_p50_ms,reach_p90_ms,reach_p100_ms,bytes_sent,messages_sent,events\n"
    ));
    let manifest: serde_json::Value = serde_json::from_slice(&read(&a, "manifest.json")).unwrap();
    assert_eq!(manifest["experiment"], "small");
    assert_eq!(manifest["seed"], 7);
    assert_eq!(manifest["config"]["network"]["nodes"], 60);
    assert_eq!(manifest["chainsim_version"], env!("CARGO_PKG_VERSION"));
    let perf: serde_json::Value = serde_json::from_slice(&read(&a, "perf.json")).unwrap();
    assert!(perf["runs"][0]["events_per_second"].as_f64().unwrap() > 0.0);
    let run: serde_json::Value = serde_json::from_slice(&read(&a, "runs/0-0.json")).unwrap();
    assert_eq!(run["nodes"]["bytes_sent"].as_array().unwrap().len(), 60);
    assert_eq!(run["detail"]["items_fully_reached"], 3);

    let o = chainsim(&["run", "small.ron", "--out", "c", "--seed", "8", "--quiet"], tmp.path());
    assert!(o.status.success() && o.stderr.is_empty(), "{}", stderr(&o));
    assert_ne!(digest_of(&a), digest_of(&tmp.path().join("c")));
}

#[test]
fn default_output_folder_is_named_after_the_experiment() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "small.ron", SMALL);
    let o = chainsim(&["run", "small.ron", "--quiet"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(tmp.path().join("results/small/runs.csv").is_file());
}

#[test]
fn set_overrides_values_and_check_validates_without_running() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "small.ron", SMALL);
    let o = chainsim(
        &[
            "run",
            "small.ron",
            "--out",
            "o",
            "--quiet",
            "--set",
            "network.nodes=40",
            "--set",
            "network.topology=Complete",
            "--set",
            "network.bandwidth.upload=5Mbps",
            "--set",
            "protocol.items=2",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest: serde_json::Value = serde_json::from_slice(&read(&tmp.path().join("o"), "manifest.json")).unwrap();
    assert_eq!(manifest["config"]["network"]["nodes"], 40);
    assert_eq!(manifest["config"]["network"]["topology"], "Complete");
    assert_eq!(manifest["config"]["network"]["bandwidth"]["upload"], "5Mbps");
    assert_eq!(manifest["config"]["protocol"]["Flood"]["items"], 2);

    let o = chainsim(&["check", "small.ron"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("ok"));
    assert!(!tmp.path().join("results").exists());
}

#[test]
fn the_shipped_experiments_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("experiments"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for file in &files {
        let o = chainsim(&["check", file.to_str().unwrap()], root);
        assert!(o.status.success(), "{}: {}", file.display(), stderr(&o));
    }
}

#[test]
fn edge_list_files_are_resolved_next_to_the_experiment() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("exp")).unwrap();
    write(&tmp.path().join("exp"), "ring.txt", "# a ring\n0 1\n1 2\n2 3\n3 0\n");
    let text = SMALL.replace("nodes: 60", "nodes: 4").replace("RandomRegular(degree: 4)", "EdgeListFile(\"ring.txt\")");
    write(&tmp.path().join("exp"), "ring.ron", &text);
    let o = chainsim(&["run", "exp/ring.ron", "--out", "o", "--quiet"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let run: serde_json::Value = serde_json::from_slice(&read(&tmp.path().join("o"), "runs/0-0.json")).unwrap();
    assert_eq!(run["detail"]["items_fully_reached"], 3);
}

/// Runs a bad experiment and checks exit code 2, the message, and that no results were written.
fn assert_bad_input(experiment: Option<&str>, extra: &[&str], expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    if let Some(text) = experiment {
        write(tmp.path(), "bad.ron", text);
    }
    let mut args = vec!["run", "bad.ron"];
    args.extend(extra);
    let o = chainsim(&args, tmp.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in expected {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!tmp.path().join("results").exists(), "results folder left behind");
}

#[test]
fn bad_input_exits_2_naming_the_file_and_the_key_or_line() {
    assert_bad_input(Some(&SMALL.replace("nodes: 60", "nodez: 60")), &[], &["bad.ron:5:", "nodez"]);
    assert_bad_input(Some(&SMALL.replace("nodes: 60", "nodes: \"sixty\"")), &[], &["bad.ron:5:", "integer"]);
    assert_bad_input(Some(&SMALL.replace("\"10Mbps\"", "\"10 furlongs\"")), &[], &["bad.ron:7:", "furlongs"]);
    assert_bad_input(
        Some(&SMALL.replace("\"10Mbps\"", "\"0Mbps\"")),
        &[],
        &["bad.ron", "network.bandwidth.upload", "> 0"],
    );
    assert_bad_input(Some(&SMALL.replace("\"10Mbps\"", "\"-10Mbps\"")), &[], &["bad.ron:7:", "not a bandwidth"]);
    assert_bad_input(
        Some(&SMALL.replace("degree: 4", "degree: 60")),
        &[],
        &["bad.ron", "network.topology.degree", "less than"],
    );
    assert_bad_input(
        Some(SMALL),
        &["--set", "network.nodes=100000", "--set", "network.topology=Complete"],
        &["network.topology", "too many links"],
    );
    assert_bad_input(Some(SMALL), &["--set", "protocol.items=10000000"], &["protocol.items", "fits in memory"]);
    assert_bad_input(Some(SMALL), &["--set", "network.nodes=4000000000"], &["network.nodes", "at most"]);
    // 10^8 nodes of degree 4 need about 133 GB: refused before anything is built, by `check` too.
    let hundred_million = ["--set", "network.nodes=100000000", "--set", "protocol.items=1"];
    let needs = ["needs about 133.0 GB of memory at its peak", "this machine has available", "lower network.nodes"];
    assert_bad_input(Some(SMALL), &hundred_million, &needs);
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "big.ron", SMALL);
    let o = chainsim(&[&["check", "big.ron"][..], &hundred_million].concat(), tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(needs[0]), "{}", stderr(&o));
    assert_bad_input(
        Some(SMALL),
        &["--set", "network.nodes=100000", "--set", "network.topology.degree=50000"],
        &["network.topology.degree", "too many links"],
    );
    assert_bad_input(None, &[], &["cannot read bad.ron"]);
    assert_bad_input(Some(SMALL), &["--set", "network.nodez=3"], &["network.nodez", "nodes"]);
    let swept = |key: &str| SMALL.replace("    seed: 7,", &format!("    seed: 7,\n    sweep: [(\"{key}\", [1, 3])],"));
    assert_bad_input(Some(&swept("replicates")), &[], &["bad.ron", "sweep axis `replicates`", "set `replicates: N`"]);
    assert_bad_input(Some(&swept("seed")), &[], &["bad.ron", "sweep axis `seed`", "raise `replicates`"]);
    assert_bad_input(
        Some(&SMALL.replace("interval: \"1s\"", "interval: \"3000000h\"")),
        &[],
        &["bad.ron", "protocol.interval", "about 36 years"],
    );
    // 100^4 = 10^8 points: refused before anything is expanded.
    let hundred: Vec<String> = (1..=100).map(|v| v.to_string()).collect();
    let axes: Vec<String> = ["network.loss", "network.unqueued_up_to", "network.cpu.cores", "protocol.items"]
        .iter()
        .map(|key| format!("(\"{key}\", [{}])", hundred.join(", ")))
        .collect();
    let huge = SMALL.replace("    seed: 7,", &format!("    seed: 7,\n    sweep: [{}],", axes.join(", ")));
    assert_bad_input(Some(&huge), &[], &["bad.ron", "the grid has 100000000 points (100 × 100 × 100 × 100)"]);
    assert_bad_input(Some(SMALL), &["--set", "network.nodes=many"], &["network.nodes"]);
    assert_bad_input(
        Some(&SMALL.replace("RandomRegular(degree: 4)", "EdgeListFile(\"missing.txt\")")),
        &[],
        &["bad.ron", "missing.txt"],
    );
}

#[test]
fn help_and_version() {
    let tmp = tempfile::tempdir().unwrap();
    let o = chainsim(&["--version"], tmp.path());
    let version = String::from_utf8_lossy(&o.stdout);
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    if let Some(commit) = option_env!("CHAINSIM_GIT_COMMIT") {
        assert!(version.contains(&format!("(commit {commit})")), "{version}");
    }
    let o = chainsim(&["--help"], tmp.path());
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("run") && help.contains("check") && help.contains("bench"), "{help}");
}

#[test]
fn bench_repeats_a_scenario_and_rejects_zero_repeats() {
    let tmp = tempfile::tempdir().unwrap();
    let o = chainsim(&["bench", "--scenario", "flood-10k-fifo", "--repeat", "2"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["events"], lines[1]["events"], "the same scenario runs the same events");
    assert!(lines[0]["events"].as_u64().unwrap() > 1_000_000);
    let o = chainsim(&["bench", "--repeat", "0"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn swarm_reports_every_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let o = chainsim(&["swarm", "--seeds", "12", "--start", "40", "--jobs", "2"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("seeds 40..52: 12 runs, 0 failing"), "{out}");
    assert!(!tmp.path().join("results").exists());
    let o = chainsim(&["swarm", "--seeds", "0"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "a swarm of no seeds checks nothing: {}", stderr(&o));

    // Seed 10 leaves its clients unserved at the end: listed with its command and saved case.
    let o = chainsim(&["swarm", "--seeds", "1", "--start", "10", "--out", "cases"], tmp.path());
    assert!(o.status.success(), "stalling is not a failure: {}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("seed 10: stalled at the end — reproduce with `chainsim swarm --start 10 --seeds 1`"),
        "{out}"
    );
    let o = chainsim(&["check", "cases/pbft-swarm-10.ron"], tmp.path());
    assert!(o.status.success(), "the saved case is an experiment file: {}", stderr(&o));
}

#[test]
fn network_presets_expand_and_take_overrides() {
    let tmp = tempfile::tempdir().unwrap();
    let text = r#"(
    name: "preset",
    network: Preset("bitcoin-2019"),
    protocol: Flood(items: 2, item_size: "100KB", interval: "10s"),
)"#;
    write(tmp.path(), "preset.ron", text);
    let o = chainsim(&["run", "preset.ron", "--out", "o", "--quiet", "--set", "network.nodes=300"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("o/manifest.json")).unwrap()).unwrap();
    let network = &manifest["config"]["network"];
    assert_eq!(network["nodes"], 300, "{network}");
    assert_eq!(network["latency"]["Regions"]["regions"][1]["upload"], "20700kbps", "{network}");
    assert!(network["topology"]["OutboundDegree"]["cdf"].is_array(), "{network}");

    write(tmp.path(), "bad.ron", &text.replace("bitcoin-2019", "bitcoin-1999"));
    let o = chainsim(&["check", "bad.ron"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    let message = stderr(&o);
    assert!(
        message.contains("bad.ron:3:") && message.contains("bitcoin-1999") && message.contains("bitcoin-2015"),
        "{message}"
    );

    // A preset given as a value, on the command line or as a sweep's values, reads the same way.
    let o = chainsim(&["check", "preset.ron", "--set", r#"network=Preset("bitcoin-2020")"#], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown network preset `bitcoin-2020`; presets: bitcoin-2015, bitcoin-2019"),
        "{}",
        stderr(&o)
    );
    let o =
        chainsim(&["check", "preset.ron", "--set", r#"network=Preset("bitcoin-2015", [("nodes", 200)])"#], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let swept = text.replace(
        r#"name: "preset","#,
        r#"name: "preset", sweep: [("network", [Preset("bitcoin-2015"), Preset("bitcoin-2019", [("nodes", 500)])])],"#,
    );
    write(tmp.path(), "swept.ron", &swept);
    let o = chainsim(&["check", "swept.ron"], tmp.path());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("2 points"),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
}

#[test]
fn a_time_limit_before_the_planned_work_began_fails_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    // Items at 0, 1 and 2 s: a 1.5 s limit leaves the third unsent.
    write(tmp.path(), "small.ron", &SMALL.replace("interval: \"1s\"", "interval: \"1s\", arrivals: Periodic"));
    let o = chainsim(&["run", "small.ron", "--out", "f", "--quiet", "--set", "stop.time=1.5s"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let message = stderr(&o);
    assert!(
        message.contains("1 of 3 planned items not yet created") && message.contains("raise stop.time"),
        "{message}"
    );
    // A limit after the last item was created is a run like any other.
    let o = chainsim(&["run", "small.ron", "--out", "g", "--quiet", "--set", "stop.time=2.01s"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));

    let bitcoin = r#"(name: "b", network: Preset("bitcoin-2019", [("nodes", 100)]), stop: (time: "60s"),
        protocol: Bitcoin(blocks: 3))"#;
    write(tmp.path(), "b.ron", bitcoin);
    let o = chainsim(&["run", "b.ron", "--out", "b", "--quiet"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("of 3 planned blocks not yet mined"), "{}", stderr(&o));
}

#[test]
fn a_folder_holding_another_experiment_is_not_overwritten_without_fresh() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "small.ron", SMALL);
    write(tmp.path(), "other.ron", &SMALL.replace("name: \"small\"", "name: \"other\""));
    let o = chainsim(&["run", "small.ron", "--out", "o", "--quiet"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let before = read(&tmp.path().join("o"), "runs/0-0.json");
    let o = chainsim(&["run", "other.ron", "--out", "o", "--quiet"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds the results of experiment `small`") && stderr(&o).contains("--fresh"));
    assert_eq!(read(&tmp.path().join("o"), "runs/0-0.json"), before, "nothing was touched");
    let o = chainsim(&["run", "other.ron", "--out", "o", "--quiet", "--fresh"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    // The same experiment, edited, still resumes into its folder.
    let o = chainsim(&["run", "other.ron", "--out", "o", "--quiet", "--set", "protocol.items=4"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
}
