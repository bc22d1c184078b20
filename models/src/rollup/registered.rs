//! Rollup as experiment files name it: `protocol: Rollup(...)`, with the rules it sets for the
//! experiment around it.

use simulator::config::ConfigError;
use simulator::{NodeId, SimTime};

use super::{METRICS, Rollup, RollupConfig};
use crate::registry::{PlotKind, PlotSpec, Registered, Setting};

/// The nodes of each part: L1 validators, the sequencer, verifiers, clients.
struct Parts {
    l1: Vec<NodeId>,
    sequencer: NodeId,
    verifiers: Vec<NodeId>,
    clients: Vec<NodeId>,
}

fn parts(config: &RollupConfig, setting: &Setting<'_>) -> Result<Parts, ConfigError> {
    let roles = setting.network.roles()?;
    let l1 = roles.require("protocol.l1", &config.l1, 1)?.to_vec();
    let sequencer = roles.require("protocol.sequencer", &config.sequencer, 1)?;
    if sequencer.len() != 1 {
        return Err(ConfigError::new(
            "protocol.sequencer",
            format!("role `{}` has {} nodes; a rollup has one sequencer", config.sequencer, sequencer.len()),
        ));
    }
    let sequencer = sequencer[0];
    let verifiers = roles.require("protocol.verifiers", &config.verifiers, 1)?.to_vec();
    let mut taken = vec![false; setting.network.nodes as usize];
    for (key, nodes) in [("l1", &l1), ("sequencer", &vec![sequencer]), ("verifiers", &verifiers)] {
        for &node in nodes {
            if std::mem::replace(&mut taken[node as usize], true) {
                return Err(ConfigError::new(
                    format!("protocol.{key}"),
                    format!(
                        "node {node} is also in another part (l1, sequencer, verifiers): give each role its own nodes"
                    ),
                ));
            }
        }
    }
    let clients = (0..setting.network.nodes).filter(|&n| !taken[n as usize]).collect();
    Ok(Parts { l1, sequencer, verifiers, clients })
}

impl Registered for Rollup {
    const NAME: &'static str = "Rollup";
    type Config = RollupConfig;

    fn validate(config: &RollupConfig, setting: &Setting<'_>) -> Result<(), ConfigError> {
        config.validate().map_err(|e| e.within("protocol"))?;
        let parts = parts(config, setting)?;
        if parts.clients.is_empty() && config.rate > 0.0 {
            return Err(ConfigError::new(
                "network.nodes",
                "no node is left for clients outside the l1, sequencer and verifiers roles: add nodes",
            ));
        }
        let stop = crate::require_timed_complete(
            setting,
            "rollup",
            "the L1 gossips over its own mesh (protocol.chain.mesh_degree) and clients reach the sequencer directly",
            config.warmup,
            config.drain,
        )?;
        crate::check_horizon("stop.time", 1, stop + config.challenge_window, "runs with the challenge window")?;
        config.chain.check_slots("protocol.chain", stop)?;
        Ok(())
    }

    fn label(name: &str) -> Option<&'static str> {
        crate::label_in(&super::metrics::LABELS, name)
    }

    fn metric_names(_: &RollupConfig) -> Vec<String> {
        METRICS.iter().map(|m| m.to_string()).collect()
    }

    fn default_plots(_: &RollupConfig, swept: &[&str]) -> Vec<PlotSpec> {
        if swept.is_empty() {
            vec![PlotSpec::new(PlotKind::TimeSeries, "l2_tps"), PlotSpec::new(PlotKind::TimeSeries, "l1_backlog_bytes")]
        } else {
            ["l2_throughput_tps", "l1_cost_per_tx_gas", "final_latency_p50_s"]
                .map(|y| PlotSpec::line(y, swept))
                .to_vec()
        }
    }

    fn series_names(_: &RollupConfig) -> Vec<String> {
        ["l2_tps", "l1_backlog_bytes", "blob_base_fee_gwei"].map(String::from).to_vec()
    }

    /// Blocks gossiped over the mesh, and the transactions clients send.
    fn work_estimate(config: &RollupConfig, setting: &Setting<'_>) -> f64 {
        let stop = setting.stop_time.map_or(0.0, |s| s.as_secs_f64());
        let slots = stop / config.chain.slot.as_secs_f64();
        slots * f64::from(setting.network.nodes) * f64::from(config.chain.mesh_degree) + config.rate * stop
    }

    fn build(config: &RollupConfig, setting: &Setting<'_>, seed: u64) -> Self {
        let parts = parts(config, setting).expect("a validated config names its parts");
        let stop = setting.stop_time.expect("validated: a time limit");
        let until = SimTime::ZERO + stop;
        let issue_until = SimTime(stop.0 - config.drain.0);
        Rollup::new(
            config.clone(),
            setting.network.nodes,
            &parts.l1,
            parts.sequencer,
            &parts.verifiers,
            &parts.clients,
            issue_until,
            until,
            seed,
        )
    }
}
