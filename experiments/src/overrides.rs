//! `--set key.path=value`: replaces one value of the resolved config. Paths name struct fields
//! with dots; the variant wrapper of an enum is stepped through, so `network.topology.degree`
//! reaches the degree inside `RandomRegular(degree: ...)`.

use serde_json::Value;

/// Replaces the value at `path` in `config`; the error names the path and what exists there.
pub fn set(config: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut current = config;
    let mut walked = Vec::new();
    for key in path.split('.') {
        if key.is_empty() {
            return Err(format!("`{path}` is not a key path: write keys separated by dots, like network.nodes"));
        }
        if !has_key(current_view(current), key) {
            let here = if walked.is_empty() { "the top level".to_string() } else { format!("`{}`", walked.join(".")) };
            return Err(format!("`{path}`: no key `{key}` in {here}; keys there: {}", keys(current_view(current))));
        }
        current = step(current, key).expect("the key was just found");
        walked.push(key);
    }
    *current = value;
    Ok(())
}

/// Steps into `key`, passing through a single-variant wrapper `{"Variant": ...}` if needed.
fn step<'a>(value: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let Value::Object(map) = value else { return None };
    if map.contains_key(key) {
        return map.get_mut(key);
    }
    if map.len() == 1 {
        let (tag, _) = map.iter().next()?;
        if tag.starts_with(|c: char| c.is_ascii_uppercase()) {
            let inner = map.values_mut().next()?;
            return step(inner, key);
        }
    }
    None
}

/// The object whose keys a user can name at this point (inside a variant wrapper if there is one).
fn current_view(value: &Value) -> &Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.keys().all(|k| k.starts_with(|c: char| c.is_ascii_uppercase())) => {
            current_view(map.values().next().expect("one entry"))
        }
        other => other,
    }
}

fn has_key(value: &Value, key: &str) -> bool {
    matches!(value, Value::Object(map) if map.contains_key(key))
}

fn keys(value: &Value) -> String {
    match value {
        Value::Object(map) => map.keys().cloned().collect::<Vec<_>>().join(", "),
        _ => "none (this is a plain value)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_plain_and_variant_nested_keys() {
        let mut config = json!({"network": {"nodes": 10, "topology": {"RandomRegular": {"degree": 8}}}});
        set(&mut config, "network.nodes", json!(20)).unwrap();
        set(&mut config, "network.topology.degree", json!(4)).unwrap();
        assert_eq!(config, json!({"network": {"nodes": 20, "topology": {"RandomRegular": {"degree": 4}}}}));
        set(&mut config, "network.topology", json!("Complete")).unwrap();
        assert_eq!(config["network"]["topology"], json!("Complete"));
    }

    #[test]
    fn unknown_keys_list_the_alternatives() {
        let mut config = json!({"network": {"nodes": 10, "loss": 0.0}});
        let err = set(&mut config, "network.nodez", json!(1)).unwrap_err();
        assert!(err.contains("no key `nodez` in `network`") && err.contains("nodes, loss"), "{err}");
        assert!(set(&mut config, "network..nodes", json!(1)).is_err());
        assert!(set(&mut config, "network.nodes.x", json!(1)).unwrap_err().contains("plain value"));
    }
}
