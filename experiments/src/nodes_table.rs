//! `nodes.csv`: every node's counters of every finished run in one tidy table, one row per node:
//! `point, replicate, node, role, region`, then each counter. Rows come in plan order, then by
//! node, so the file does not depend on how the runs were scheduled.

use serde_json::Value;

/// The counters, in column order, as the run files name them.
pub const COUNTERS: [&str; 7] = [
    "bytes_sent",
    "bytes_received",
    "messages_sent",
    "messages_received",
    "messages_dropped",
    "cpu_busy_ns",
    "disk_busy_ns",
];

/// A writer of the table, fed one run at a time so that only one run's nodes are in memory.
pub struct NodesTable {
    csv: csv::Writer<Vec<u8>>,
}

impl Default for NodesTable {
    fn default() -> Self {
        let mut csv = csv::Writer::from_writer(Vec::new());
        let header = ["point", "replicate", "node", "role", "region"].into_iter().chain(COUNTERS);
        csv.write_record(header).expect("writing to memory");
        NodesTable { csv }
    }
}

impl NodesTable {
    /// Adds the rows of one run: `nodes` is its run file's `nodes` object (one array per
    /// counter, and `role` and `region` arrays of names where the network has them).
    pub fn add(&mut self, point: &Value, replicate: &Value, nodes: &Value) {
        let (point, replicate) = (point.to_string(), replicate.to_string());
        let count = nodes[COUNTERS[0]].as_array().map_or(0, Vec::len);
        let name = |key: &str, node: usize| nodes[key].get(node).and_then(Value::as_str).unwrap_or("").to_string();
        for node in 0..count {
            let mut row =
                vec![point.clone(), replicate.clone(), node.to_string(), name("role", node), name("region", node)];
            row.extend(COUNTERS.iter().map(|c| nodes[*c].get(node).map(Value::to_string).unwrap_or_default()));
            self.csv.write_record(&row).expect("writing to memory");
        }
    }

    /// The table's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.csv.into_inner().expect("in-memory writer")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_row_per_node_with_its_role_and_region() {
        let mut table = NodesTable::default();
        let counters = |base: u64| {
            let mut nodes = serde_json::Map::new();
            for (i, c) in COUNTERS.iter().enumerate() {
                nodes.insert(c.to_string(), json!([base + i as u64, base + 10 + i as u64]));
            }
            nodes
        };
        let mut with_roles = counters(0);
        with_roles.insert("role".into(), json!(["validators", ""]));
        table.add(&json!(0), &json!(1), &Value::Object(with_roles));
        table.add(&json!(2), &json!(0), &Value::Object(counters(100)));
        let text = String::from_utf8(table.finish()).unwrap();
        assert_eq!(
            text,
            "point,replicate,node,role,region,bytes_sent,bytes_received,messages_sent,messages_received,messages_dropped,cpu_busy_ns,disk_busy_ns\n\
             0,1,0,validators,,0,1,2,3,4,5,6\n\
             0,1,1,,,10,11,12,13,14,15,16\n\
             2,0,0,,,100,101,102,103,104,105,106\n\
             2,0,1,,,110,111,112,113,114,115,116\n"
        );
    }
}
