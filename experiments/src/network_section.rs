//! Reads the `network` section of an experiment: written out, `(nodes: 1000, ...)`, or as a
//! preset, `Preset("bitcoin-2019")`, optionally followed by changes to it,
//! `Preset("bitcoin-2019", [("nodes", 5000), ("contention", Fifo)])`. A change names a key path
//! inside the network section, as `--set` does from the top, and its value is written in RON.

use std::fmt;

use ron::value::RawValue;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use simulator::config::NetworkConfig;
use simulator::presets::{NAMES, preset};

use crate::{overrides, ron_value};

/// Deserialises a `network` section (the experiment's `deserialize_with`).
pub fn network_or_preset<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NetworkConfig, D::Error> {
    deserializer.deserialize_any(NetworkVisitor)
}

struct NetworkVisitor;

impl<'de> Visitor<'de> for NetworkVisitor {
    type Value = NetworkConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a network section `(nodes: ..., ...)` or a preset such as `Preset(\"bitcoin-2019\")`")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NetworkConfig, A::Error> {
        NetworkConfig::deserialize(de::value::MapAccessDeserializer::new(map))
    }

    // RON hands `Preset("name", [...])` over as a tuple.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NetworkConfig, A::Error> {
        let name: String =
            seq.next_element()?.ok_or_else(|| de::Error::custom("name the preset: Preset(\"bitcoin-2019\")"))?;
        let network = preset(&name).ok_or_else(|| {
            de::Error::custom(format!("unknown network preset `{name}`; presets: {}", NAMES.join(", ")))
        })?;
        let changes: Vec<(String, Box<RawValue>)> = seq.next_element()?.unwrap_or_default();
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(
                "a preset takes its name and a list of changes: Preset(\"bitcoin-2019\", [(\"nodes\", 5000)])",
            ));
        }
        apply_changes(network, &changes).map_err(de::Error::custom)
    }
}

/// Replaces a preset written as a value (`--set 'network=Preset("bitcoin-2019")'`, or a sweep
/// over presets), which reaches the config in its JSON shape `{"Preset": ...}`, by the network
/// section it stands for, so the experiment reads it like one written in the file.
pub fn expand_preset_value(experiment: &mut serde_json::Value) -> Result<(), String> {
    let Some(network) = experiment.get_mut("network") else { return Ok(()) };
    let Some(preset_value) = network.as_object().filter(|map| map.len() == 1).and_then(|map| map.get("Preset")) else {
        return Ok(());
    };
    let (name, changes) = match preset_value {
        serde_json::Value::String(name) => (name.clone(), Vec::new()),
        serde_json::Value::Array(parts) => match parts.as_slice() {
            [serde_json::Value::String(name), serde_json::Value::Array(changes)] => (name.clone(), changes.clone()),
            _ => {
                return Err(
                    "a preset takes its name and a list of changes: Preset(\"bitcoin-2019\", [(\"nodes\", 5000)])"
                        .into(),
                );
            }
        },
        _ => return Err("name the preset: Preset(\"bitcoin-2019\")".into()),
    };
    let base =
        preset(&name).ok_or_else(|| format!("unknown network preset `{name}`; presets: {}", NAMES.join(", ")))?;
    let mut tree = serde_json::json!({ "network": base });
    for change in &changes {
        let Some([serde_json::Value::String(key), value]) = change.as_array().map(Vec::as_slice) else {
            return Err(format!("preset change `{change}`: write each change as (\"key.path\", value)"));
        };
        overrides::set(&mut tree, &format!("network.{key}"), value.clone())
            .map_err(|e| format!("preset change {e}"))?;
    }
    *network = tree["network"].take();
    Ok(())
}

