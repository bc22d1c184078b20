//! CPU service: `k` identical cores per node (`k` may differ between nodes). A task starts on the core that frees up first (the
//! lowest-numbered one on ties) and runs to completion, which is FIFO scheduling because tasks are
//! submitted in time order.

use crate::time::{SimDuration, SimTime};

/// The cores of every node.
#[derive(Clone, Debug)]
pub struct Cpus {
    layout: Layout,
    core_free: Vec<SimTime>,
    busy_ns: Vec<u64>,
}

/// Where each node's cores sit in `core_free`.
#[derive(Clone, Debug)]
enum Layout {
    /// Every node has this many cores: no table to look up per task.
    Uniform(usize),
    /// Node `i`'s cores are `first[i]..first[i + 1]`.
    PerNode(Vec<usize>),
}

impl Cpus {
    /// `cores` cores (at least one) for each of `nodes` nodes, all idle.
    pub fn new(nodes: usize, cores: usize) -> Self {
        let cores = cores.max(1);
        Cpus { layout: Layout::Uniform(cores), core_free: vec![SimTime::ZERO; nodes * cores], busy_ns: vec![0; nodes] }
    }

    /// Idle nodes with the given numbers of cores (each at least one).
    pub fn per_node(cores: &[usize]) -> Self {
        let Some(&first) = cores.first() else { return Cpus::new(0, 1) };
        if cores.iter().all(|&c| c == first) {
            return Cpus::new(cores.len(), first);
        }
        let mut starts = Vec::with_capacity(cores.len() + 1);
        let mut total = 0;
        starts.push(0);
        for &c in cores {
            total += c.max(1);
            starts.push(total);
        }
        Cpus { layout: Layout::PerNode(starts), core_free: vec![SimTime::ZERO; total], busy_ns: vec![0; cores.len()] }
    }

    /// Queues a task of `duration` on `node` at `now`; returns its completion time.
    pub fn submit(&mut self, node: usize, now: SimTime, duration: SimDuration) -> SimTime {
        let span = match &self.layout {
            Layout::Uniform(cores) => node * cores..(node + 1) * cores,
            Layout::PerNode(first) => first[node]..first[node + 1],
        };
        let cores = &mut self.core_free[span];
        let (index, free_at) =
            cores.iter().copied().enumerate().min_by_key(|&(i, t)| (t, i)).expect("at least one core");
        let done = free_at.max(now) + duration;
        cores[index] = done;
        self.busy_ns[node] += duration.0;
        done
    }

    /// Total busy core-time of `node`, in nanoseconds.
    pub fn busy_ns(&self, node: usize) -> u64 {
        self.busy_ns[node]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_tasks_on_two_cores() {
        let mut cpu = Cpus::new(1, 2);
        let ms = SimDuration::from_millis;
        assert_eq!(cpu.submit(0, SimTime::ZERO, ms(10)), SimTime(10_000_000));
        assert_eq!(cpu.submit(0, SimTime::ZERO, ms(20)), SimTime(20_000_000));
        // Third task waits for the first core to free up at 10 ms.
        assert_eq!(cpu.submit(0, SimTime::ZERO, ms(30)), SimTime(40_000_000));
        // A later task on an idle core starts at its submission time.
        assert_eq!(cpu.submit(0, SimTime(50_000_000), ms(1)), SimTime(51_000_000));
        assert_eq!(cpu.busy_ns(0), 61_000_000);
    }

    #[test]
    fn nodes_can_have_their_own_core_counts() {
        let mut cpu = Cpus::per_node(&[1, 3]);
        let ms = SimDuration::from_millis;
        for _ in 0..3 {
            assert_eq!(cpu.submit(1, SimTime::ZERO, ms(10)), SimTime(10_000_000));
        }
        assert_eq!(cpu.submit(1, SimTime::ZERO, ms(10)), SimTime(20_000_000));
        assert_eq!(cpu.submit(0, SimTime::ZERO, ms(10)), SimTime(10_000_000));
        assert_eq!(cpu.submit(0, SimTime::ZERO, ms(10)), SimTime(20_000_000));
    }

    #[test]
    fn nodes_do_not_share_cores() {
        let mut cpu = Cpus::new(2, 1);
        assert_eq!(cpu.submit(0, SimTime::ZERO, SimDuration(5)), SimTime(5));
        assert_eq!(cpu.submit(1, SimTime::ZERO, SimDuration(5)), SimTime(5));
    }
}
