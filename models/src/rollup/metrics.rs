//! Rollup metrics. A transaction is *measured* when it was issued from `warmup` until clients
//! stop issuing (`drain` before the end). Latencies are from issue, medians over measured
//! transactions, with those that had not reached the level when the run stopped counted as
//! never (+∞): a median that is never is missing, and `not_final` counts them.
//!
//! - `l2_throughput_tps`: transactions landing on L1 (in a batch whose root was not removed, or by
//!   force from the inbox) per second, from the first landing after `warmup` to the last before
//!   the end: those landing after the first, over the time between (data lands in whole batches,
//!   so a fixed window would count up to a batch too many or too few).
//! - `soft_latency_p50_ms`: until the client holds the sequencer's receipt.
//! - `safe_latency_p50_s`: until the L1 block that first carried its data is final.
//! - `final_latency_p50_s`: until the assertion holding it is confirmed (its challenge window
//!   passed without a successful dispute).
//! - `withdrawal_latency_p50_s`: the same over measured withdrawals: their release on L1.
//! - `l1_bytes_per_tx`, `l1_cost_per_tx_gas`, `l1_fee_per_tx_gwei`: L1 data space (whole blobs,
//!   or calldata), gas (execution and blob gas) and fees (blob base fee and tips) of every rollup
//!   L1 transaction of the run (batches, refused ones included, challenges, moves, inbox), over
//!   the transactions that landed in batches.
//! - `batch_fill_ratio`: compressed bytes of included batches over the capacity they took.
//! - `l1_backlog_max_bytes`: the most compressed data cut into batches and not yet seen on L1.
//! - `disputes`, `dispute_duration_s` (median from opening to resolution; one still open is
//!   never), `rolled_back_txs` (transactions in removed assertions), `invalid_finalized`
//!   (wrong roots confirmed; every root built on one is wrong too, and the run file's detail
//!   counts those as `built_on_wrong_finalized`), `slashed_bonds`.
//! - `forced_txs`: transactions included by force from the inbox; `missed_slots`: L1 slots
//!   without a block.
//! - Checkers: `escrow_violations` (releases that left the escrow below the L2 supply plus
//!   pending withdrawals: the first, and each forged one), `early_withdrawals`, `bond_violations`, `oversize_blocks`.
//!
//! Time series: `l2_tps` (transactions landing on L1 per second), `l1_backlog_bytes` and
//! `blob_base_fee_gwei` (the blob base fee of the newest L1 block; other L1 users' transactions,
//! `chain.others`, compete for blobs and drive it).

use serde_json::json;
use simulator::report::median_with_never;
use simulator::series::{Aggregate, TimeSeries};
use simulator::{MetricValue, Report, RunStats, SimTime};

use super::Rollup;
use super::contract::Status;
use super::l2::NEVER;
use crate::{Model, per};

/// The metric columns of a rollup run, in order.
pub const METRICS: [&str; 24] = [
    "l2_throughput_tps",
    "soft_latency_p50_ms",
    "safe_latency_p50_s",
    "final_latency_p50_s",
    "withdrawal_latency_p50_s",
    "l1_bytes_per_tx",
    "l1_cost_per_tx_gas",
    "l1_fee_per_tx_gwei",
    "batch_fill_ratio",
    "l1_backlog_max_bytes",
    "disputes",
    "dispute_duration_s",
    "rolled_back_txs",
    "invalid_finalized",
    "slashed_bonds",
    "forced_txs",
    "missed_slots",
    "escrow_violations",
    "early_withdrawals",
    "bond_violations",
    "oversize_blocks",
    "not_final",
    "messages_sent",
    "events",
];

