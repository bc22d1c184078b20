//! Sharding metrics. Transactions are measured from the moment a client issues them; those issued
//! before `warmup` are left out of every metric. A transaction is *finished* when every shard it
//! touches has applied the decision (for relay: the debit and every credit), as executed by the
//! first replica of each shard; a cross-shard transaction counts once, then.
//!
//! - `throughput_tps`: measured transactions finished committed, per simulated second from
//!   `warmup` to the end of the run.
//! - `cross_shard_fraction`: measured transactions that touch more than one shard, over all
//!   measured transactions.
//! - `intra_latency_p50_ms`, `cross_latency_p50_ms`, `latency_p99_ms`: issue to finish of measured
//!   transactions finished committed (intra-shard ones, cross-shard ones, all), nearest rank.
//!   Transactions unfinished at the end are not in them: they are counted in `unfinished`.
//! - `abort_rate`: measured finished transactions that did not commit (a lock conflict, a no vote,
//!   a vote timeout, insufficient funds), over measured finished transactions.
//! - `lock_hold_p50_ms`: from taking the locks at PREPARE to releasing them at the decision, per
//!   shard and transaction, for locks taken after `warmup`.
//! - `ops_per_tx`: operations the shards ordered and applied after `warmup` (transfers, prepares,
//!   decisions, debits, credits, resolutions), over transactions finished after `warmup`: 1 for
//!   an intra-shard transfer, 4 for a two-phase commit across two shards, 2 for a relay.
//! - `msgs_per_tx`, `bytes_per_tx`: every message and byte sent in the run (consensus, calls,
//!   replies, outcomes), over transactions finished in the run.
//! - `shard_load_imbalance`: operations applied by the busiest shard after `warmup`, over the mean
//!   across shards.
//! - `atomicity_violations`: shards applying a decision different from another shard's on the same
//!   transaction, and commits in a shard that had not voted yes.
//! - `value_in_flight`: value that left a payer and has not reached its receivers at the end:
//!   the parts of unfinished cross-shard transactions that some shards applied (relay: debited,
//!   not yet credited; two-phase commit: a decision applied in some shards and not yet in others,
//!   negative where a receiver's shard applied a commit before the payer's), worked out from the
//!   transactions and the shards' records of them.
//! - `conservation_violations`: 1 when the balances at the end plus the value in flight differ
//!   from the initial total, else 0.
//! - `double_spends`: debits that would have overdrawn an account.
//! - `locks_held_at_end`, `unfinished`: what the run left undone.
//! - `safety_violations`: PBFT safety violations, summed over shards.
//!
//! Time series, per shard, in buckets of 100 ms: `committed_tps` (transaction parts committed in
//! the shard, per second) and `queue_length` (requests waiting at the primary, sampled).

use serde_json::json;
use simulator::{MetricValue, Report, RunStats, SimDuration, SimTime};

use super::Sharding;
use super::txs::TxId;
use crate::{Model, per, percentile};

/// The metric columns of a sharding run, in order.
pub const METRICS: [&str; 19] = [
    "throughput_tps",
    "cross_shard_fraction",
    "intra_latency_p50_ms",
    "cross_latency_p50_ms",
    "latency_p99_ms",
    "abort_rate",
    "lock_hold_p50_ms",
    "ops_per_tx",
    "msgs_per_tx",
    "bytes_per_tx",
    "shard_load_imbalance",
    "atomicity_violations",
    "conservation_violations",
    "double_spends",
    "locks_held_at_end",
    "value_in_flight",
    "unfinished",
    "safety_violations",
    "events",
];

fn ms(value: Option<f64>) -> MetricValue {
    value.map_or(MetricValue::Missing, MetricValue::real)
}

