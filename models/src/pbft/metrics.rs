//! PBFT metrics.
//!
//! - `throughput_rps`: requests accepted by clients after `warmup`, per simulated second from
//!   `warmup` to the end of the run.
//! - `latency_p50_ms`, `latency_p99_ms`: client latency from first send to the (f + 1)th matching
//!   reply, nearest-rank percentiles over requests accepted after `warmup`.
//! - `replica_msgs_per_request`, `bytes_per_request`: replica-to-replica messages without
//!   checkpoints (see the module docs), and all bytes on the wire, per request committed.
//! - `view_changes`: views installed by a correct replica after view 0.
//! - `safety_violations`: commits or checkpoints on which two correct replicas disagree.
//! - `recovery_ms`: from the first primary failure (crash, or a silent or equivocating primary
//!   starting to misbehave) to the first commit by a correct replica in a later view.
//! - `cache_hit_rate`: state reads served by the replicas' caches.
//!
//! Time series: `throughput_rps`, requests accepted by clients per second in buckets of 100 ms
//! over the whole run (warm-up included).

use serde_json::{Map, Value, json};
use simulator::{MetricValue, Report, RunStats, SimDuration, SimTime};

use super::Pbft;
use super::messages::{Kind, KindCounts};
use crate::{Model, per, percentile};

/// The metric columns of a PBFT run, in order.
pub const METRICS: [&str; 10] = [
    "throughput_rps",
    "latency_p50_ms",
    "latency_p99_ms",
    "replica_msgs_per_request",
    "bytes_per_request",
    "view_changes",
    "safety_violations",
    "recovery_ms",
    "cache_hit_rate",
    "events",
];

impl Model for Pbft {
    fn report(&self, stats: &RunStats) -> Report {
        let shared = &self.group.shared;
        let mut latencies: Vec<SimDuration> = self.clients.iter().flat_map(|c| c.latencies.iter().copied()).collect();
        latencies.sort_unstable();
        let warmup = SimTime::ZERO + shared.config.warmup;
        let measured = stats.end_time.since(warmup).as_secs_f64();
        let throughput =
            if measured > 0.0 { MetricValue::real(latencies.len() as f64 / measured) } else { MetricValue::Missing };
        let committed = shared.checker.committed_requests();
        let replica_messages: u64 = Kind::ALL
            .iter()
            .filter(|&&kind| kind != Kind::Checkpoint)
            .map(|&k| shared.stats.replica_messages.get(k))
            .sum();
        let recovery = match (shared.stats.primary_failure, shared.stats.recovered) {
            (Some((failed, _)), Some(recovered)) => MetricValue::real(recovered.since(failed).as_millis_f64()),
            _ => MetricValue::Missing,
        };
        let (hits, misses) =
            self.group.replicas.iter().map(|r| r.cache_stats()).fold((0, 0), |(h, m), (rh, rm)| (h + rh, m + rm));
        let metrics = vec![
            ("throughput_rps".to_string(), throughput),
            ("latency_p50_ms".to_string(), percentile(&latencies, 0.5).map_or(MetricValue::Missing, MetricValue::real)),
            (
                "latency_p99_ms".to_string(),
                percentile(&latencies, 0.99).map_or(MetricValue::Missing, MetricValue::real),
            ),
            ("replica_msgs_per_request".to_string(), per(replica_messages, committed)),
            ("bytes_per_request".to_string(), per(stats.total(|c| c.bytes_sent), committed)),
            ("view_changes".to_string(), MetricValue::Count(shared.stats.installed.len() as u64)),
            ("safety_violations".to_string(), MetricValue::Count(shared.checker.violations().len() as u64)),
            ("recovery_ms".to_string(), recovery),
            ("cache_hit_rate".to_string(), MetricValue::share(hits, hits + misses)),
            ("events".to_string(), MetricValue::Count(stats.events)),
        ];

        let counts = |counts: &KindCounts| {
            let mut out = Map::new();
            for kind in Kind::ALL {
                out.insert(kind.name().to_string(), json!(counts.get(kind)));
            }
            Value::Object(out)
        };
        let replicas: Vec<Value> = self
            .group
            .replicas
            .iter()
            .map(|r| {
                json!({
                    "replica": r.id,
                    "view": r.view,
                    "last_executed": r.last_executed,
                    "stable_checkpoint": r.stable,
                    "correct": shared.checker.is_correct(r.id),
                })
            })
            .collect();
        let views: Vec<Value> = shared
            .stats
            .installed
            .iter()
            .map(|(view, at)| json!({"view": view, "installed_ms": at.as_millis_f64()}))
            .collect();
        let detail = json!({
            "replicas_n": shared.n,
            "f": shared.f,
            "clients": self.clients.len(),
            "requests_accepted": self.accepted_requests(),
            "last_accept_ms": self.clients.iter().filter_map(|c| c.last_accept).max().map(|t| t.as_millis_f64()),
            "requests_committed": committed,
            "batches_committed": shared.checker.committed_batches(),
            "client_retransmissions": self.clients.iter().map(|c| c.retransmissions).sum::<u64>(),
            "cache_hits": hits,
            "cache_misses": misses,
            "primary_failure_ms": shared.stats.primary_failure.map(|(t, _)| t.as_millis_f64()),
            "views": views,
            "reproposed": shared.stats.reproposed,
            "null_proposals": shared.stats.null_proposals,
            "violations": shared.checker.violations_json(),
            "messages": counts(&shared.stats.replica_messages),
            "client_messages": counts(&shared.stats.client_messages),
            "replicas": replicas,
        });
        Report { metrics, series: vec![self.side.throughput.clone().finish(stats.end_time)], detail }
    }
}

/// Axis labels of the metrics and time series.
pub const LABELS: [(&str, &str); 10] = [
    ("throughput_rps", "throughput (requests/s)"),
    ("latency_p50_ms", "median client latency (ms)"),
    ("latency_p99_ms", "99th-percentile client latency (ms)"),
    ("replica_msgs_per_request", "replica-to-replica messages per request"),
    ("bytes_per_request", "bytes sent per request"),
    ("view_changes", "view changes"),
    ("safety_violations", "safety violations"),
    ("recovery_ms", "recovery after the primary failed (ms)"),
    ("cache_hit_rate", "state cache hit rate"),
    ("events", "events simulated"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms = |v: u64| SimDuration::from_millis(v);
        let sorted: Vec<SimDuration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&sorted, 0.5), Some(50.0));
        assert_eq!(percentile(&sorted, 0.99), Some(99.0));
        assert_eq!(percentile(&[ms(7)], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
