//! `--set key.path=value`: replaces one value of the resolved config. Paths name struct fields
//! with dots and list entries by index, as error messages write them (`network.roles[0].cpu`);
//! the variant wrapper of an enum is stepped through, so `network.topology.degree` reaches the
//! degree inside `RandomRegular(degree: ...)`.

use serde_json::Value;

/// Replaces the value at `path` in `config`; the error names the path and what exists there.
pub fn set(config: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut current = config;
    let mut walked = String::new();
    for segment in path.split('.') {
        let (key, indices) = segment.split_once('[').map_or((segment, ""), |(key, rest)| (key, rest));
        if key.is_empty() {
            return Err(format!("`{path}` is not a key path: write keys separated by dots, like network.nodes"));
        }
        if !has_key(current_view(current), key) {
            let here = if walked.is_empty() { "the top level".to_string() } else { format!("`{walked}`") };
            return Err(format!("`{path}`: no key `{key}` in {here}; keys there: {}", keys(current_view(current))));
        }
        current = step(current, key).expect("the key was just found");
        walked.push_str(if walked.is_empty() { "" } else { "." });
        walked.push_str(key);
        for index in indices.split('[').filter(|i| !i.is_empty()) {
            let parsed = index.strip_suffix(']').and_then(|i| i.parse::<usize>().ok());
            let Some(i) = parsed else {
                return Err(format!("`{path}`: write a list entry as key[index], like network.roles[0]"));
            };
            let Value::Array(items) = current else {
                return Err(format!("`{path}`: `{walked}` is not a list"));
            };
            let len = items.len();
            current = items.get_mut(i).ok_or_else(|| format!("`{path}`: `{walked}` has {len} entries, so no [{i}]"))?;
            walked.push_str(&format!("[{i}]"));
        }
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
    fn list_entries_are_reached_by_index() {
        let mut config = json!({"network": {"roles": [{"name": "a", "cpu": {"cores": 1}}, {"name": "b"}]}});
        set(&mut config, "network.roles[0].cpu.cores", json!(8)).unwrap();
        set(&mut config, "network.roles[1]", json!({"name": "c"})).unwrap();
        assert_eq!(config["network"]["roles"], json!([{"name": "a", "cpu": {"cores": 8}}, {"name": "c"}]));
        let err = set(&mut config, "network.roles[2].name", json!("d")).unwrap_err();
        assert!(err.contains("`network.roles` has 2 entries, so no [2]"), "{err}");
        assert!(set(&mut config, "network.roles[x]", json!(1)).unwrap_err().contains("key[index]"));
        assert!(set(&mut config, "network[0]", json!(1)).unwrap_err().contains("`network` is not a list"));
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
