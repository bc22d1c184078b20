//! Sharding as experiment files name it: `protocol: Sharding(...)`, with the rules it sets for
//! the experiment around it.

use simulator::config::{ConfigError, TopologyConfig};
use simulator::{NodeId, SimTime};

use super::accounts::Accounts;
use super::config::Validators;
use super::{METRICS, Sharding, ShardingConfig};
use crate::registry::{PlotKind, PlotSpec, Registered, Setting};

impl Registered for Sharding {
    const NAME: &'static str = "Sharding";
    type Config = ShardingConfig;

    fn validate(config: &ShardingConfig, setting: &Setting<'_>) -> Result<(), ConfigError> {
        config.validate().map_err(|e| e.within("protocol"))?;
        let (committees, clients) = nodes(config, setting)?;
        if clients.is_empty() {
            let replicas = committees.len() as u32 * config.committee;
            return Err(ConfigError::new(
                "network.nodes",
                format!(
                    "{} nodes leave no client beside the {replicas} replicas (shards × committee): add nodes",
                    setting.network.nodes
                ),
            ));
        }
        if setting.network.topology != TopologyConfig::Complete {
            return Err(ConfigError::new(
                "network.topology",
                "committees talk to every client and to each other: use topology: Complete",
            ));
        }
        let Some(stop) = setting.stop_time else {
            return Err(ConfigError::new(
                "stop.time",
                "sharded runs need a simulated-time limit (clients issue transactions until then); add e.g. time: \"10s\"",
            ));
        };
        if let Some((i, t)) = config.script.iter().enumerate().find(|(_, t)| t.client as usize >= clients.len()) {
            return Err(ConfigError::new(
                format!("protocol.script[{i}].client"),
                format!(
                    "client {} does not exist: the {} nodes outside the committees are clients 0..{}",
                    t.client,
                    clients.len(),
                    clients.len()
                ),
            ));
        }
        for (key, span) in [("warmup", config.warmup), ("drain", config.drain)] {
            if span >= stop {
                return Err(ConfigError::new(
                    format!("protocol.{key}"),
                    format!("must be shorter than stop.time ({stop})"),
                ));
            }
        }
        if config.cross_shard_ratio.is_some() {
            let counts = Accounts::new(config).counts(config.shards);
            if let Some((shard, &held)) = counts.iter().enumerate().find(|&(_, &n)| n < config.accounts_per_tx) {
                return Err(ConfigError::new(
                    "protocol.accounts",
                    format!(
                        "shard {shard} holds {held} accounts, fewer than accounts_per_tx ({}), so it cannot keep a transfer to itself: add accounts",
                        config.accounts_per_tx
                    ),
                ));
            }
        }
        Ok(())
    }

    fn label(name: &str) -> Option<&'static str> {
        crate::label_in(&super::metrics::LABELS, name)
    }

    fn metric_names(_: &ShardingConfig) -> Vec<String> {
        METRICS.iter().map(|m| m.to_string()).collect()
    }

    fn default_plots(_: &ShardingConfig, swept: &[&str]) -> Vec<PlotSpec> {
        if swept.is_empty() {
            vec![PlotSpec::new(PlotKind::TimeSeries, "committed_tps")]
        } else {
            ["throughput_tps", "cross_latency_p50_ms", "abort_rate"].map(|y| PlotSpec::line(y, swept)).to_vec()
        }
    }

    fn series_names(_: &ShardingConfig) -> Vec<String> {
        vec!["committed_tps".to_string(), "queue_length".to_string()]
    }

    fn work_estimate(config: &ShardingConfig, setting: &Setting<'_>) -> f64 {
        let replicas = f64::from(config.shards) * f64::from(config.committee);
        replicas * f64::from(config.committee) + f64::from(setting.network.nodes)
    }

    fn build(config: &ShardingConfig, setting: &Setting<'_>, _seed: u64) -> Self {
        let (committees, clients) = nodes(config, setting).expect("a validated config names its committees");
        let stop = setting.stop_time.expect("validated: a time limit");
        let issue_until = SimTime(stop.0 - config.drain.0);
        Sharding::new(config.clone(), setting.network.nodes, committees, clients, issue_until)
    }
}

/// The committees' nodes (shard by shard, in replica order) and the clients' nodes.
fn nodes(config: &ShardingConfig, setting: &Setting<'_>) -> Result<(Vec<Vec<NodeId>>, Vec<NodeId>), ConfigError> {
    let (k, m) = (config.shards as usize, config.committee as usize);
    let committees: Vec<Vec<NodeId>> = match &config.validators {
        None if k * m > setting.network.nodes as usize => {
            return Err(ConfigError::new(
                "network.nodes",
                format!(
                    "{} nodes are fewer than the {} replicas (shards × committee) plus at least one client",
                    setting.network.nodes,
                    k * m
                ),
            ));
        }
        None => (0..(k * m) as NodeId).collect::<Vec<_>>().chunks(m).map(<[NodeId]>::to_vec).collect(),
        Some(Validators::Split(name)) => {
            let members = setting.network.roles()?.require("protocol.validators", name, k * m)?.to_vec();
            if members.len() != k * m {
                return Err(ConfigError::new(
                    "protocol.validators",
                    format!("role `{name}` has {} nodes; shards × committee needs exactly {}", members.len(), k * m),
                ));
            }
            members.chunks(m).map(<[NodeId]>::to_vec).collect()
        }
        Some(Validators::PerShard(names)) => {
            if names.len() != k {
                return Err(ConfigError::new(
                    "protocol.validators",
                    format!("lists {} roles for {k} shards: give one role per shard", names.len()),
                ));
            }
            let roles = setting.network.roles()?;
            let mut committees = Vec::with_capacity(k);
            for (shard, name) in names.iter().enumerate() {
                let members = roles.require(&format!("protocol.validators[{shard}]"), name, m)?;
                if members.len() != m {
                    return Err(ConfigError::new(
                        format!("protocol.validators[{shard}]"),
                        format!("role `{name}` has {} nodes; a committee has {m} (protocol.committee)", members.len()),
                    ));
                }
                committees.push(members.to_vec());
            }
            committees
        }
    };
    let mut is_validator = vec![false; setting.network.nodes as usize];
    for &node in committees.iter().flatten() {
        if std::mem::replace(&mut is_validator[node as usize], true) {
            return Err(ConfigError::new(
                "protocol.validators",
                format!("node {node} is in two committees: give each shard its own nodes"),
            ));
        }
    }
    let clients = (0..setting.network.nodes).filter(|&n| !is_validator[n as usize]).collect();
    Ok((committees, clients))
}
