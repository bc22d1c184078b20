//! Peer graphs: generators (complete, random regular, Erdős–Rényi), explicit edge lists and files.
//! Built graphs are stored as compressed adjacency (CSR) with each neighbour list sorted, so
//! iteration order is defined; petgraph serves the graph algorithms (components).

use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::visit::Bfs;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::fmt;

use crate::sampling::Geometric;

/// A node's index, `0..nodes`.
pub type NodeId = u32;

/// An undirected peer graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    offsets: Vec<u32>,
    neighbours: Vec<NodeId>,
}

/// Why a topology could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologyError(pub String);

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TopologyError {}

impl Topology {
    /// A graph of `nodes` nodes from undirected `edges`; self-loops and repeats are dropped.
    ///
    /// # Panics
    /// If an edge names a node `>= nodes` (callers validate edges first).
    pub fn from_edges(nodes: u32, edges: impl IntoIterator<Item = (NodeId, NodeId)>) -> Self {
        let mut adjacency: Vec<Vec<NodeId>> = vec![Vec::new(); nodes as usize];
        for (a, b) in edges {
            assert!(a < nodes && b < nodes, "edge ({a}, {b}) outside 0..{nodes}");
            if a != b {
                adjacency[a as usize].push(b);
                adjacency[b as usize].push(a);
            }
        }
        let mut offsets = Vec::with_capacity(nodes as usize + 1);
        let mut neighbours = Vec::new();
        offsets.push(0);
        for mut list in adjacency {
            list.sort_unstable();
            list.dedup();
            neighbours.extend_from_slice(&list);
            offsets.push(u32::try_from(neighbours.len()).expect("fewer than 2^32 adjacency entries"));
        }
        Topology { offsets, neighbours }
    }

    /// Every node connected to every other.
    pub fn complete(nodes: u32) -> Self {
        Self::from_edges(nodes, (0..nodes).flat_map(|a| (a + 1..nodes).map(move |b| (a, b))))
    }

    /// Bitcoin-style peer graph: every node, in id order, draws its number of outbound
    /// connections d from `cdf` (`cdf[d − 1]` = P(d' ≤ d)) and connects to d distinct random peers
    /// it is not yet linked with and that have fewer than `inbound_cap` inbound connections.
    /// Connections are undirected. A node that finds no eligible peer within a bounded number of
    /// tries keeps fewer connections (only possible in tiny or saturated networks).
    pub fn outbound_degree(nodes: u32, cdf: &[f64], inbound_cap: Option<u32>, rng: &mut ChaCha8Rng) -> Self {
        let mut adjacency: Vec<Vec<NodeId>> = vec![Vec::new(); nodes as usize];
        let mut inbound = vec![0u32; nodes as usize];
        let mut edges = Vec::new();
        for v in 0..nodes {
            let u: f64 = rng.random();
            let wanted = cdf.iter().position(|&p| u < p).map_or(cdf.len(), |i| i + 1);
            let mut made = 0;
            for _ in 0..64 * wanted {
                if made == wanted {
                    break;
                }
                let w = rng.random_range(0..nodes);
                let full = inbound_cap.is_some_and(|cap| inbound[w as usize] >= cap);
                if w == v || full || adjacency[v as usize].contains(&w) {
                    continue;
                }
                adjacency[v as usize].push(w);
                adjacency[w as usize].push(v);
                inbound[w as usize] += 1;
                edges.push((v, w));
                made += 1;
            }
        }
        Self::from_edges(nodes, edges)
    }

