//! Parallel execution of a batch: requests that touch disjoint state run concurrently. Every
//! request declares the keys it reads and writes; two requests conflict when one writes a key the
//! other reads or writes. The batch becomes a directed conflict graph (an edge from the earlier to
//! the later of each conflicting pair, so the batch order is kept wherever it matters), and
//! requests run on the replica's cores as soon as all their predecessors have finished. The batch's
//! execution time is the makespan of that schedule; it is not computed by formula but emerges from
//! the CPU model.

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use simulator::cpu::Cpus;
use simulator::{SimDuration, SimTime};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// The keys one request reads and writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// Keys read.
    pub reads: Vec<u64>,
    /// Keys written.
    pub writes: Vec<u64>,
}

/// Which requests of a batch must wait for which.
#[derive(Clone, Debug, Default)]
pub struct ConflictGraph {
    graph: DiGraph<(), ()>,
}

impl ConflictGraph {
    /// The graph of requests with the given accesses, in batch order.
    ///
    /// Edges come from per-key bookkeeping rather than a pairwise check: a read waits for the
    /// key's last writer; a write waits for the last writer and every reader since. Conflicts
    /// further back are implied through those edges, so the schedule is the same as with every
    /// pairwise edge, at O(keys) instead of O(batch²).
    pub fn build<'a>(accesses: impl ExactSizeIterator<Item = &'a Access> + Clone) -> Self {
        let mut graph = DiGraph::with_capacity(accesses.len(), accesses.len());
        let nodes: Vec<NodeIndex> = accesses.clone().map(|_| graph.add_node(())).collect();
        #[derive(Default)]
        struct KeyState {
            writer: Option<usize>,
            readers: Vec<usize>,
        }
        let mut keys: BTreeMap<u64, KeyState> = BTreeMap::new();
        for (j, access) in accesses.enumerate() {
            for &key in &access.reads {
                let state = keys.entry(key).or_default();
                if let Some(w) = state.writer.filter(|&w| w != j) {
                    graph.update_edge(nodes[w], nodes[j], ());
                }
                state.readers.push(j);
            }
            for &key in &access.writes {
                let state = keys.entry(key).or_default();
                for &before in state.writer.iter().chain(&state.readers) {
                    if before != j {
                        graph.update_edge(nodes[before], nodes[j], ());
                    }
                }
                state.writer = Some(j);
                state.readers.clear();
            }
        }
        ConflictGraph { graph }
    }

    /// `len` requests with no conflicts at all.
    pub fn independent(len: usize) -> Self {
        let mut graph = DiGraph::with_capacity(len, 0);
        for _ in 0..len {
            graph.add_node(());
        }
        ConflictGraph { graph }
    }

    /// Number of requests.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of conflict edges.
    pub fn edges(&self) -> usize {
        self.graph.edge_count()
    }

    /// Requests that must wait for request `i`.
    fn successors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.graph.neighbors_directed(NodeIndex::new(i), Direction::Outgoing).map(NodeIndex::index)
    }

    /// Makespan of the batch on `cores` idle cores when request `i` takes `durations[i]`, using the
    /// same rule as a replica running on the CPU model: a request is submitted the moment its last
    /// predecessor finishes (ties in batch order) and starts on the core that frees up first.
    pub fn makespan(&self, durations: &[SimDuration], cores: usize) -> SimDuration {
        let mut cpus = Cpus::new(1, cores);
        let mut tracker = ReadyTracker::new(self);
        let mut running = BinaryHeap::new();
        let mut submitted = 0u64;
        let mut ready = tracker.initially_ready();
        let mut now = SimTime::ZERO;
        loop {
            for &i in &ready {
                let done = cpus.submit(0, now, durations[i]);
                running.push(Reverse((done, submitted, i)));
                submitted += 1;
            }
            let Some(Reverse((done, _, i))) = running.pop() else {
                return now.since(SimTime::ZERO);
            };
            now = done;
            ready = tracker.complete(self, i);
        }
    }
}

