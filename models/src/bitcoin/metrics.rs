//! Block relay metrics.
//!
//! - `block_t50_ms`, `block_t90_ms`, `block_t100_ms`: per block, the time from mining until
//!   ⌈50 / 90 / 100 % × nodes⌉ nodes hold it (the miner counts), then the median over mined
//!   blocks; a block that never got there counts as +∞ (the metric is empty when the median did).
//! - `stale_rate`: share of mined blocks not on the main chain (the chain ending at the highest
//!   block, the earliest mined among equals).
//! - `bytes_per_block_per_node`: all bytes sent, per mined block and node.
//! - `cmpct_reconstruct_rate`: share of compact blocks rebuilt from the mempool alone (empty for
//!   full relay).
//! - `extra_round_trips`: round trips beyond the relay mode's normal path (getblocktxn /
//!   blocktxn, requests repeated after a timeout), per block a node received from a peer.
//!
//! Time series, in buckets of one block interval: `chain_height`, the length in blocks of the
//! tallest chain mined so far; `forks`, the blocks mined so far that are not on the final main
//! chain (each one a fork that lost).

use serde_json::json;
use simulator::math;
use simulator::report::median_with_never;
use simulator::series::{Aggregate, TimeSeries};
use simulator::{MetricValue, Report, RunStats, SimTime};

use super::Bitcoin;
use crate::{Model, REACH_CURVE};

/// Shares of nodes reported, with their column names.
const QUANTILES: [(f64, &str); 3] = [(0.5, "block_t50_ms"), (0.9, "block_t90_ms"), (1.0, "block_t100_ms")];

/// The metric columns of a block relay run, in order.
pub const METRICS: [&str; 8] = [
    "block_t50_ms",
    "block_t90_ms",
    "block_t100_ms",
    "stale_rate",
    "bytes_per_block_per_node",
    "cmpct_reconstruct_rate",
    "extra_round_trips",
    "events",
];

impl Bitcoin {
    /// Time in ms for `block` to reach ⌈share × nodes⌉ nodes, if it did.
    fn reach_ms(&self, block: usize, share: f64) -> Option<f64> {
        let needed = ((share * f64::from(self.nodes)).ceil() as usize).max(1);
        self.reach[block].get(needed - 1).map(|d| d.as_millis_f64())
    }

    /// The `Sampled` miss rate under which full blocks would be rebuilt at once as often as they
    /// were in this run: 1 − r^(1/(n − 1)) for reconstruct rate r and n transactions per block.
    /// Gossip misses are correlated (the newest transactions are missing at the far nodes), so
    /// this, not the raw share of missing transactions, is the rate that reproduces the timing.
    pub fn equivalent_miss_rate(&self) -> Option<f64> {
        let c = &self.counters;
        let candidates = self.sizes.full_block_txs().saturating_sub(1);
        if c.cmpct_received == 0 || candidates == 0 {
            return None;
        }
        let rebuilt = c.cmpct_reconstructed as f64 / c.cmpct_received as f64;
        Some(1.0 - math::pow(rebuilt, 1.0 / candidates as f64))
    }

    /// Blocks of the main chain, as a membership vector.
    fn main_chain(&self) -> Vec<bool> {
        let mut on_chain = vec![false; self.mined.len()];
        let best = (0..self.mined.len())
            .filter_map(|k| self.mined[k].as_ref().map(|m| (m.height, std::cmp::Reverse(k))))
            .max()
            .map(|(_, std::cmp::Reverse(k))| k as u32);
        let mut cursor = best;
        while let Some(k) = cursor {
            on_chain[k as usize] = true;
            cursor = self.mined[k as usize].as_ref().and_then(|m| m.parent);
        }
        on_chain
    }
}

impl Bitcoin {
    /// The chain's growth and the forks over time, in buckets of one block interval.
    fn series(&self, on_chain: &[bool], end: SimTime) -> Vec<TimeSeries> {
        let bucket = self.config.interval;
        let mut height = TimeSeries::new("chain_height", "all", Aggregate::Last, bucket);
        let mut forks = TimeSeries::new("forks", "all", Aggregate::Last, bucket);
        let mut mined: Vec<(SimTime, usize, u32)> =
            (0..self.mined.len()).filter_map(|k| self.mined[k].as_ref().map(|m| (m.at, k, m.height))).collect();
        mined.sort_unstable();
        let (mut tallest, mut stale) = (0, 0);
        for (at, k, block_height) in mined {
            tallest = tallest.max(block_height + 1);
            height.set(at, f64::from(tallest));
            if !on_chain[k] {
                stale += 1;
                forks.set(at, f64::from(stale));
            }
        }
        vec![height.finish(end), forks.finish(end)]
    }
}

