//! PBFT as experiment files name it: `protocol: Pbft(...)`, with the rules it sets for the
//! experiment around it.

use simulator::config::{ConfigError, TopologyConfig};

use simulator::NodeId;

use super::{METRICS, Pbft, PbftConfig, Replicas};
use crate::registry::{PlotKind, PlotSpec, Registered, Setting};

impl Registered for Pbft {
    const NAME: &'static str = "Pbft";
    type Config = PbftConfig;

    fn validate(config: &PbftConfig, setting: &Setting<'_>) -> Result<(), ConfigError> {
        let members = members(config, setting)?;
        config.validate(members.len() as u32, setting.network.nodes).map_err(|e| e.within("protocol"))?;
        if setting.network.topology != TopologyConfig::Complete {
            return Err(ConfigError::new(
                "network.topology",
                "PBFT replicas talk to every replica and client: use topology: Complete",
            ));
        }
        if setting.stop_time.is_none() {
            return Err(ConfigError::new(
                "stop.time",
                "PBFT runs need a simulated-time limit (a replica left behind keeps timing out); add e.g. time: \"10s\"",
            ));
        }
        Ok(())
    }

    fn label(name: &str) -> Option<&'static str> {
        crate::label_in(&super::metrics::LABELS, name)
    }

    fn metric_names(_: &PbftConfig) -> Vec<String> {
        METRICS.iter().map(|m| m.to_string()).collect()
    }

    fn default_plots(_: &PbftConfig, swept: &[&str]) -> Vec<PlotSpec> {
        if swept.is_empty() {
            vec![PlotSpec::new(PlotKind::TimeSeries, "throughput_rps")]
        } else {
            ["throughput_rps", "latency_p50_ms", "latency_p99_ms"].map(|y| PlotSpec::line(y, swept)).to_vec()
        }
    }

    fn series_names(_: &PbftConfig) -> Vec<String> {
        vec!["throughput_rps".to_string()]
    }

    fn build(config: &PbftConfig, setting: &Setting<'_>, seed: u64) -> Self {
        let members = members(config, setting).expect("a validated config names its replicas");
        Pbft::new(config.clone(), setting.network.nodes, members, seed)
    }
}

/// The replicas' nodes, in replica order: the first nodes, or a role's.
fn members(config: &PbftConfig, setting: &Setting<'_>) -> Result<Vec<NodeId>, ConfigError> {
    match &config.replicas {
        Replicas::Count(n) => Ok((0..(*n).min(setting.network.nodes)).collect()),
        Replicas::Role(name) => Ok(setting.network.roles()?.require("protocol.replicas", name, 4)?.to_vec()),
    }
}
