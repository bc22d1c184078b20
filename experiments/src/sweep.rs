//! Parameter sweeps: `sweep` axes whose cartesian product is the grid of points, and an optional
//! `zip` group of keys varied together (one axis). Values are written in RON in the experiment
//! file and kept in the JSON shape of the config (see `ron_value`), so that applying one is the
//! same operation as `--set`.

use ron::value::RawValue;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::ron_value;

/// One swept key and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Dotted key path into the experiment, e.g. `network.nodes`.
    pub key: String,
    /// The values, in the order given.
    pub values: Vec<Value>,
}

/// Reads `[("key", [value, ...]), ...]` keeping every value's RON text, enum names included.
pub fn deserialize_axes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Axis>, D::Error> {
    let raw: Vec<(String, Vec<Box<RawValue>>)> = Deserialize::deserialize(deserializer)?;
    raw.into_iter()
        .map(|(key, values)| {
            let values = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    ron_value::parse(v.get_ron().trim()).map_err(|e| {
                        serde::de::Error::custom(format!(
                            "sweep axis `{key}`, value {} `{}`: {e}",
                            i + 1,
                            v.get_ron().trim()
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Axis { key, values })
        })
        .collect()
}

/// One dimension of the grid: one key, or several zipped keys, with one value tuple per step.
#[derive(Clone, Debug, PartialEq)]
struct Dimension {
    keys: Vec<String>,
    steps: Vec<Vec<Value>>,
}

/// The swept parameters of one point, in axis order.
pub type Params = Vec<(String, Value)>;

/// Why `key` cannot vary between points, if it cannot: it is a property of the whole study.
fn unsweepable(key: &str) -> Option<&'static str> {
    match key {
        "replicates" => Some(
            "the number of replicates is the same at every point; set `replicates: N` (each point then runs N times)",
        ),
        "seed" => Some(
            "every run's seed already derives from the master seed and the run's place in the grid; raise `replicates` for more seeds, or run again with --seed for another set",
        ),
        "name" => Some("the name names the results folder of the whole study; give one `name`"),
        _ => None,
    }
}

/// Most points a grid may have: every point's resolved config is kept and written to the
/// manifest.
pub const MAX_POINTS: u64 = 100_000;

/// Expands `sweep` and `zip` into the points of the grid, the last dimension varying fastest.
/// Errors name the offending axis.
pub fn expand(sweep: &[Axis], zip: &[Axis]) -> Result<Vec<Params>, String> {
    let zipped = zip.first().map_or(1, |axis| axis.values.len() as u64);
    let size = sweep.iter().fold(zipped, |size, axis| size.saturating_mul(axis.values.len() as u64));
    if size > MAX_POINTS {
        let mut factors: Vec<String> = sweep.iter().map(|a| a.values.len().to_string()).collect();
        factors.extend(zip.first().map(|_| format!("{zipped} zipped")));
        return Err(format!(
            "the grid has {size} points ({}), more than the {MAX_POINTS} a study may have; sweep fewer values or split the study",
            factors.join(" × ")
        ));
    }
    let mut dimensions = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for axis in sweep.iter().chain(zip) {
        if axis.values.is_empty() {
            return Err(format!("sweep axis `{}`: give at least one value", axis.key));
        }
        if !seen.insert(axis.key.as_str()) {
            return Err(format!("sweep axis `{}` appears twice", axis.key));
        }
        if let Some(why) = unsweepable(&axis.key) {
            return Err(format!("sweep axis `{}`: {why}", axis.key));
        }
    }
    for axis in sweep {
        dimensions.push(Dimension {
            keys: vec![axis.key.clone()],
            steps: axis.values.iter().map(|v| vec![v.clone()]).collect(),
        });
    }
    if let Some(first) = zip.first() {
        let len = first.values.len();
        if let Some(other) = zip.iter().find(|a| a.values.len() != len) {
            return Err(format!(
                "zip axis `{}` has {} values but `{}` has {len}: zipped keys vary together and need equally many",
                other.key,
                other.values.len(),
                first.key
            ));
        }
        let steps = (0..len).map(|i| zip.iter().map(|a| a.values[i].clone()).collect()).collect();
        dimensions.push(Dimension { keys: zip.iter().map(|a| a.key.clone()).collect(), steps });
    }
    let mut points: Vec<Params> = vec![Vec::new()];
    for dimension in &dimensions {
        points = points
            .into_iter()
            .flat_map(|params| {
                dimension.steps.iter().map(move |step| {
                    let mut next = params.clone();
                    next.extend(dimension.keys.iter().cloned().zip(step.iter().cloned()));
                    next
                })
            })
            .collect();
    }
    Ok(points)
}

/// A parameter value as a CSV cell and plot label: strings bare, everything else as RON, the way
/// it is written in an experiment file.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => ron_value::write(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn axis(key: &str, values: Vec<Value>) -> Axis {
        Axis { key: key.to_string(), values }
    }

    #[test]
    fn cartesian_product_with_a_zip_group() {
        let sweep = [axis("a", vec![json!(1), json!(2)]), axis("b", vec![json!("x"), json!("y"), json!("z")])];
        let zip = [axis("c", vec![json!(10), json!(20)]), axis("d", vec![json!(true), json!(false)])];
        let points = expand(&sweep, &zip).unwrap();
        assert_eq!(points.len(), 2 * 3 * 2);
        assert_eq!(
            points[0],
            vec![("a".into(), json!(1)), ("b".into(), json!("x")), ("c".into(), json!(10)), ("d".into(), json!(true))]
        );
        assert_eq!(points[1][2..], [("c".into(), json!(20)), ("d".into(), json!(false))]);
        assert_eq!(points[11][..2], [("a".into(), json!(2)), ("b".into(), json!("z"))]);
        assert_eq!(expand(&[], &[]).unwrap(), vec![Vec::new()]);
    }

    #[test]
    fn study_wide_keys_cannot_be_swept() {
        let err = expand(&[axis("replicates", vec![json!(1), json!(3)])], &[]).unwrap_err();
        assert!(err.starts_with("sweep axis `replicates`: the number of replicates is the same"), "{err}");
        let err = expand(&[], &[axis("seed", vec![json!(1), json!(2)])]).unwrap_err();
        assert!(err.contains("`seed`") && err.contains("raise `replicates`"), "{err}");
    }

    #[test]
    fn bad_axes_are_named() {
        assert!(expand(&[axis("a", vec![])], &[]).unwrap_err().contains("`a`"));
        assert!(expand(&[axis("a", vec![json!(1)]), axis("a", vec![json!(2)])], &[]).unwrap_err().contains("twice"));
        let zip = [axis("c", vec![json!(1)]), axis("d", vec![json!(1), json!(2)])];
        assert!(expand(&[], &zip).unwrap_err().contains("`d` has 2 values"));
    }

    #[test]
    fn display_is_plain_for_strings_and_ron_otherwise() {
        assert_eq!(display(&json!("Compact")), "Compact");
        assert_eq!(display(&json!(1000)), "1000");
        assert_eq!(display(&json!(null)), "None");
        assert_eq!(display(&json!("10Mbps")), "10Mbps");
        assert_eq!(display(&json!({"RandomRegular": {"degree": 4}})), "RandomRegular(degree: 4)");
    }
}