    /// A random simple graph where every node has exactly `degree` neighbours, by random pairing of
    /// edge stubs that rejects loops and repeated edges and restarts when stuck.
    pub fn random_regular(nodes: u32, degree: u32, rng: &mut ChaCha8Rng) -> Result<Self, TopologyError> {
        if degree >= nodes.max(1) || (u64::from(nodes) * u64::from(degree)) % 2 == 1 {
            return Err(TopologyError(format!(
                "no {degree}-regular graph on {nodes} nodes (need degree < nodes and nodes × degree even)"
            )));
        }
        const ATTEMPTS: usize = 100;
        'attempt: for _ in 0..ATTEMPTS {
            let mut stubs: Vec<NodeId> = (0..nodes).flat_map(|v| std::iter::repeat_n(v, degree as usize)).collect();
            let mut adjacency: Vec<Vec<NodeId>> = vec![Vec::with_capacity(degree as usize); nodes as usize];
            let mut edges = Vec::with_capacity(stubs.len() / 2);
            while !stubs.is_empty() {
                let mut paired = false;
                for _ in 0..64 {
                    let i = rng.random_range(0..stubs.len());
                    let j = rng.random_range(0..stubs.len());
                    let (a, b) = (stubs[i], stubs[j]);
                    if i != j && a != b && !adjacency[a as usize].contains(&b) {
                        adjacency[a as usize].push(b);
                        adjacency[b as usize].push(a);
                        edges.push((a, b));
                        let (hi, lo) = (i.max(j), i.min(j));
                        stubs.swap_remove(hi);
                        stubs.swap_remove(lo);
                        paired = true;
                        break;
                    }
                }
                if !paired {
                    continue 'attempt;
                }
            }
            return Ok(Self::from_edges(nodes, edges));
        }
        Err(TopologyError(format!("could not build a {degree}-regular graph on {nodes} nodes in {ATTEMPTS} attempts")))
    }

    /// G(n, p), sampled in O(n + edges) by geometric skipping (Batagelj & Brandes 2005).
    pub fn erdos_renyi(nodes: u32, p: f64, rng: &mut ChaCha8Rng) -> Self {
        if p <= 0.0 {
            return Self::from_edges(nodes, []);
        }
        if p >= 1.0 {
            return Self::complete(nodes);
        }
        let gaps = Geometric::new(p);
        let mut edges = Vec::new();
        let (mut v, mut w): (u64, i64) = (1, -1);
        let n = u64::from(nodes);
        while v < n {
            let skip = gaps.sample(rng);
            w = w.saturating_add(1).saturating_add(if skip >= i64::MAX as f64 { i64::MAX } else { skip as i64 });
            while w >= v as i64 && v < n {
                w -= v as i64;
                v += 1;
            }
            if v < n {
                edges.push((v as NodeId, w as NodeId));
            }
        }
        Self::from_edges(nodes, edges)
    }

    /// Parses an edge-list text: one `a b` pair per line, separated by spaces, tabs or a comma;
    /// blank lines and `#` comments are skipped. Errors name the 1-based line.
    pub fn parse_edge_list(text: &str, nodes: u32) -> Result<Vec<(NodeId, NodeId)>, TopologyError> {
        let mut edges = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> =
                line.split(|c: char| c == ',' || c.is_whitespace()).filter(|f| !f.is_empty()).collect();
            let [a, b] = fields.as_slice() else {
                return Err(TopologyError(format!("line {line_no}: expected two node ids `a b`, found `{line}`")));
            };
            let parse = |f: &str| -> Result<NodeId, TopologyError> {
                let id: NodeId = f.parse().map_err(|_| {
                    TopologyError(format!("line {line_no}: `{f}` is not a node id (a whole number ≥ 0)"))
                })?;
                if id >= nodes {
                    return Err(TopologyError(format!(
                        "line {line_no}: node {id} does not exist: network.nodes is {nodes}, so ids are 0..{nodes}"
                    )));
                }
                Ok(id)
            };
            edges.push((parse(a)?, parse(b)?));
        }
        Ok(edges)
    }

    /// Number of nodes.
    pub fn nodes(&self) -> u32 {
        (self.offsets.len() - 1) as u32
    }

    /// Number of undirected edges.
    pub fn edges(&self) -> usize {
        self.neighbours.len() / 2
    }

    /// Neighbours of `node`, ascending.
    #[inline]
    pub fn neighbours(&self, node: NodeId) -> &[NodeId] {
        let (start, end) = (self.offsets[node as usize], self.offsets[node as usize + 1]);
        &self.neighbours[start as usize..end as usize]
    }

    /// The graph as a petgraph graph (node index = node id).
    pub fn to_graph(&self) -> UnGraph<(), ()> {
        let mut graph = UnGraph::with_capacity(self.nodes() as usize, self.edges());
        for _ in 0..self.nodes() {
            graph.add_node(());
        }
        for a in 0..self.nodes() {
            for &b in self.neighbours(a) {
                if a < b {
                    graph.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), ());
                }
            }
        }
        graph
    }

    /// Number of connected components.
    pub fn components(&self) -> usize {
        petgraph::algo::connected_components(&self.to_graph())
    }

    /// For every node, whether it is reachable from `start` when links between nodes for which
    /// `cut(a, b)` holds are removed.
    pub fn reachable_from(&self, start: NodeId, cut: impl Fn(NodeId, NodeId) -> bool) -> Vec<bool> {
        let graph = self.to_graph();
        let filtered =
            petgraph::visit::EdgeFiltered::from_fn(&graph, |edge: petgraph::graph::EdgeReference<'_, ()>| {
                use petgraph::visit::EdgeRef;
                !cut(edge.source().index() as NodeId, edge.target().index() as NodeId)
            });
        let mut reached = vec![false; self.nodes() as usize];
        let mut bfs = Bfs::new(&filtered, NodeIndex::new(start as usize));
        while let Some(n) = bfs.next(&filtered) {
            reached[n.index()] = true;
        }
        reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{GLOBAL, Purpose, stream};

    #[test]
    fn random_regular_has_exact_degree_and_no_repeats() {
        let mut rng = stream(1, Purpose::Topology, GLOBAL);
        let t = Topology::random_regular(1000, 8, &mut rng).unwrap();
        for v in 0..1000 {
            let ns = t.neighbours(v);
            assert_eq!(ns.len(), 8, "node {v}");
            assert!(!ns.contains(&v));
            assert!(ns.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(t.edges(), 4000);
        assert_eq!(t.components(), 1);
    }

    #[test]
    fn random_regular_rejects_impossible_parameters() {
        let mut rng = stream(1, Purpose::Topology, GLOBAL);
        assert!(Topology::random_regular(5, 5, &mut rng).is_err());
        assert!(Topology::random_regular(5, 3, &mut rng).is_err());
        assert_eq!(Topology::random_regular(4, 3, &mut rng).unwrap(), Topology::complete(4));
    }

    #[test]
    fn erdos_renyi_edge_count_is_close_to_expectation() {
        let mut rng = stream(2, Purpose::Topology, GLOBAL);
        let n = 2000u32;
        let p = 0.01;
        let t = Topology::erdos_renyi(n, p, &mut rng);
        let expected = p * f64::from(n) * f64::from(n - 1) / 2.0;
        let sd = (expected * (1.0 - p)).sqrt();
        assert!((t.edges() as f64 - expected).abs() < 5.0 * sd, "{} vs {expected}", t.edges());
        assert_eq!(Topology::erdos_renyi(10, 1.0, &mut rng), Topology::complete(10));
        assert_eq!(Topology::erdos_renyi(10, 0.0, &mut rng).edges(), 0);
    }

    #[test]
    fn edge_list_parsing_reports_lines() {
        let edges = Topology::parse_edge_list("# ring\n0 1\n1,2\n\n2\t0 # back\n", 3).unwrap();
        assert_eq!(edges, vec![(0, 1), (1, 2), (2, 0)]);
        let err = Topology::parse_edge_list("0 1\n1 7\n", 3).unwrap_err();
        assert!(err.0.starts_with("line 2:") && err.0.contains("node 7"), "{err}");
        assert!(Topology::parse_edge_list("0 1 2\n", 3).unwrap_err().0.contains("line 1"));
        assert!(Topology::parse_edge_list("a b\n", 3).unwrap_err().0.contains("not a node id"));
    }

    #[test]
    fn reachability_respects_cuts() {
        let line = Topology::from_edges(4, [(0, 1), (1, 2), (2, 3)]);
        assert_eq!(line.reachable_from(0, |_, _| false), vec![true; 4]);
        let cut = |a: NodeId, b: NodeId| (a.min(b), a.max(b)) == (1, 2);
        assert_eq!(line.reachable_from(0, cut), vec![true, true, false, false]);
        assert_eq!(Topology::from_edges(3, [(0, 1), (0, 1), (2, 2)]).edges(), 1);
    }
}