impl Model for Sharding {
    fn report(&self, stats: &RunStats) -> Report {
        let shards = &self.shards;
        let warmup = shards.warmup;
        let measured: Vec<_> = shards.txs.iter().filter(|tx| tx.issued >= warmup).collect();
        let cross = measured.iter().filter(|tx| tx.is_cross_shard()).count() as u64;
        let finished: Vec<_> = measured.iter().filter(|tx| tx.finished.is_some()).collect();
        let committed: Vec<_> = finished.iter().filter(|tx| tx.decision == Some(true)).collect();
        let latencies = |filter: &dyn Fn(bool) -> bool| {
            let mut l: Vec<SimDuration> = committed
                .iter()
                .filter(|tx| filter(tx.is_cross_shard()))
                .map(|tx| tx.finished.expect("finished").since(tx.issued))
                .collect();
            l.sort_unstable();
            l
        };
        let window = stats.end_time.since(warmup).as_secs_f64();
        let throughput =
            if window > 0.0 { MetricValue::real(committed.len() as f64 / window) } else { MetricValue::Missing };
        let mut holds: Vec<SimDuration> = shards
            .ledgers
            .iter()
            .flat_map(|l| l.lock_holds.iter().filter(|(taken, _)| *taken >= warmup).map(|(_, held)| *held))
            .collect();
        holds.sort_unstable();
        let loads: Vec<u64> = shards.ledgers.iter().map(|l| l.applied_ops[1]).collect();
        let mean_load = loads.iter().sum::<u64>() as f64 / loads.len() as f64;
        let imbalance = loads.iter().max().map_or(MetricValue::Missing, |&m| MetricValue::real(m as f64 / mean_load));
        let finished_after_warmup =
            shards.txs.iter().filter(|tx| tx.finished.is_some_and(|t| t >= warmup)).count() as u64;
        let finished_in_run = shards.txs.iter().filter(|tx| tx.finished.is_some()).count() as u64;
        let initial = u64::from(self.config.accounts) * self.config.balance;
        // What the shards applied of transactions that are not applied everywhere yet.
        let in_flight: i128 = shards
            .txs
            .iter()
            .enumerate()
            .filter(|(_, tx)| tx.is_cross_shard() && tx.finished.is_none())
            .flat_map(|(id, tx)| {
                tx.shards
                    .iter()
                    .map(move |&s| -shards.ledgers[usize::from(s)].applied_change(id as TxId, tx, &shards.accounts))
            })
            .sum();
        let locks: usize = shards.ledgers.iter().map(|l| l.locks_held()).sum();
        let safety: usize = self.groups.iter().map(|g| g.safety_violations()).sum();
        let metrics = vec![
            ("throughput_tps", throughput),
            ("cross_shard_fraction", MetricValue::share(cross, measured.len() as u64)),
            ("intra_latency_p50_ms", ms(percentile(&latencies(&|c| !c), 0.5))),
            ("cross_latency_p50_ms", ms(percentile(&latencies(&|c| c), 0.5))),
            ("latency_p99_ms", ms(percentile(&latencies(&|_| true), 0.99))),
            ("abort_rate", MetricValue::share((finished.len() - committed.len()) as u64, finished.len() as u64)),
            ("lock_hold_p50_ms", ms(percentile(&holds, 0.5))),
            ("ops_per_tx", per(loads.iter().sum(), finished_after_warmup)),
            ("msgs_per_tx", per(stats.total(|c| c.messages_sent), finished_in_run)),
            ("bytes_per_tx", per(stats.total(|c| c.bytes_sent), finished_in_run)),
            ("shard_load_imbalance", imbalance),
            ("atomicity_violations", MetricValue::Count(shards.bank.atomicity_violations)),
            (
                "conservation_violations",
                MetricValue::Count(u64::from(i128::from(shards.bank.held()) + in_flight != i128::from(initial))),
            ),
            ("double_spends", MetricValue::Count(shards.bank.double_spends)),
            ("locks_held_at_end", MetricValue::Count(locks as u64)),
            ("value_in_flight", MetricValue::Real(in_flight as f64)),
            ("unfinished", MetricValue::Count((measured.len() - finished.len()) as u64)),
            ("safety_violations", MetricValue::Count(safety as u64)),
            ("events", MetricValue::Count(stats.events)),
        ];
        let accounts = shards.accounts.counts(self.shard_count());
        let per_shard: Vec<_> = (0..self.groups.len())
            .map(|s| {
                json!({
                    "shard": s,
                    "accounts": accounts[s],
                    "operations_applied": shards.ledgers[s].applied_ops.iter().sum::<u64>(),
                    "highest_view": self.groups[s].highest_view(),
                    "locks_held_at_end": shards.ledgers[s].locks_held(),
                    "safety_violations": self.groups[s].safety_violations(),
                })
            })
            .collect();
        let detail = json!({
            "shards": per_shard,
            "transactions_issued": shards.txs.len(),
            "transactions_finished": finished_in_run,
            "measured": measured.len(),
            "total_value": initial,
            "value_held_at_end": shards.bank.held(),
            "last_finish_ms": shards.txs.iter().filter_map(|tx| tx.finished).max().map(SimTime::as_millis_f64),
        });
        let series = shards.committed.iter().chain(&self.queues).map(|s| s.clone().finish(stats.end_time)).collect();
        Report { metrics: metrics.into_iter().map(|(n, v)| (n.to_string(), v)).collect(), series, detail }
    }
}

/// Axis labels of the metrics and time series.
pub const LABELS: [(&str, &str); 24] = [
    ("throughput_tps", "throughput (committed transfers/s)"),
    ("cross_shard_fraction", "share of transfers that cross shards"),
    ("intra_latency_p50_ms", "median intra-shard latency (ms)"),
    ("cross_latency_p50_ms", "median cross-shard latency (ms)"),
    ("latency_p99_ms", "99th-percentile latency (ms)"),
    ("abort_rate", "share of finished transfers aborted"),
    ("lock_hold_p50_ms", "median lock hold time (ms)"),
    ("ops_per_tx", "consensus operations per transfer"),
    ("msgs_per_tx", "messages per transfer"),
    ("bytes_per_tx", "bytes sent per transfer"),
    ("shard_load_imbalance", "busiest shard's operations / mean"),
    ("atomicity_violations", "atomicity violations"),
    ("conservation_violations", "conservation violations"),
    ("double_spends", "double spends"),
    ("locks_held_at_end", "locks held at the end"),
    ("value_in_flight", "value in flight at the end"),
    ("unfinished", "transfers unfinished at the end"),
    ("safety_violations", "PBFT safety violations"),
    ("events", "events simulated"),
    ("committed_tps", "committed transfers per second"),
    ("queue_length", "requests waiting at the primary"),
    ("protocol.cross_shard_ratio", "share of transfers crossing shards (forced)"),
    ("protocol.skew", "account popularity skew (Zipf exponent)"),
    ("protocol.shards", "shards"),
];
