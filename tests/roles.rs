//! Roles end to end: a protocol names a role, the manifest writes the roles out, and bad roles
//! are bad input that names the key.

mod common;

use common::{chainsim, stderr};

const MINERS: &str = r#"(
    name: "miners",
    network: (
        nodes: 30,
        topology: RandomRegular(degree: 4),
        roles: [
            (name: "miners", nodes: Count(3), cpu: (cores: 8)),
            (name: "watchers", nodes: Nodes([20, 25]), bandwidth: (upload: "1Gbps", download: "1Gbps")),
        ],
    ),
    protocol: Flood(items: 12, item_size: "10KB", sources: Role("miners")),
)"#;

#[test]
fn a_protocol_draws_from_the_nodes_of_a_role() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("miners.ron"), MINERS).unwrap();
    let o = chainsim(&["run", "miners.ron", "--out", "out", "--quiet"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("out/runs/0-0.json")).unwrap()).unwrap();
    let sources: Vec<u64> =
        run["detail"]["items"].as_array().unwrap().iter().map(|item| item["source"].as_u64().unwrap()).collect();
    assert_eq!(sources.len(), 12);
    assert!(sources.iter().all(|&s| s < 3), "{sources:?}");
    assert!((0..3).all(|miner| sources.contains(&miner)), "{sources:?}");
    let manifest = std::fs::read_to_string(tmp.path().join("out/manifest.json")).unwrap();
    assert!(manifest.contains(r#""name": "miners","#) && manifest.contains(r#""Count": 3"#), "{manifest}");
    // nodes.csv: one row per node, naming its role, with the counters of the run file.
    let nodes = std::fs::read_to_string(tmp.path().join("out/nodes.csv")).unwrap();
    let rows: Vec<Vec<&str>> = nodes.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let count = run["nodes"]["bytes_sent"].as_array().unwrap().len();
    assert_eq!(rows.len(), count, "{nodes}");
    for (node, row) in rows.iter().enumerate() {
        assert_eq!(row[2], node.to_string());
        let role = match node {
            0..3 => "miners",
            20 | 25 => "watchers",
            _ => "",
        };
        assert_eq!(row[3], role, "{nodes}");
        assert_eq!(row[5], run["nodes"]["bytes_sent"][node].to_string());
    }
}

#[test]
fn bad_roles_exit_2_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let refused = |text: &str, says: &str| {
        std::fs::write(tmp.path().join("bad.ron"), text).unwrap();
        let o = chainsim(&["run", "bad.ron", "--out", "out"], tmp.path());
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "`{says}` not in {}", stderr(&o));
        assert!(!tmp.path().join("out").exists(), "nothing is written");
    };
    refused(
        &MINERS.replace("Nodes([20, 25])", "Range(2, 5)"),
        "network.roles[1].nodes: node 2 is also in role `miners` (roles[0])",
    );
    refused(
        &MINERS.replace(r#"Role("miners")"#, r#"Role("validators")"#),
        "protocol.sources: no role `validators` in network.roles; roles: miners, watchers",
    );
    refused(&MINERS.replace("Nodes([20, 25])", "Nodes([])"), "network.roles[1].nodes: the role has no nodes");
    refused(
        &MINERS.replace("Count(3)", "Count(31)"),
        "network.roles[0].nodes: the counted roles up to this one need 31",
    );
    refused(&MINERS.replace("cores: 8", "cores: 0"), "network.roles[0].cpu.cores: must be at least 1");
    refused(
        &MINERS.replace(r#"cpu: (cores: 8)"#, r#"region: "EU""#),
        "network.roles[0].region: network.latency places no nodes in regions",
    );
}

const VALIDATORS: &str = r#"(
    name: "validators",
    stop: (time: "2s"),
    network: (
        nodes: 12,
        topology: Complete,
        latency: Constant("5ms"),
        roles: [
            (name: "clients", nodes: Count(4)),
            (name: "validators", nodes: Range(4, 8), cpu: (cores: 8)),
        ],
    ),
    protocol: Pbft(replicas: "validators", batch_size: 10),
)"#;

#[test]
fn pbft_replicas_can_be_a_role() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("validators.ron"), VALIDATORS).unwrap();
    let o = chainsim(&["run", "validators.ron", "--out", "out", "--quiet"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("out/runs/0-0.json")).unwrap()).unwrap();
    assert_eq!(run["detail"]["replicas_n"], 4);
    assert_eq!(run["detail"]["clients"], 8, "every node outside the role is a client");
    assert!(run["detail"]["requests_accepted"].as_u64().unwrap() > 100, "{}", run["detail"]);
    assert_eq!(run["metrics"]["safety_violations"], 0);
    // The replicas are nodes 4..8: they send the replica traffic, the others only requests.
    let sent = run["nodes"]["messages_sent"].as_array().unwrap();
    let replica_messages: u64 = sent[4..8].iter().map(|v| v.as_u64().unwrap()).sum();
    let client_messages: u64 = sent[..4].iter().chain(&sent[8..]).map(|v| v.as_u64().unwrap()).sum();
    assert!(replica_messages > 4 * client_messages, "{replica_messages} vs {client_messages}");

    let refused = |text: String, says: &str| {
        std::fs::write(tmp.path().join("bad.ron"), text).unwrap();
        let o = chainsim(&["check", "bad.ron"], tmp.path());
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "`{says}` not in {}", stderr(&o));
    };
    refused(
        VALIDATORS.replace("Range(4, 8)", "Range(4, 7)"),
        "protocol.replicas: role `validators` has 3 nodes and needs at least 4",
    );
    refused(
        VALIDATORS.replace("Range(4, 8)", "Range(4, 9)"),
        "protocol.replicas: role `validators` has 5 nodes, and 5 is not 3f + 1",
    );
    refused(
        VALIDATORS.replace(r#"replicas: "validators""#, r#"replicas: "miners""#),
        "protocol.replicas: no role `miners`",
    );
}

#[test]
fn a_preset_takes_roles_as_a_change() {
    let tmp = tempfile::tempdir().unwrap();
    let text = r#"(
        name: "preset-roles",
        network: Preset("bitcoin-2019", [("nodes", 100), ("roles", [(name: "eu", nodes: Count(5), region: "EU")])]),
        protocol: Flood(items: 4, item_size: "10KB", sources: Role("eu")),
    )"#;
    std::fs::write(tmp.path().join("p.ron"), text).unwrap();
    let o =
        chainsim(&["run", "p.ron", "--out", "out", "--quiet", "--set", "network.roles[0].nodes=Count(4)"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("out/runs/0-0.json")).unwrap()).unwrap();
    let sources: Vec<u64> =
        run["detail"]["items"].as_array().unwrap().iter().map(|i| i["source"].as_u64().unwrap()).collect();
    assert!(sources.iter().all(|&s| s < 4), "{sources:?}");
}