/// Axis labels of the metrics, time series and the keys studies sweep.
pub const LABELS: [(&str, &str); 22] = [
    ("l2_throughput_tps", "L2 throughput (transactions landed on L1/s)"),
    ("soft_latency_p50_ms", "time to sequencer receipt (ms, median over transactions)"),
    ("safe_latency_p50_s", "time to finalised L1 data (s, median over transactions)"),
    ("final_latency_p50_s", "time to final state root (s, median over transactions)"),
    ("withdrawal_latency_p50_s", "withdrawal time (s, median over withdrawals)"),
    ("l1_bytes_per_tx", "L1 data space per transaction (bytes)"),
    ("l1_cost_per_tx_gas", "L1 gas per transaction"),
    ("l1_fee_per_tx_gwei", "L1 fee per transaction (gwei)"),
    ("batch_fill_ratio", "batch fill (compressed bytes / capacity taken)"),
    ("l1_backlog_max_bytes", "largest data backlog waiting for L1 (bytes)"),
    ("disputes", "disputes opened"),
    ("dispute_duration_s", "dispute duration (s, median over disputes)"),
    ("rolled_back_txs", "transactions rolled back"),
    ("invalid_finalized", "wrong state roots finalised"),
    ("forced_txs", "transactions included by force"),
    ("l2_tps", "transactions landing on L1 (/s)"),
    ("l1_backlog_bytes", "data waiting for L1 (bytes)"),
    ("blob_base_fee_gwei", "L1 blob base fee (gwei per blob gas)"),
    ("protocol.rate", "offered load (L2 transactions/s)"),
    ("protocol.compression_ratio", "compression ratio (compressed / raw bytes)"),
    ("protocol.challenger_delay", "challenger delay"),
    ("protocol.trace_steps", "execution trace (steps)"),
];

/// What happened to each transaction, worked out at the end.
struct Fates {
    /// Landed on L1 (batch with a standing root, or forced).
    landed: Vec<SimTime>,
    /// Its assertion confirmed.
    finalized: Vec<SimTime>,
    /// Landed through a batch.
    in_batches: u64,
    rolled_back: u64,
}

impl Rollup {
    fn fates(&self) -> Fates {
        let n = self.txs.len();
        let mut fates =
            Fates { landed: self.txs.forced_at.clone(), finalized: vec![NEVER; n], in_batches: 0, rolled_back: 0 };
        let mut rolled_back = vec![false; n];
        for assertion in &self.contract.assertions {
            for &tx in self.sequencer.txs_of(assertion.batch) {
                let tx = tx as usize;
                match assertion.status {
                    Status::Removed => rolled_back[tx] = true,
                    Status::Confirmed => {
                        fates.finalized[tx] = assertion.settled_at;
                        fates.landed[tx] = fates.landed[tx].min(assertion.included_at);
                    }
                    Status::Pending | Status::Disputed(_) => {
                        fates.landed[tx] = fates.landed[tx].min(assertion.included_at)
                    }
                }
            }
        }
        fates.rolled_back = rolled_back.iter().filter(|&&r| r).count() as u64;
        fates.in_batches =
            (0..n).filter(|&tx| fates.landed[tx] != NEVER && self.txs.forced_at[tx] != fates.landed[tx]).count() as u64;
        fates
    }

    fn measured(&self) -> Vec<usize> {
        let from = SimTime::ZERO + self.config.warmup;
        (0..self.txs.len())
            .filter(|&tx| self.txs.issued[tx] >= from && self.txs.issued[tx] < self.issue_until)
            .collect()
    }
}

/// Transactions per second landing on L1 between the first and the last landing time in
/// `[from, until)`: those landing after the first up to the last, over the time between. Data
/// lands in whole batches, at block times; a fixed window would catch up to a batch too many or
/// too few, which at a batch a minute is a tenth of a ten-minute run.
fn landing_rate(landed: &[SimTime], from: SimTime, until: SimTime) -> Option<f64> {
    let mut times: Vec<SimTime> = landed.iter().copied().filter(|&t| t >= from && t < until).collect();
    times.sort_unstable();
    let (first, last) = (*times.first()?, *times.last()?);
    let after_first = times.len() - times.partition_point(|&t| t <= first);
    (last > first).then(|| after_first as f64 / last.since(first).as_secs_f64())
}

