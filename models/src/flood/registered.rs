//! Flood as experiment files name it: `protocol: Flood(...)`.

use simulator::config::ConfigError;

use super::{Flood, FloodConfig, METRICS, Sources};
use crate::REACH_CURVE;
use crate::registry::{ItemCurve, PerItem, PlotKind, PlotSpec, Registered, Setting};

impl Registered for Flood {
    const NAME: &'static str = "Flood";
    type Config = FloodConfig;

    fn validate(config: &FloodConfig, setting: &Setting<'_>) -> Result<(), ConfigError> {
        config.validate(setting.network.nodes).map_err(|e| e.within("protocol"))?;
        if let Sources::Role(name) = &config.sources {
            setting.network.roles()?.require("protocol.sources", name, 1)?;
        }
        Ok(())
    }

    fn label(name: &str) -> Option<&'static str> {
        crate::label_in(&super::metrics::LABELS, name)
    }

    fn metric_names(_: &FloodConfig) -> Vec<String> {
        METRICS.iter().map(|m| m.to_string()).collect()
    }

    /// Lines against the swept keys; over items (which pool nothing across a second swept key),
    /// the CDF of their time to half the nodes and the propagation curve.
    fn default_plots(_: &FloodConfig, swept: &[&str]) -> Vec<PlotSpec> {
        let mut plots = if swept.is_empty() {
            Vec::new()
        } else {
            vec![PlotSpec::line("reach_p50_ms", swept), PlotSpec::line("reach_p90_ms", swept)]
        };
        if swept.len() <= 1 {
            plots.push(PlotSpec::per_first_key(PlotKind::Cdf, "reach_p50_ms", swept));
            plots.push(PlotSpec::per_first_key(PlotKind::Propagation, REACH_CURVE, swept));
        }
        plots
    }

    fn item_curve() -> Option<ItemCurve> {
        Some(ItemCurve { list: "items", field: REACH_CURVE, noun: "item", origin: "creation" })
    }

    fn per_item(metric: &str) -> Option<PerItem> {
        // The reach columns are also the fields of each item.
        METRICS[..3].iter().find(|&&m| m == metric).map(|&field| PerItem { list: "items", field, noun: "item" })
    }

    /// Every item crosses every link once or twice, carrying its size.
    fn work_estimate(config: &FloodConfig, setting: &Setting<'_>) -> f64 {
        f64::from(setting.network.nodes) * f64::from(config.items) * (1.0 + config.item_size.bytes() as f64 / 1e6)
    }

    /// A bit and a reach time per item and node.
    fn memory_estimate(config: &FloodConfig, setting: &Setting<'_>) -> f64 {
        f64::from(setting.network.nodes) * f64::from(config.items) * 9.0
    }

    fn build(config: &FloodConfig, setting: &Setting<'_>, seed: u64) -> Self {
        let roles = setting.network.roles().expect("roles are validated before building");
        Flood::new(config.clone(), setting.network.nodes, &roles, seed)
    }
}
