//! Time series end to end: PBFT's throughput over a run with a crashed primary, `series.csv`
//! across a study, and the `TimeSeries` plot drawn from it.

mod common;

use common::{chainsim, stderr};
use std::path::Path;

/// The rows of `series.csv` for one run and series, as (t, value).
fn series_of(dir: &Path, point: &str, replicate: &str, name: &str) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(dir.join("series.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("point,replicate,series,group,t,value"));
    lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|cells| cells[0] == point && cells[1] == replicate && cells[2] == name && cells[3] == "all")
        .map(|cells| (cells[4].parse().unwrap(), cells[5].parse().unwrap()))
        .collect()
}

#[test]
fn pbft_throughput_drops_to_zero_at_the_primary_crash_and_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/pbft-faults.ron");
    let file = file.to_str().unwrap();
    let narrowed = ["--set", "protocol.view_change_timeout=500ms", "--set", "replicates=2", "--quiet"];
    for (out, jobs) in [("one", "1"), ("two", "2")] {
        let mut args = vec!["run", file, "--out", out, "--jobs", jobs];
        args.extend(narrowed);
        let o = chainsim(&args, tmp.path());
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    assert_eq!(std::fs::read(one.join("series.csv")).unwrap(), std::fs::read(two.join("series.csv")).unwrap());

    // Point 0 is the crashed primary (node 0 at 3 s), in buckets of 100 ms over 12 s.
    let throughput = series_of(&one, "0", "0", "throughput_rps");
    assert_eq!(throughput.len(), 120, "buckets of 100 ms from 0 to the 12 s stop");
    assert_eq!(throughput[119].0, 11.9);
    let at = |from: f64, until: f64| throughput.iter().filter(move |(t, _)| *t >= from && *t < until).map(|(_, v)| *v);
    assert!(at(1.0, 3.0).all(|v| v > 100.0), "served before the crash: {throughput:?}");
    assert!(at(3.0, 3.6).any(|v| v == 0.0), "nothing served while the view changes: {throughput:?}");
    assert!(at(6.0, 12.0).all(|v| v > 100.0), "served again in the new view: {throughput:?}");

    let svg =
        std::fs::read_to_string(one.join("plots/throughput_rps-over-time-at-view_change_timeout-500ms.svg")).unwrap();
    for text in ["Throughput around the fault at 3 s", "simulated time (s)", "primary crash", "f crashed backups"] {
        assert!(svg.contains(text), "`{text}` missing from the time series plot");
    }
}

#[test]
fn a_time_series_plot_that_would_pool_a_swept_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/pbft-faults.ron"))
        .unwrap()
        .replace(r#"at: [("protocol.view_change_timeout", "500ms")],"#, "");
    std::fs::write(tmp.path().join("pooled.ron"), text).unwrap();
    let o = chainsim(&["check", "pooled.ron"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "plots[3].at: the lines would pool the runs of every value of the swept key `protocol.view_change_timeout`"
        ),
        "{}",
        stderr(&o)
    );
}