/// Median of `done[tx] - issued[tx]` over `txs` in `unit` seconds, with `NEVER` or later than `end` as never.
fn median_latency(
    txs: &[usize],
    issued: &[SimTime],
    done: impl Fn(usize) -> SimTime,
    end: SimTime,
    unit: f64,
) -> MetricValue {
    let values: Vec<Option<f64>> = txs
        .iter()
        .map(|&tx| {
            let at = done(tx);
            (at != NEVER && at <= end).then(|| at.since(issued[tx]).as_secs_f64() / unit)
        })
        .collect();
    median_with_never(&values).map_or(MetricValue::Missing, MetricValue::real)
}

impl Model for Rollup {
    fn report(&self, stats: &RunStats) -> Report {
        let end = stats.end_time;
        let fates = self.fates();
        let measured = self.measured();
        let issued = &self.txs.issued;
        let warmup = SimTime::ZERO + self.config.warmup;
        let throughput = landing_rate(&fates.landed, warmup, end);
        let safe = |tx: usize| {
            let data = self.txs.data_at[tx];
            if data == NEVER { NEVER } else { self.chain.final_at(data) }
        };
        let withdrawals: Vec<usize> = measured.iter().copied().filter(|&tx| self.txs.withdrawal[tx]).collect();
        let contract = &self.contract;
        let durations: Vec<Option<f64>> =
            contract.disputes.iter().map(|d| d.resolved.map(|(at, _)| at.since(d.opened_at).as_secs_f64())).collect();
        let invalid_finalized =
            contract.assertions.iter().filter(|a| a.wrong && a.status == Status::Confirmed).count() as u64;
        let not_final = measured.iter().filter(|&&tx| fates.finalized[tx] == NEVER).count() as u64;
        let metrics = vec![
            ("l2_throughput_tps", throughput.map_or(MetricValue::Missing, MetricValue::real)),
            ("soft_latency_p50_ms", median_latency(&measured, issued, |tx| self.txs.soft[tx], end, 1e-3)),
            ("safe_latency_p50_s", median_latency(&measured, issued, safe, end, 1.0)),
            ("final_latency_p50_s", median_latency(&measured, issued, |tx| fates.finalized[tx], end, 1.0)),
            ("withdrawal_latency_p50_s", median_latency(&withdrawals, issued, |tx| fates.finalized[tx], end, 1.0)),
            ("l1_bytes_per_tx", per(contract.data_bytes, fates.in_batches)),
            ("l1_cost_per_tx_gas", per(contract.gas, fates.in_batches)),
            (
                "l1_fee_per_tx_gwei",
                if fates.in_batches == 0 {
                    MetricValue::Missing
                } else {
                    MetricValue::real(contract.fees_wei as f64 / 1e9 / fates.in_batches as f64)
                },
            ),
            ("batch_fill_ratio", per(contract.fill[0], contract.fill[1])),
            ("l1_backlog_max_bytes", MetricValue::Count(self.sequencer.backlog_max)),
            ("disputes", MetricValue::Count(contract.disputes.len() as u64)),
            ("dispute_duration_s", median_with_never(&durations).map_or(MetricValue::Missing, MetricValue::real)),
            ("rolled_back_txs", MetricValue::Count(fates.rolled_back)),
            ("invalid_finalized", MetricValue::Count(invalid_finalized)),
            ("slashed_bonds", MetricValue::Count(contract.slashed)),
            ("forced_txs", MetricValue::Count(self.txs.forced_at.iter().filter(|&&t| t != NEVER).count() as u64)),
            ("missed_slots", MetricValue::Count(self.chain.missed_slots(end))),
            ("escrow_violations", MetricValue::Count(contract.escrow_violations.len() as u64)),
            ("early_withdrawals", MetricValue::Count(contract.early_withdrawals)),
            ("bond_violations", MetricValue::Count(contract.bond_violations)),
            ("oversize_blocks", MetricValue::Count(contract.oversize_blocks)),
            ("not_final", MetricValue::Count(not_final)),
            ("messages_sent", MetricValue::Count(stats.total(|c| c.messages_sent))),
            ("events", MetricValue::Count(stats.events)),
        ];
        let metrics = metrics.into_iter().map(|(name, value)| (name.to_string(), value)).collect();

        let mut l2_tps = TimeSeries::new("l2_tps", "all", Aggregate::RatePerSecond, self.series_bucket);
        for &at in fates.landed.iter().filter(|&&t| t != NEVER && t <= end) {
            l2_tps.add(at, 1.0);
        }
        let mut blob_fee = TimeSeries::new("blob_base_fee_gwei", "l1", Aggregate::Last, self.series_bucket);
        for block in self.chain.blocks.iter().filter(|b| b.time <= end) {
            blob_fee.set(block.time, block.blob_base_fee as f64 / 1e9);
        }
        let mut series = vec![l2_tps.finish(end), blob_fee.finish(end)];
        if let Some(backlog) = &self.sequencer.backlog_series {
            series.push(backlog.clone().finish(end));
        }
        let seconds = |t: SimTime| (t != NEVER).then(|| t.as_secs_f64());
        let assertions: Vec<_> = contract
            .assertions
            .iter()
            .map(|a| {
                json!({
                    "batch": a.batch,
                    "txs": self.sequencer.txs_of(a.batch).len(),
                    "included_s": a.included_at.as_secs_f64(),
                    "wrong": a.wrong,
                    "status": format!("{:?}", a.status),
                    "settled_s": seconds(a.settled_at),
                })
            })
            .collect();
        let disputes: Vec<_> = contract
            .disputes
            .iter()
            .map(|d| {
                json!({
                    "assertion": d.assertion,
                    "challenger": d.challenger,
                    "opened_s": d.opened_at.as_secs_f64(),
                    "moves": d.moves,
                    "resolved_s": d.resolved.map(|(at, _)| at.as_secs_f64()),
                    "loser": d.resolved.map(|(_, side)| format!("{side:?}")),
                    "clock_left_s": [d.clocks[0].as_secs_f64(), d.clocks[1].as_secs_f64()],
                })
            })
            .collect();
        let detail = json!({
            "txs_issued": self.txs.len(),
            "txs_measured": measured.len(),
            "l1_blocks": self.chain.blocks.len(),
            "l1_blobs": self.chain.blocks.iter().map(|b| u64::from(b.blobs)).sum::<u64>(),
            "batches_cut": self.sequencer.batches.len(),
            "batches_refused": contract.rejected_batches,
            "challenges_refused": contract.refused_challenges,
            "inbox_entries": contract.inbox.len(),
            "other_l1_txs": self.chain.txs.iter().filter(|tx| tx.payload.is_none()).count(),
            "other_l1_txs_included": self.chain.txs.iter().filter(|tx| tx.payload.is_none() && tx.block.is_some()).count(),
            "built_on_wrong_finalized": contract.assertions.iter().filter(|a| a.tainted && !a.wrong && a.status == Status::Confirmed).count(),
            "escrow": contract.escrow,
            "l2_supply": contract.l2_supply,
            "pending_withdrawals": contract.pending_withdrawals,
            "bonds_posted_held_paid": contract.bonds,
            "escrow_violations_s": contract.escrow_violations.iter().map(|t| t.as_secs_f64()).collect::<Vec<_>>(),
            "assertions": assertions,
            "disputes": disputes,
        });
        Report { metrics, series, detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_landing_rate_runs_from_the_first_landing_to_the_last() {
        let s = |v: u64| SimTime(v * 1_000_000_000);
        let landed = [s(2), s(10), s(10), s(20), s(20), s(20), s(30), s(30), s(45), NEVER];
        // In [5 s, 40 s): first landing at 10 s, last at 30 s, five landings after the first.
        assert_eq!(landing_rate(&landed, s(5), s(40)), Some(5.0 / 20.0));
        assert_eq!(landing_rate(&landed, s(15), s(25)), None, "a single landing time is no rate");
    }
}