/// Counts of unfinished predecessors while a batch executes.
#[derive(Clone, Debug)]
pub struct ReadyTracker {
    waiting_on: Vec<u32>,
    finished: usize,
}

impl ReadyTracker {
    /// Nothing finished yet.
    pub fn new(graph: &ConflictGraph) -> Self {
        let waiting_on = (0..graph.len())
            .map(|i| graph.graph.neighbors_directed(NodeIndex::new(i), Direction::Incoming).count() as u32)
            .collect();
        ReadyTracker { waiting_on, finished: 0 }
    }

    /// Requests with no predecessors, in batch order.
    pub fn initially_ready(&self) -> Vec<usize> {
        (0..self.waiting_on.len()).filter(|&i| self.waiting_on[i] == 0).collect()
    }

    /// Records that request `i` finished; returns the requests it released, in batch order.
    pub fn complete(&mut self, graph: &ConflictGraph, i: usize) -> Vec<usize> {
        self.finished += 1;
        let mut released: Vec<usize> = graph
            .successors(i)
            .filter(|&j| {
                self.waiting_on[j] -= 1;
                self.waiting_on[j] == 0
            })
            .collect();
        released.sort_unstable();
        released
    }

    /// Whether every request has finished.
    pub fn all_done(&self) -> bool {
        self.finished == self.waiting_on.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(reads: &[u64], writes: &[u64]) -> Access {
        Access { reads: reads.to_vec(), writes: writes.to_vec() }
    }

    const MS: SimDuration = SimDuration::from_millis(1);

    #[test]
    fn independent_requests_spread_over_cores() {
        let batch: Vec<Access> = (0..8).map(|k| access(&[k], &[100 + k])).collect();
        let graph = ConflictGraph::build(batch.iter());
        assert_eq!(graph.edges(), 0);
        assert_eq!(graph.makespan(&[MS; 8], 4), SimDuration::from_millis(2));
        assert_eq!(graph.makespan(&[MS; 8], 8), MS);
        assert_eq!(graph.makespan(&[MS; 8], 1), SimDuration::from_millis(8));
    }

    #[test]
    fn a_chain_runs_serially_whatever_the_cores() {
        // Each request reads what the previous one wrote.
        let batch: Vec<Access> = (0..5).map(|k| access(&[k], &[k + 1])).collect();
        let graph = ConflictGraph::build(batch.iter());
        assert_eq!(graph.edges(), 4);
        assert_eq!(graph.makespan(&[MS; 5], 16), SimDuration::from_millis(5));
    }

    #[test]
    fn a_diamond_runs_its_middle_in_parallel() {
        // 0 writes a; 1 and 2 read a and write b, c; 3 reads b and c.
        let batch = [access(&[], &[1]), access(&[1], &[2]), access(&[1], &[3]), access(&[2, 3], &[])];
        let graph = ConflictGraph::build(batch.iter());
        assert_eq!(graph.edges(), 4);
        let durations = [MS, SimDuration::from_millis(3), MS, MS];
        assert_eq!(graph.makespan(&durations, 2), SimDuration::from_millis(5));
        // On one core the middle requests queue: 1 + 3 + 1 + 1.
        assert_eq!(graph.makespan(&durations, 1), SimDuration::from_millis(6));
    }

    #[test]
    fn write_after_read_and_write_after_write_conflict() {
        let batch = [access(&[7], &[]), access(&[7], &[]), access(&[], &[7]), access(&[], &[7])];
        let graph = ConflictGraph::build(batch.iter());
        // Both readers precede the first writer, which precedes the second.
        assert_eq!(graph.edges(), 3);
        assert_eq!(graph.makespan(&[MS; 4], 4), SimDuration::from_millis(3));
    }

    #[test]
    fn a_request_does_not_conflict_with_itself() {
        let graph = ConflictGraph::build([access(&[5], &[5])].iter());
        assert_eq!(graph.edges(), 0);
        assert_eq!(graph.makespan(&[MS], 1), MS);
    }

    #[test]
    fn empty_batch_takes_no_time() {
        assert_eq!(ConflictGraph::independent(0).makespan(&[], 2), SimDuration::ZERO);
    }
}
