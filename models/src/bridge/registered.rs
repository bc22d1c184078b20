//! Bridge as experiment files name it: `protocol: Bridge(...)`, with the rules it sets for the
//! experiment around it.

use simulator::config::ConfigError;
use simulator::{NodeId, SimTime};

use super::config::{MAX_VALIDATORS, SideConsensus, Trust};
use super::{Bridge, BridgeConfig, METRICS, Parts};
use crate::registry::{PlotKind, PlotSpec, Registered, Setting};

fn parts(config: &BridgeConfig, setting: &Setting<'_>) -> Result<Parts, ConfigError> {
    let roles = setting.network.roles()?;
    let main = roles.require("protocol.main_validators", &config.main_validators, 1)?.to_vec();
    let side = roles.require("protocol.side_validators", &config.side_validators, 1)?.to_vec();
    if let SideConsensus::Pbft(bft) = &config.side_consensus {
        let n = side.len() as u32;
        if bft.consensus.validate(n, setting.network.nodes).is_err_and(|e| e.path == "replicas") {
            return Err(ConfigError::new(
                "protocol.side_validators",
                format!(
                    "role `{}` has {n} nodes; a PBFT side chain needs 3f + 1 of them for some f ≥ 1 (4, 7, 10, ...)",
                    config.side_validators
                ),
            ));
        }
        bft.consensus.validate(n, setting.network.nodes).map_err(|e| e.within("protocol.side_consensus.consensus"))?;
    }
    let relayers = roles.require("protocol.relayers", &config.relayers, 1)?.to_vec();
    let validators = if config.trust == Trust::Validators {
        let validators = roles.require("protocol.validators", &config.validators, 1)?.to_vec();
        let n = validators.len();
        if n > MAX_VALIDATORS {
            return Err(ConfigError::new(
                "protocol.validators",
                format!("role `{}` has {n} nodes; a bridge has at most {MAX_VALIDATORS} validators", config.validators),
            ));
        }
        if config.threshold as usize > n {
            return Err(ConfigError::new(
                "protocol.threshold",
                format!(
                    "m = {} is above the n = {n} validators of role `{}`: no transfer could gather enough signatures; set threshold ≤ {n}",
                    config.threshold, config.validators
                ),
            ));
        }
        if config.colluders as usize > n {
            return Err(ConfigError::new(
                "protocol.colluders",
                format!("{} colluders among {n} validators: set colluders ≤ {n}", config.colluders),
            ));
        }
        validators
    } else {
        Vec::new()
    };
    let mut taken = vec![false; setting.network.nodes as usize];
    for (key, nodes) in
        [("main_validators", &main), ("side_validators", &side), ("validators", &validators), ("relayers", &relayers)]
    {
        for &node in nodes {
            if std::mem::replace(&mut taken[node as usize], true) {
                return Err(ConfigError::new(
                    format!("protocol.{key}"),
                    format!(
                        "node {node} is also in another part (main_validators, side_validators, validators, relayers): give each role its own nodes"
                    ),
                ));
            }
        }
    }
    let users: Vec<NodeId> = (0..setting.network.nodes).filter(|&n| !taken[n as usize]).collect();
    Ok(Parts { main, side, validators, relayers, users })
}

impl Registered for Bridge {
    const NAME: &'static str = "Bridge";
    type Config = BridgeConfig;

    fn validate(config: &BridgeConfig, setting: &Setting<'_>) -> Result<(), ConfigError> {
        config.validate().map_err(|e| e.within("protocol"))?;
        let parts = parts(config, setting)?;
        let needs_users = config.rate > 0.0 || !config.transfers.is_empty() || config.reorg.is_some();
        if parts.users.is_empty() && needs_users {
            return Err(ConfigError::new(
                "network.nodes",
                "no node is left for users outside the main_validators, side_validators, validators and relayers roles: add nodes",
            ));
        }
        let stop = crate::require_timed_complete(
            setting,
            "bridge",
            "each chain gossips over its own mesh (mesh_degree) and signatures go straight to the relayers",
            config.warmup,
            config.drain,
        )?;
        config.main_chain.check_slots("protocol.main_chain", stop)?;
        config.side_chain.check_slots("protocol.side_chain", stop)?;
        let attacks = [("forge_at", config.forge_at), ("reorg.at", config.reorg.as_ref().map(|r| r.at))];
        for (key, at) in attacks {
            if at.is_some_and(|at| at >= stop) {
                return Err(ConfigError::new(format!("protocol.{key}"), format!("must be before stop.time ({stop})")));
            }
        }
        for (i, script) in config.transfers.iter().enumerate() {
            if script.at >= stop {
                return Err(ConfigError::new(
                    format!("protocol.transfers[{i}].at"),
                    format!("must be before stop.time ({stop})"),
                ));
            }
        }
        Ok(())
    }

    fn label(name: &str) -> Option<&'static str> {
        crate::label_in(&super::metrics::LABELS, name)
    }

    fn metric_names(_: &BridgeConfig) -> Vec<String> {
        METRICS.iter().map(|m| m.to_string()).collect()
    }

    fn default_plots(_: &BridgeConfig, swept: &[&str]) -> Vec<PlotSpec> {
        if swept.is_empty() {
            vec![
                PlotSpec::new(PlotKind::TimeSeries, "locked_value"),
                PlotSpec::new(PlotKind::TimeSeries, "minted_value"),
            ]
        } else {
            ["deposit_latency_p50_s", "conservation_violations", "forged_value"]
                .map(|y| PlotSpec::line(y, swept))
                .to_vec()
        }
    }

    fn series_names(_: &BridgeConfig) -> Vec<String> {
        ["locked_value", "minted_value", "in_flight_value"].map(String::from).to_vec()
    }

    /// Blocks of both chains gossiped over their meshes (a PBFT side chain: three rounds among
    /// its replicas and every replica's copy to every follower, a block per interval at least),
    /// and the transfers users issue.
    fn work_estimate(config: &BridgeConfig, setting: &Setting<'_>) -> f64 {
        let stop = setting.stop_time.map_or(0.0, |s| s.as_secs_f64());
        let nodes = f64::from(setting.network.nodes);
        let gossip = |c: &crate::chain::ChainConfig| stop / c.slot.as_secs_f64() * nodes * f64::from(c.mesh_degree);
        let side = match &config.side_consensus {
            SideConsensus::Slots => gossip(&config.side_chain),
            SideConsensus::Pbft(bft) => {
                let n = parts(config, setting).map_or(4.0, |p| p.side.len() as f64);
                stop / bft.block_interval.as_secs_f64() * n * (3.0 * n + nodes)
            }
        };
        gossip(&config.main_chain) + side + config.rate * stop
    }

    fn build(config: &BridgeConfig, setting: &Setting<'_>, seed: u64) -> Self {
        let parts = parts(config, setting).expect("a validated config names its parts");
        let stop = setting.stop_time.expect("validated: a time limit");
        let until = SimTime::ZERO + stop;
        let issue_until = SimTime(stop.0 - config.drain.0);
        Bridge::new(config.clone(), setting.network.nodes, &parts, issue_until, until, seed)
    }
}