/// The preset `network` with each `(key path, RON value)` change applied in order.
fn apply_changes(network: NetworkConfig, changes: &[(String, Box<RawValue>)]) -> Result<NetworkConfig, String> {
    if changes.is_empty() {
        return Ok(network);
    }
    // Rooted at `network` so that errors name full key paths, as `--set` does.
    let mut tree = serde_json::json!({ "network": network });
    for (key, raw) in changes {
        let text = raw.get_ron().trim();
        let value = ron_value::parse(text).map_err(|e| format!("preset change `{key}`, value `{text}`: {e}"))?;
        overrides::set(&mut tree, &format!("network.{key}"), value).map_err(|e| format!("preset change {e}"))?;
    }
    serde_json::from_value(tree["network"].take()).map_err(|e| {
        let keys: Vec<&str> = changes.iter().map(|(key, _)| key.as_str()).collect();
        format!("preset changes ({}): {e}", keys.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use simulator::config::{Contention, Jitter, LatencyConfig, TopologyConfig};

    fn read(text: &str) -> Result<NetworkConfig, String> {
        #[derive(Deserialize)]
        struct Section {
            #[serde(deserialize_with = "network_or_preset")]
            network: NetworkConfig,
        }
        crate::load::ron_options().from_str::<Section>(text).map(|s| s.network).map_err(|e| e.to_string())
    }

    #[test]
    fn a_preset_given_as_a_value_expands_like_one_in_the_file() {
        let as_value = |text: &str| {
            let mut tree = serde_json::json!({ "network": ron_value::parse(text).unwrap() });
            expand_preset_value(&mut tree).map(|()| serde_json::from_value::<NetworkConfig>(tree["network"].take()))
        };
        assert_eq!(as_value(r#"Preset("bitcoin-2019")"#).unwrap().unwrap(), preset("bitcoin-2019").unwrap());
        let changed = as_value(r#"Preset("bitcoin-2015", [("nodes", 300)])"#).unwrap().unwrap();
        assert_eq!(changed.nodes, 300);
        let err = as_value(r#"Preset("bitcoin-2020")"#).unwrap_err();
        assert!(err.contains("unknown network preset `bitcoin-2020`; presets: bitcoin-2015, bitcoin-2019"), "{err}");
        assert!(as_value(r#"Preset("bitcoin-2019", [("nodez", 3)])"#).unwrap_err().contains("no key `nodez`"));
    }

    #[test]
    fn a_preset_alone_is_the_preset() {
        assert_eq!(read(r#"(network: Preset("bitcoin-2019"))"#).unwrap(), preset("bitcoin-2019").unwrap());
    }

    #[test]
    fn changes_replace_values_at_any_depth_and_leave_the_rest() {
        let network = read(
            r#"(network: Preset("bitcoin-2015", [
                ("nodes", 300),
                ("contention", Fifo),
                ("latency.jitter", LogNormal(sigma: 0.3)),
                ("topology.inbound_cap", 40),
            ]))"#,
        )
        .unwrap();
        let base = preset("bitcoin-2015").unwrap();
        assert_eq!(network.nodes, 300);
        assert_eq!(network.contention, Contention::Fifo);
        let LatencyConfig::Regions(regions) = &network.latency else { panic!("{:?}", network.latency) };
        assert_eq!(regions.jitter, Jitter::LogNormal { sigma: 0.3 });
        let LatencyConfig::Regions(base_regions) = &base.latency else { unreachable!() };
        assert_eq!(regions.matrix_ms, base_regions.matrix_ms, "untouched values stay the preset's");
        assert!(matches!(network.topology, TopologyConfig::OutboundDegree { inbound_cap: Some(40), .. }));
        assert_eq!(network.unqueued_up_to, base.unqueued_up_to);
        let still = read(r#"(network: Preset("bitcoin-2019", [("latency.jitter", None)]))"#).unwrap();
        let LatencyConfig::Regions(regions) = &still.latency else { panic!("{:?}", still.latency) };
        assert_eq!(regions.jitter, Jitter::None, "`None` is the variant, as in a network written out");
    }

    #[test]
    fn bad_changes_name_the_key() {
        let unknown = read(r#"(network: Preset("bitcoin-2019", [("nodez", 5)]))"#).unwrap_err();
        assert!(unknown.contains("nodez") && unknown.contains("nodes"), "{unknown}");
        let mistyped = read(r#"(network: Preset("bitcoin-2019", [("nodes", "many")]))"#).unwrap_err();
        assert!(mistyped.contains("nodes"), "{mistyped}");
        let unknown_preset = read(r#"(network: Preset("bitcoin-1999"))"#).unwrap_err();
        assert!(unknown_preset.contains("bitcoin-2015, bitcoin-2019"), "{unknown_preset}");
    }
}
