//! Bridge metrics. A transfer is *measured* when an honest user issued it from `warmup` until
//! users stop issuing (`drain` before the end). Latencies run from the user signing its lock or
//! burn to the block that mints or releases it; a measured transfer not paid out when the run
//! stopped (or refunded instead) counts as never (+∞), so a quantile that falls on one is
//! missing.
//!
//! - `deposit_latency_p50_s`, `deposit_latency_p99_s`, `withdraw_latency_p50_s`: nearest-rank
//!   quantiles over measured deposits and withdrawals.
//! - `bridge_throughput_tps`: measured transfers paid out, over the measuring window's length.
//! - `stalled_transfers`: measured transfers neither paid out nor refunded at the end.
//! - `refunded_transfers`: measured light-client packets refunded after their timeout.
//! - `conservation_violations`: breaches the checker found (`checker.rs`); the run file lists
//!   each with its time, cause, transfer and value.
//! - `forged_value`: tokens minted on the side chain for deposits whose lock does not stand on
//!   the main chain (made up by colluders, or removed by a reorganisation).
//! - `value_at_risk`: the largest balance the escrow held, all of which m colluding validators
//!   can release (0 under a light client: no validators to collude).
//! - `detection_delay_s`: from the start of an attack (the colluders' forgery, the attacker's
//!   branch) to the first breach it caused that the checker reports; missing without one.
//! - `refused_calls`: bridge calls the contracts refused (duplicate payouts, too few
//!   signatures, packets past their timeout, burns of tokens not held).
//! - `gas_per_transfer`: gas of every bridge call on both chains over the transfers paid out.
//!
//! Time series (group `bridge`): `locked_value` (the escrow), `minted_value` (minted and not
//! burned) and `in_flight_value` (locked and not yet minted, or burned and not yet released;
//! refunds end both), in tokens. With honest parties the escrow equals the other two together.

use serde_json::json;
use simulator::report::quantile_with_never;
use simulator::{MetricValue, Report, RunStats, SimTime};

use super::config::{Direction, Trust};
use super::{Bridge, MAIN, SIDE, Transfer};
use crate::{Model, per};

/// The metric columns of a bridge run, in order.
pub const METRICS: [&str; 14] = [
    "deposit_latency_p50_s",
    "deposit_latency_p99_s",
    "withdraw_latency_p50_s",
    "bridge_throughput_tps",
    "stalled_transfers",
    "refunded_transfers",
    "conservation_violations",
    "forged_value",
    "value_at_risk",
    "detection_delay_s",
    "refused_calls",
    "gas_per_transfer",
    "messages_sent",
    "events",
];

/// Axis labels of the metrics, time series and the keys studies sweep.
pub const LABELS: [(&str, &str); 19] = [
    ("deposit_latency_p50_s", "deposit time (s, median over deposits)"),
    ("deposit_latency_p99_s", "deposit time (s, 99th percentile over deposits)"),
    ("withdraw_latency_p50_s", "withdrawal time (s, median over withdrawals)"),
    ("bridge_throughput_tps", "transfers paid out (/s)"),
    ("stalled_transfers", "transfers unfinished at the end"),
    ("refunded_transfers", "transfers refunded after timeout"),
    ("conservation_violations", "conservation violations"),
    ("forged_value", "unbacked value minted (tokens)"),
    ("value_at_risk", "largest escrow balance (tokens)"),
    ("detection_delay_s", "time to detection (s)"),
    ("gas_per_transfer", "gas per transfer (both chains)"),
    ("locked_value", "locked on the main chain (tokens)"),
    ("minted_value", "minted on the side chain (tokens)"),
    ("in_flight_value", "in flight between the chains (tokens)"),
    ("protocol.confirmations", "confirmations before attesting (blocks)"),
    ("protocol.colluders", "colluding validators"),
    ("protocol.trust", "trust model"),
    ("protocol.threshold", "signatures required (m)"),
    ("protocol.reorg.depth", "reorganisation depth (blocks)"),
];

impl Bridge {
    /// Seconds from issue to payout of the measured transfers of `kind`, never if unpaid by `end`.
    fn latencies(&self, kind: Direction, end: SimTime) -> Vec<Option<f64>> {
        self.measured()
            .filter(|t| t.kind == kind)
            .map(|t| t.completed.filter(|&(at, _)| at <= end).map(|(at, _)| at.since(t.issued).as_secs_f64()))
            .collect()
    }