impl Model for Bitcoin {
    fn unstarted(&self) -> Option<String> {
        let left = self.mined.iter().filter(|m| m.is_none()).count();
        (left > 0).then(|| format!("{left} of {} planned blocks not yet mined", self.mined.len()))
    }

    fn report(&self, stats: &RunStats) -> Report {
        let mined: Vec<usize> = (0..self.mined.len()).filter(|&k| self.mined[k].is_some()).collect();
        let on_chain = self.main_chain();
        let stale = mined.iter().filter(|&&k| !on_chain[k]).count();
        let ratio = |num: f64, den: f64| if den > 0.0 { MetricValue::real(num / den) } else { MetricValue::Missing };
        let c = &self.counters;
        let mut metrics = Vec::new();
        for (share, name) in QUANTILES {
            let per_block: Vec<Option<f64>> = mined.iter().map(|&k| self.reach_ms(k, share)).collect();
            metrics.push((
                name.to_string(),
                median_with_never(&per_block).map_or(MetricValue::Missing, MetricValue::real),
            ));
        }
        metrics.push(("stale_rate".to_string(), MetricValue::share(stale as u64, mined.len() as u64)));
        let bytes = stats.total(|n| n.bytes_sent) as f64;
        metrics
            .push(("bytes_per_block_per_node".to_string(), ratio(bytes, mined.len() as f64 * f64::from(self.nodes))));
        metrics
            .push(("cmpct_reconstruct_rate".to_string(), MetricValue::share(c.cmpct_reconstructed, c.cmpct_received)));
        metrics.push(("extra_round_trips".to_string(), ratio(c.extra_round_trips as f64, c.receptions as f64)));
        metrics.push(("events".to_string(), MetricValue::Count(stats.events)));

        let blocks: Vec<_> = mined
            .iter()
            .map(|&k| {
                let m = self.mined[k].as_ref().expect("mined");
                json!({
                    "block": k,
                    "miner": self.plan[k].miner,
                    "height": m.height,
                    "transactions": m.txs,
                    "parent": m.parent,
                    "mined_ms": m.at.as_millis_f64(),
                    "main_chain": on_chain[k],
                    "nodes_reached": self.reach[k].len(),
                    "t50_ms": self.reach_ms(k, 0.5),
                    "t90_ms": self.reach_ms(k, 0.9),
                    "t100_ms": self.reach_ms(k, 1.0),
                    REACH_CURVE: (1..=10).map(|d| self.reach_ms(k, f64::from(d) / 10.0)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let detail = json!({
            "blocks_mined": mined.len(),
            "stale_blocks": stale,
            "main_chain_length": on_chain.iter().filter(|&&b| b).count(),
            "receptions": c.receptions,
            "cmpct_received": c.cmpct_received,
            "cmpct_reconstructed": c.cmpct_reconstructed,
            "missing_txs_requested": c.missing_txs,
            "measured_miss_rate": (c.cmpct_txs > 0).then(|| c.missing_txs as f64 / c.cmpct_txs as f64),
            "equivalent_miss_rate": self.equivalent_miss_rate(),
            "transactions_created": self.gossip.as_ref().map(|g| g.transactions()),
            "blocks": blocks,
        });
        Report { metrics, series: self.series(&on_chain, stats.end_time), detail }
    }
}

/// Axis labels of the metrics and time series.
pub const LABELS: [(&str, &str); 10] = [
    ("block_t50_ms", "time for half the nodes to hold a block (ms, median over blocks)"),
    ("block_t90_ms", "time for 90 % of the nodes to hold a block (ms, median over blocks)"),
    ("block_t100_ms", "time for every node to hold a block (ms, median over blocks)"),
    ("stale_rate", "share of mined blocks not on the main chain"),
    ("bytes_per_block_per_node", "bytes sent per block and node"),
    ("cmpct_reconstruct_rate", "share of compact blocks rebuilt from the mempool alone"),
    ("extra_round_trips", "extra round trips per block received"),
    ("events", "events simulated"),
    ("chain_height", "height of the tallest chain (blocks)"),
    ("forks", "blocks mined off the final main chain"),
];
