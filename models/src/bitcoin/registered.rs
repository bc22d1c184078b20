//! Block relay as experiment files name it: `protocol: Bitcoin(...)`.

use simulator::config::ConfigError;

use super::{Bitcoin, BitcoinConfig, METRICS, REACH_CURVE};
use crate::registry::{ItemCurve, PlotKind, PlotSpec, Registered, Setting};

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

    fn default_plots(_: &BitcoinConfig, swept: &[&str]) -> Vec<PlotSpec> {
        let cdf = PlotSpec::per_first_key(PlotKind::Cdf, "block_t50_ms", swept);
        let propagation = PlotSpec::per_first_key(PlotKind::Propagation, REACH_CURVE, swept);
        if swept.is_empty() {
            vec![cdf, propagation]
        } else {
            vec![PlotSpec::line("block_t50_ms", swept), PlotSpec::line("stale_rate", swept), cdf, propagation]
        }
    }

    fn series_names(_: &BitcoinConfig) -> Vec<String> {
        vec!["chain_height".to_string(), "forks".to_string()]
    }

    fn item_curve() -> Option<ItemCurve> {
        Some(ItemCurve { list: "blocks", field: REACH_CURVE })
    }

    /// Every block reaches every node.
    fn work_estimate(config: &BitcoinConfig, setting: &Setting<'_>) -> f64 {
        f64::from(setting.network.nodes) * f64::from(config.blocks)
    }

    fn build(config: &BitcoinConfig, setting: &Setting<'_>, seed: u64) -> Self {
        Bitcoin::new(config.clone(), setting.network.nodes, seed)
    }
}
