//! `series.csv`: every time series of every finished run in one tidy table, one row per bucket:
//! `point, replicate, series, group, t, value`, with `t` the bucket's start in seconds. Rows come
//! in plan order, then in the order each run reports its series, so the file does not depend on
//! how the runs were scheduled.

use serde_json::Value;

/// The column names.
pub const HEADER: [&str; 6] = ["point", "replicate", "series", "group", "t", "value"];

/// Nanoseconds as seconds in exact decimal (`1500000000` → `1.5`).
pub fn seconds_text(ns: u64) -> String {
    let (whole, fraction) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// The table of the series of `runs` (run files' JSON, in plan order).
pub fn series_csv(runs: &[&Value]) -> Vec<u8> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(HEADER).expect("writing to memory");
    for run in runs {
        let (point, replicate) = (run["point"].to_string(), run["replicate"].to_string());
        for series in run["series"].as_array().into_iter().flatten() {
            let (name, group) = (series["name"].as_str().unwrap_or(""), series["group"].as_str().unwrap_or(""));
            let bucket = series["bucket_ns"].as_u64().unwrap_or(0);
            for (i, value) in series["values"].as_array().into_iter().flatten().enumerate() {
                let t = seconds_text(bucket.saturating_mul(i as u64));
                let value = value.as_f64().map(|v| v.to_string()).unwrap_or_default();
                csv.write_record([point.as_str(), replicate.as_str(), name, group, &t, &value])
                    .expect("writing to memory");
            }
        }
    }
    csv.into_inner().expect("in-memory writer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(seconds_text(0), "0");
        assert_eq!(seconds_text(100_000_000), "0.1");
        assert_eq!(seconds_text(300_000_000), "0.3");
        assert_eq!(seconds_text(1_500_000_000), "1.5");
        assert_eq!(seconds_text(600_000_000_000), "600");
        assert_eq!(seconds_text(1), "0.000000001");
    }

    #[test]
    fn one_row_per_bucket_in_run_order() {
        let run = |point: u64, values: Value| {
            serde_json::json!({"point": point, "replicate": 0, "series": [
                {"name": "throughput_rps", "group": "all", "bucket_ns": 100_000_000u64, "values": values}
            ]})
        };
        let (a, b) = (run(0, serde_json::json!([10.0, 0.5])), run(1, serde_json::json!([3.0])));
        let text = String::from_utf8(series_csv(&[&a, &b])).unwrap();
        assert_eq!(
            text,
            "point,replicate,series,group,t,value\n0,0,throughput_rps,all,0,10\n0,0,throughput_rps,all,0.1,0.5\n1,0,throughput_rps,all,0,3\n"
        );
    }
}
