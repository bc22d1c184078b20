//! Block relay as experiment files name it: `protocol: Bitcoin(...)`.

use simulator::config::ConfigError;

use super::{Bitcoin, BitcoinConfig, METRICS};
use crate::REACH_CURVE;
use crate::registry::{ItemCurve, PerItem, PlotKind, PlotSpec, Registered, Setting};

impl Registered for Bitcoin {
    const NAME: &'static str = "Bitcoin";
    type Config = BitcoinConfig;

    fn validate(config: &BitcoinConfig, setting: &Setting<'_>) -> Result<(), ConfigError> {
        config.validate(setting.network.nodes).map_err(|e| e.within("protocol"))
    }

    fn label(name: &str) -> Option<&'static str> {
        crate::label_in(&super::metrics::LABELS, name)
    }

    fn metric_names(_: &BitcoinConfig) -> Vec<String> {
        METRICS.iter().map(|m| m.to_string()).collect()
    }

    /// Lines against the swept keys; over blocks (which pool nothing across a second swept
    /// key), the CDF of their time to half the nodes and the propagation curve.
    fn default_plots(_: &BitcoinConfig, swept: &[&str]) -> Vec<PlotSpec> {
        let mut plots = if swept.is_empty() {
            Vec::new()
        } else {
            vec![PlotSpec::line("block_t50_ms", swept), PlotSpec::line("stale_rate", swept)]
        };
        if swept.len() <= 1 {
            plots.push(PlotSpec::per_first_key(PlotKind::Cdf, "block_t50_ms", swept));
            plots.push(PlotSpec::per_first_key(PlotKind::Propagation, REACH_CURVE, swept));
        }
        plots
    }

    fn series_names(_: &BitcoinConfig) -> Vec<String> {
        vec!["chain_height".to_string(), "forks".to_string()]
    }

    fn item_curve() -> Option<ItemCurve> {
        Some(ItemCurve { list: "blocks", field: REACH_CURVE, noun: "block", origin: "mining" })
    }

    fn per_item(metric: &str) -> Option<PerItem> {
        let field = match metric {
            "block_t50_ms" => "t50_ms",
            "block_t90_ms" => "t90_ms",
            "block_t100_ms" => "t100_ms",
            _ => return None,
        };
        Some(PerItem { list: "blocks", field, noun: "block" })
    }

    /// Every block reaches every node.
    fn work_estimate(config: &BitcoinConfig, setting: &Setting<'_>) -> f64 {
        f64::from(setting.network.nodes) * f64::from(config.blocks)
    }

    fn build(config: &BitcoinConfig, setting: &Setting<'_>, seed: u64) -> Self {
        Bitcoin::new(config.clone(), setting.network.nodes, seed)
    }
}