    fn measured(&self) -> impl Iterator<Item = &Transfer> {
        self.transfers.iter().filter(|t| t.measured)
    }
}

fn quantile(values: &[Option<f64>], q: f64) -> MetricValue {
    quantile_with_never(values, q).map_or(MetricValue::Missing, MetricValue::real)
}

impl Model for Bridge {
    fn report(&self, stats: &RunStats) -> Report {
        let end = stats.end_time;
        let deposits = self.latencies(Direction::Deposit, end);
        let withdrawals = self.latencies(Direction::Withdrawal, end);
        let paid = self.measured().filter(|t| t.completed.is_some()).count() as u64;
        let window = self.issue_until.since(SimTime::ZERO + self.config.warmup).as_secs_f64();
        let stalled = self.measured().filter(|t| !t.settled() && !t.refused).count() as u64;
        let refunded = self.measured().filter(|t| t.refunded.is_some()).count() as u64;
        let forged_value: u64 =
            self.transfers.iter().filter(|t| (t.forged || t.orphaned) && t.completed.is_some()).map(|t| t.amount).sum();
        let violations = &self.ledger.checker.violations;
        let detection = violations
            .iter()
            .find_map(|v| self.attacks.start_of(v.breach).map(|start| v.at.since(start).as_secs_f64()))
            .map_or(MetricValue::Missing, MetricValue::real);
        let at_risk = if self.config.trust == Trust::Validators { self.ledger.most_locked } else { 0 };
        let all_paid = self.transfers.iter().filter(|t| t.completed.is_some()).count() as u64;
        let metrics = vec![
            ("deposit_latency_p50_s", quantile(&deposits, 0.5)),
            ("deposit_latency_p99_s", quantile(&deposits, 0.99)),
            ("withdraw_latency_p50_s", quantile(&withdrawals, 0.5)),
            (
                "bridge_throughput_tps",
                if window > 0.0 { MetricValue::real(paid as f64 / window) } else { MetricValue::Missing },
            ),
            ("stalled_transfers", MetricValue::Count(stalled)),
            ("refunded_transfers", MetricValue::Count(refunded)),
            ("conservation_violations", MetricValue::Count(violations.len() as u64)),
            ("forged_value", MetricValue::Count(forged_value)),
            ("value_at_risk", MetricValue::Count(at_risk)),
            ("detection_delay_s", detection),
            ("refused_calls", MetricValue::Count(self.ledger.refused)),
            ("gas_per_transfer", per(self.ledger.gas, all_paid)),
            ("messages_sent", MetricValue::Count(stats.total(|c| c.messages_sent))),
            ("events", MetricValue::Count(stats.events)),
        ];
        let metrics = metrics.into_iter().map(|(name, value)| (name.to_string(), value)).collect();
        let series = self.ledger.series.iter().map(|s| s.clone().finish(end)).collect();
        let balances = self.ledger.balances;
        let count = |f: &dyn Fn(&Transfer) -> bool| self.transfers.iter().filter(|t| f(t)).count();
        let detail = json!({
            "transfers": self.transfers.len(),
            "measured": self.measured().count(),
            "deposits_paid": count(&|t| t.kind == Direction::Deposit && t.completed.is_some()),
            "withdrawals_paid": count(&|t| t.kind == Direction::Withdrawal && t.completed.is_some()),
            "burns_refused": count(&|t| t.refused),
            "acknowledged": count(&|t| t.acknowledged),
            "orphaned": count(&|t| t.orphaned),
            "unfinished_not_on_source": count(&|t| t.measured && t.source.is_none() && !t.refused),
            "unfinished_in_flight": count(&|t| t.measured && t.in_flight()),
            "locked": balances.locked,
            "minted": balances.minted,
            "in_flight": balances.in_flight,
            "main_blocks": self.chains.blocks(MAIN).len(),
            "side_blocks": self.chains.blocks(SIDE).len(),
            "side_safety_violations": self.chains.side_safety_violations(),
            "violations": violations,
        });
        Report { metrics, series, detail }
    }
}
